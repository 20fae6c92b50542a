"""Push checkpoint folders to the Hugging Face Hub and pull them back, safely.

Only the checkpoint files travel (``SAFE_FILES``): config.json, model.safetensors, metrics.json,
README.md, assets.safetensors and the card images. A pull never downloads a pickle (``.bin``,
``.pt``, ...) and validates what it got with ``fmae.models.load_checkpoint`` (config bounds before
any model is built, exact weight keys, shapes and dtypes, finite numbers). The files and checks
are ``fmae.models``' (``upload_checkpoint``/``download_checkpoint``), the same the models' own
``push_to_hub``/``from_pretrained`` use; this module adds repo id and token checks, progress lines,
and turns every client error into a ``HubError`` whose message never holds the token. The endpoint
is the standard ``HF_ENDPOINT`` (read when huggingface_hub is imported); the token comes from the
argument, else ``HF_TOKEN``, else the cached login.
"""

from __future__ import annotations

import os
import re
import shutil
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import httpx2  # huggingface_hub 2.x's HTTP client; its transport errors mean "no network"
from huggingface_hub import HfApi, constants, get_token
from huggingface_hub.errors import (
    EntryNotFoundError,
    GatedRepoError,
    HfHubHTTPError,
    HFValidationError,
    LocalEntryNotFoundError,
    OfflineModeIsEnabled,
    RepositoryNotFoundError,
    RevisionNotFoundError,
)
from huggingface_hub.utils import validate_repo_id as _hf_validate_repo_id

from fmae.errors import FmaeError, HubError
from fmae.models import HUB_FILES, download_checkpoint, upload_checkpoint

#: the only files pushed or pulled (assets: test-error percentiles and PCA basis, safetensors too)
SAFE_FILES = HUB_FILES
_TOKEN_LIKE = re.compile(r"\bhf_[A-Za-z0-9]{16,}\b")


@dataclass(frozen=True)
class PushResult:
    """Where a push landed: the repo, the new commit id and a link to that commit."""

    repo_id: str
    commit_oid: str
    commit_url: str


def validate_repo_id(repo_id: object, *, require_namespace: bool = False) -> str:
    """Return ``repo_id`` if it is a valid model repo id ("name" or "namespace/name"), else raise HubError."""
    if not isinstance(repo_id, str) or not repo_id.strip():
        raise HubError(f"repo id must be a non-empty string like 'username/fmae-mlp', not {repo_id!r}")
    try:
        _hf_validate_repo_id(repo_id)
    except HFValidationError as exc:
        raise HubError(f"invalid repo id {repo_id!r}: {exc}") from None
    if require_namespace and "/" not in repo_id:
        raise HubError(f"repo id {repo_id!r} needs a namespace: write it as 'username/{repo_id}'")
    return repo_id


def resolve_token(token: str | bool | None = None) -> str | None:
    """The token to use: ``token``, else ``HF_TOKEN``, else the cached ``hf auth login`` token.

    ``False`` means "no token at all" (a hosted demo must not lend its owner's token to visitors).
    """
    if token is False:
        return None
    return token or get_token()


def scrub(text: str, token: str | None) -> str:
    """``text`` with ``token`` (and anything shaped like a Hub token) replaced by ``***``."""
    if token:
        text = text.replace(token, "***")
    return _TOKEN_LIKE.sub("***", text)


def _hub_error(
    exc: BaseException, repo_id: str, revision: str | None, token: str | None, endpoint: str | None
) -> HubError:
    """Translate a huggingface_hub / network exception into a HubError with a clear, token-free message.

    ``revision`` is None for pushes (which always write to main).
    """
    rev = revision or "main"
    access = "write" if revision is None else "read"
    endpoint = endpoint or constants.ENDPOINT
    if isinstance(exc, RevisionNotFoundError):
        msg = f"{repo_id} has no revision {rev!r} (check the branch name or commit id)"
    elif isinstance(exc, GatedRepoError):
        msg = f"{repo_id} is gated: request access on the Hub first"
    elif isinstance(exc, RepositoryNotFoundError):
        msg = (
            f"repository {repo_id} was not found on {endpoint} (or it is private and "
            "this token cannot read it)"
        )
    elif isinstance(exc, LocalEntryNotFoundError):
        msg = f"{repo_id}@{rev} is not in the local cache and the Hub at {endpoint} cannot be reached"
        msg += " (HF_HUB_OFFLINE=1 is set)" if constants.HF_HUB_OFFLINE else ""
    elif isinstance(exc, EntryNotFoundError):
        msg = f"{repo_id}@{rev} lacks a file fmae needs: {exc}"
    elif isinstance(exc, OfflineModeIsEnabled):
        msg = "HF_HUB_OFFLINE=1 is set, so the Hub cannot be contacted; unset it to push or pull new files"
    elif isinstance(exc, HfHubHTTPError) and exc.response is not None:
        status = exc.response.status_code
        lines = (exc.server_message or exc.response.reason_phrase or "").splitlines()
        server = "; ".join(dict.fromkeys(line.strip() for line in lines if line.strip()))
        if status == 401:
            msg = (
                f"the Hub rejected the token for {repo_id} (401 Unauthorized): check HF_TOKEN or "
                "run `hf auth login` again"
            )
        elif status == 403:
            msg = f"this token has no {access} access to {repo_id} (403 Forbidden): use one that has"
        else:
            msg = f"the Hub answered {status} for {repo_id}: {server}".rstrip(": ")
    elif isinstance(exc, (httpx2.TransportError, OSError)):
        msg = f"cannot reach the Hub at {endpoint}: {type(exc).__name__}: {exc}"
    else:
        msg = f"Hub request for {repo_id} failed: {type(exc).__name__}: {exc}"
    return HubError(scrub(msg, token))


