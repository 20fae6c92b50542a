"""A checkpoint on the Hugging Face Hub: which files travel, how a folder goes up, how a repo comes
down and is checked. The one way up and the one way down for every entry point: ``fmae.hub``'s
``push_checkpoint``/``pull_checkpoint`` (the CLI, the app) and the models' own ``push_to_hub``/
``save_pretrained(push_to_hub=True)``/``from_pretrained`` (``fmae.models.hubmixin``).

It lives beside the models, not in ``fmae.hub``, because the model classes themselves must speak
it (the mixin's methods) and ``fmae.models`` imports nothing from the rest of fmae. ``fmae.hub``
adds what a person needs around it: repo id and token checks, progress lines and error messages
that never hold the token. Errors here are the client's own (``huggingface_hub.errors``) or
``CheckpointError``; nothing here prints.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Callable
from pathlib import Path

import httpx2  # huggingface_hub 2.x's HTTP client; its transport errors mean "no network"
from huggingface_hub import CommitInfo, HfApi, snapshot_download
from huggingface_hub.errors import HfHubHTTPError, OfflineModeIsEnabled
from huggingface_hub.utils import tqdm as hf_tqdm

from fmae.errors import CheckpointError
from fmae.models.assets import ASSETS_FILE, load_assets
from fmae.models.card import CARD_IMAGES, render_card
from fmae.models.checkpoint import (
    CARD_FILE,
    CONFIG_FILE,
    INFO_FILE,
    UNSAFE_SUFFIXES,
    WEIGHTS_FILE,
    Checkpoint,
    load_checkpoint,
)

#: the only files pushed or pulled (assets: test-error percentiles and PCA basis, safetensors too)
HUB_FILES = (CONFIG_FILE, WEIGHTS_FILE, INFO_FILE, CARD_FILE, ASSETS_FILE, *CARD_IMAGES)
#: optional files an upload removes from the repo when the new checkpoint lacks them: assets or
#: images of an older checkpoint must not stay beside new weights
REPLACED_ON_UPLOAD = (ASSETS_FILE, *CARD_IMAGES)
DEFAULT_MESSAGE = "Upload fmae checkpoint"


class QuietTqdm(hf_tqdm):
    """Progress bars off: library code never prints."""

    def __init__(self, *args, **kwargs):
        kwargs["disable"] = True
        super().__init__(*args, **kwargs)


def verify_checkpoint(folder: str | os.PathLike) -> Checkpoint:
    """``load_checkpoint(folder)`` plus its assets, if any: what must pass before a checkpoint is
    published or used. Raises CheckpointError."""
    ckpt = load_checkpoint(folder)
    load_assets(folder)  # None when absent; malformed or non-finite assets are refused like weights
    return ckpt


def stage_checkpoint(folder: str | os.PathLike, staging: Path, repo_id: str) -> list[str]:
    """Copy the checkpoint files of ``folder`` into ``staging`` with a card rendered for ``repo_id``;
    return the file names. Raises CheckpointError when ``folder`` would not load (nothing copied)."""
    folder = Path(folder)
    ckpt = verify_checkpoint(folder)  # refuse to publish a checkpoint that would not load
    names = [n for n in HUB_FILES if n != CARD_FILE and (folder / n).is_file()]
    for name in names:
        shutil.copyfile(folder / name, staging / name)
    images = [n for n in CARD_IMAGES if n in names]
    (staging / CARD_FILE).write_text(render_card(ckpt.config, ckpt.info, images, repo_id), encoding="utf-8")
    return [*names, CARD_FILE]


def upload_checkpoint(
    folder: str | os.PathLike,
    repo_id: str,
    *,
    api: HfApi,
    private: bool | None = None,
    message: str | None = None,
    branch: str | None = None,
    create_pr: bool | None = None,
    progress: Callable[[str], None] | None = None,
) -> CommitInfo:
    """Upload checkpoint ``folder`` to model repo ``repo_id`` (created if missing) as one commit.

    The folder is checked first (``verify_checkpoint``: nothing is sent, no repo is created when
    it fails); only ``HUB_FILES`` go up, README.md being the card rendered for ``repo_id``, and
    ``REPLACED_ON_UPLOAD`` files the folder lacks are deleted from the repo. ``progress`` receives
    short status lines starting with "checking", "creating" and "uploading". Returns the commit.
    """
    say = progress or (lambda _line: None)
    with tempfile.TemporaryDirectory(prefix="fmae-push-") as tmp:
        say(f"checking {folder}")
        names = stage_checkpoint(folder, Path(tmp), repo_id)
        say(f"creating {repo_id} if needed")
        api.create_repo(repo_id, private=private, exist_ok=True)
        say(f"uploading {len(names)} files: {', '.join(names)}")
        return api.upload_folder(
            repo_id=repo_id,
            folder_path=tmp,
            allow_patterns=names,
            delete_patterns=list(REPLACED_ON_UPLOAD),
            commit_message=message or f"{DEFAULT_MESSAGE} {Path(folder).name}",
            revision=branch,
            create_pr=create_pr,
        )


def refuse_unsafe(repo_id: str, revision: str | None, files: list[str]) -> None:
    """Raise CheckpointError unless ``files`` (a repo's) hold config.json and model.safetensors."""
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


def is_unreachable(exc: BaseException) -> bool:
    """True for errors that mean "no network / offline", where a pull may fall back to the cache."""
    if isinstance(exc, OfflineModeIsEnabled):
        return True
    if isinstance(exc, HfHubHTTPError) and exc.response is not None:
        return exc.response.status_code >= 500  # the Hub is down: try the cache
    return isinstance(exc, (httpx2.TransportError, ConnectionError, TimeoutError))


def download_checkpoint(
    repo_id: str,
    *,
    revision: str | None = None,
    token: str | bool | None = None,
    endpoint: str | None = None,
    cache_dir: str | os.PathLike | None = None,
    force_download: bool = False,
    local_files_only: bool = False,
) -> Checkpoint:
    """Download ``HUB_FILES`` of ``repo_id`` at ``revision`` into the Hub cache and load them.

    Looks at the repo's file list first: a pickle-only repo is refused without fetching anything
    (skipped offline, where the cached snapshot is checked instead). Returns the loaded checkpoint
    (``.path``: the cache's snapshot folder) after ``verify_checkpoint``; raises CheckpointError
    ("<repo>@<revision> was refused: ...") or the client's own errors.
    """
    if not local_files_only:
        try:
            info = HfApi(endpoint=endpoint, token=token).repo_info(repo_id, revision=revision)
            refuse_unsafe(repo_id, revision, [s.rfilename for s in info.siblings or []])
        except CheckpointError:
            raise
        except Exception as exc:  # offline or no network: the cached snapshot is checked below
            if not is_unreachable(exc):
                raise
    folder = snapshot_download(
        repo_id,
        revision=revision,
        allow_patterns=list(HUB_FILES),
        token=token,
        endpoint=endpoint,
        cache_dir=cache_dir,
        force_download=force_download,
        local_files_only=local_files_only,
        tqdm_class=QuietTqdm,
    )
    try:
        return verify_checkpoint(folder)
    except CheckpointError as exc:
        # the snapshot folder is a path on this machine (a Space's cache): name files by repo instead
        why = str(exc).replace(f"{folder}/", "").replace(str(folder), "the checkpoint")
        raise CheckpointError(f"{repo_id}@{revision or 'main'} was refused: {why}") from None
