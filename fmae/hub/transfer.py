"""Push checkpoint folders to the Hugging Face Hub and pull them back, safely.

Only the checkpoint files travel (``SAFE_FILES``): config.json, model.safetensors, metrics.json,
README.md and the card images. A pull never downloads a pickle (``.bin``, ``.pt``, ...) and
validates what it got with ``fmae.models.load_checkpoint`` (config bounds before any model is
built, exact weight keys and shapes). Every client error becomes a ``HubError`` whose message
never holds the token. The endpoint is the standard ``HF_ENDPOINT`` (read when huggingface_hub
is imported); the token comes from the argument, else ``HF_TOKEN``, else the cached login.
"""

from __future__ import annotations

import os
import re
import shutil
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import httpx2  # huggingface_hub 2.x's HTTP client; its transport errors mean "no network"
from huggingface_hub import HfApi, constants, get_token, snapshot_download
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
from huggingface_hub.utils import tqdm as hf_tqdm
from huggingface_hub.utils import validate_repo_id as _hf_validate_repo_id

from fmae.errors import CheckpointError, FmaeError, HubError
from fmae.models import (
    ASSETS_FILE,
    CARD_FILE,
    CARD_IMAGES,
    CONFIG_FILE,
    INFO_FILE,
    UNSAFE_SUFFIXES,
    WEIGHTS_FILE,
    load_assets,
    load_checkpoint,
    render_card,
)

#: the only files pushed or pulled (assets: test-error percentiles and PCA basis, safetensors too)
SAFE_FILES = (CONFIG_FILE, WEIGHTS_FILE, INFO_FILE, CARD_FILE, ASSETS_FILE, *CARD_IMAGES)
_TOKEN_LIKE = re.compile(r"\bhf_[A-Za-z0-9]{16,}\b")


@dataclass(frozen=True)
class PushResult:
    """Where a push landed: the repo, the new commit id and a link to that commit."""

    repo_id: str
    commit_oid: str
    commit_url: str


class _QuietTqdm(hf_tqdm):
    """Progress bars off: library code never prints."""

    def __init__(self, *args, **kwargs):
        kwargs["disable"] = True
        super().__init__(*args, **kwargs)


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


def _is_unreachable(exc: BaseException) -> bool:
    """True for errors that mean "no network / offline", where a pull may fall back to the cache."""
    if isinstance(exc, OfflineModeIsEnabled):
        return True
    if isinstance(exc, HfHubHTTPError) and exc.response is not None:
        return exc.response.status_code >= 500  # the Hub is down: try the cache
    return isinstance(exc, (httpx2.TransportError, ConnectionError, TimeoutError))


def _stage(folder: Path, staging: Path, repo_id: str) -> list[str]:
    """Copy the checkpoint files into ``staging`` with a card rendered for ``repo_id``; return the names."""
    ckpt = load_checkpoint(folder)  # refuse to publish a checkpoint that would not load
    names = [n for n in SAFE_FILES if n != CARD_FILE and (folder / n).is_file()]
    for name in names:
        shutil.copyfile(folder / name, staging / name)
    images = [n for n in CARD_IMAGES if n in names]
    (staging / CARD_FILE).write_text(render_card(ckpt.config, ckpt.info, images, repo_id), encoding="utf-8")
    return [*names, CARD_FILE]


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
    with tempfile.TemporaryDirectory(prefix="fmae-push-") as tmp:
        say(f"checking {folder}")
        names = _stage(folder, Path(tmp), repo_id)
        api = HfApi(endpoint=endpoint, token=token)
        error: HubError | None = None
        try:
            say(f"creating {repo_id} if needed")
            api.create_repo(repo_id, private=private, exist_ok=True)
            say(f"uploading {len(names)} files: {', '.join(names)}")
            info = api.upload_folder(
                repo_id=repo_id,
                folder_path=tmp,
                allow_patterns=names,
                delete_patterns=list(CARD_IMAGES),  # images the new checkpoint no longer has
                commit_message=message or f"Upload fmae checkpoint {folder.name}",
            )
        except FmaeError:
            raise
        except Exception as exc:  # noqa: BLE001 - every client failure must lose the token
            error = _hub_error(exc, repo_id, None, token, endpoint)
        if error is not None:
            raise error  # outside the except block: no __context__ holding the raw, token-bearing error
    say(f"pushed commit {info.oid[:8]}: {info.commit_url}")
    return PushResult(repo_id=repo_id, commit_oid=info.oid, commit_url=info.commit_url)


def _refuse_unsafe(repo_id: str, revision: str | None, files: list[str]) -> None:
    if WEIGHTS_FILE in files and CONFIG_FILE in files:
        return
    rev = revision or "main"
    pickles = sorted(f for f in files if f.endswith(UNSAFE_SUFFIXES))
    if WEIGHTS_FILE not in files and pickles:
        raise CheckpointError(
            f"{repo_id}@{rev} holds only pickle weights ({', '.join(pickles)}): refused. fmae loads "
            f"{WEIGHTS_FILE} only and never downloads or unpickles pickle files"
        )
    missing = [f for f in (CONFIG_FILE, WEIGHTS_FILE) if f not in files]
    raise CheckpointError(f"{repo_id}@{rev} is not an fmae checkpoint: it has no {' or '.join(missing)}")


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
    api = HfApi(endpoint=endpoint, token=token)
    error: HubError | None = None
    folder = ""
    try:
        try:
            # Look before downloading: a pickle-only repo is refused without fetching anything.
            info = api.repo_info(repo_id, revision=revision)
            _refuse_unsafe(repo_id, revision, [s.rfilename for s in info.siblings or []])
        except Exception as exc:  # offline or no network: the cached snapshot is checked below
            if not _is_unreachable(exc):
                raise
        folder = snapshot_download(
            repo_id,
            revision=revision,
            allow_patterns=list(SAFE_FILES),
            token=token,
            endpoint=endpoint,
            tqdm_class=_QuietTqdm,
        )
    except FmaeError:
        raise
    except Exception as exc:  # noqa: BLE001 - every client failure must lose the token
        error = _hub_error(exc, repo_id, revision or "main", token, endpoint)
    if error is not None:
        raise error  # outside the except block: no __context__ holding the raw, token-bearing error
    path = Path(folder)
    try:
        load_checkpoint(path)
        load_assets(path)  # None when absent; malformed assets are refused like malformed weights
    except CheckpointError as exc:
        raise CheckpointError(f"{repo_id}@{revision or 'main'} was refused: {exc}") from None
    return _copy_out(path, Path(out)) if out is not None else path