def push_checkpoint(
    folder: str | os.PathLike,
    repo_id: str,
    *,
    token: str | bool | None = None,
    private: bool = False,
    message: str | None = None,
    progress: Callable[[str], None] | None = None,
    endpoint: str | None = None,
) -> PushResult:
    """Upload checkpoint ``folder`` to model repo ``repo_id`` (created if missing) as one commit.

    Only ``SAFE_FILES`` are sent; README.md is the card rendered for ``repo_id``. The local folder
    is only read, so a failed push leaves it untouched. ``progress`` receives short status lines.
    Raises HubError (bad repo id, no token, rejected token, network) or CheckpointError.
    """
    say = progress or (lambda _line: None)
    validate_repo_id(repo_id, require_namespace=True)
    folder = Path(folder)
    token = resolve_token(token)
    if not token:
        raise HubError(
            "pushing needs a Hugging Face token with write access: pass one, set HF_TOKEN, "
            "or run `hf auth login`"
        )
    error: HubError | None = None
    try:
        api = HfApi(endpoint=endpoint, token=token)
        info = upload_checkpoint(folder, repo_id, api=api, private=private, message=message, progress=say)
    except FmaeError:
        raise
    except Exception as exc:  # noqa: BLE001 - every client failure must lose the token
        error = _hub_error(exc, repo_id, None, token, endpoint)
    if error is not None:
        raise error  # outside the except block: no __context__ holding the raw, token-bearing error
    say(f"pushed commit {info.oid[:8]}: {info.commit_url}")
    return PushResult(repo_id=repo_id, commit_oid=info.oid, commit_url=info.commit_url)


def _copy_out(src: Path, out: Path) -> Path:
    """Copy the checkpoint files from ``src`` into ``out``; stale checkpoint files there are removed."""
    out.mkdir(parents=True, exist_ok=True)
    for name in SAFE_FILES:
        target = out / name
        if (src / name).is_file():
            part = out / f".{name}.part"
            shutil.copyfile(src / name, part)  # follows the cache's symlinks
            part.replace(target)
        elif target.is_file():
            target.unlink()
    return out


def pull_checkpoint(
    repo_id: str,
    *,
    revision: str | None = None,
    out: str | os.PathLike | None = None,
    token: str | bool | None = None,
    endpoint: str | None = None,
) -> Path:
    """Download checkpoint ``repo_id`` at ``revision`` (default main), validate it, return its folder.

    The folder is the Hub cache's snapshot, or ``out`` if given (files copied there). Works offline
    (``HF_HUB_OFFLINE=1`` or no network) for anything pulled before. Raises HubError for Hub and
    network problems, CheckpointError for pickle-only repos and configs or weights that fail checks.
    """
    validate_repo_id(repo_id)
    token = resolve_token(token)
    error: HubError | None = None
    folder: Path | None = None
    try:
        folder = download_checkpoint(repo_id, revision=revision, token=token, endpoint=endpoint).path
    except FmaeError:
        raise
    except Exception as exc:  # noqa: BLE001 - every client failure must lose the token
        error = _hub_error(exc, repo_id, revision or "main", token, endpoint)
    if error is not None:
        raise error  # outside the except block: no __context__ holding the raw, token-bearing error
    assert folder is not None  # load_checkpoint always records where it loaded from
    return _copy_out(folder, Path(out)) if out is not None else folder
