"""Checkpoint folders on disk: config.json, model.safetensors, metrics.json, README.md.

Loading is strict and safe: only safetensors are read (never pickle), config.json is checked
against bounds before a model is allocated, and weight keys, shapes and dtypes must match exactly,
every number finite (``check_weights``). Saving runs the same checks first, so a model that would
not load back is never written, and is atomic: files go to a temporary sibling folder that is
renamed into place. The models' own ``save_pretrained``/``from_pretrained`` come here too
(``fmae.models.hubmixin``).
"""

from __future__ import annotations

import ctypes
import errno
import json
import os
import shutil
import tempfile
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
from safetensors import SafetensorError
from safetensors.torch import load_file, save_file

from fmae.errors import CheckpointError
from fmae.models.autoencoders import AutoEncoder
from fmae.models.card import render_card
from fmae.models.integrity import check_finite, check_info
from fmae.models.registry import MODELS, model_config, validate_config

CONFIG_FILE = "config.json"
WEIGHTS_FILE = "model.safetensors"
INFO_FILE = "metrics.json"
CARD_FILE = "README.md"
MAX_WEIGHTS_BYTES = 200 * 1024 * 1024  # far above any model the bounds allow
UNSAFE_SUFFIXES = (".bin", ".pt", ".pth", ".pkl", ".ckpt")


@dataclass
class Checkpoint:
    """A loaded checkpoint: the model (eval mode, CPU) plus what was stored beside it."""

    model: AutoEncoder
    path: Path | None
    config: dict[str, Any]  # config.json, including "model_type"
    info: dict[str, Any] = field(default_factory=dict)  # metrics.json

    @property
    def model_type(self) -> str:
        return str(self.config["model_type"])

    @property
    def dataset(self) -> str:
        return str(self.info.get("dataset", "fashion"))

    @property
    def metrics(self) -> dict[str, float]:
        return dict(self.info.get("metrics", {}))


def read_config(folder: str | os.PathLike) -> tuple[str, dict[str, int]]:
    """Read and validate ``folder/config.json``; return (model_type, kwargs)."""
    path = Path(folder) / CONFIG_FILE
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise CheckpointError(f"{folder} has no {CONFIG_FILE}") from None
    except (OSError, UnicodeDecodeError, ValueError) as exc:  # JSONDecodeError, and ints past 4300 digits
        raise CheckpointError(f"{path} is not valid JSON: {exc}") from None
    try:
        return validate_config(raw)
    except ValueError as exc:
        raise CheckpointError(f"{path}: {exc}") from None


def expected_state(model_type: str, kwargs: dict[str, int]) -> dict[str, torch.Tensor]:
    """The state dict a ``model_type`` model with ``kwargs`` has: names, shapes and dtypes only
    (built on the meta device: nothing is allocated)."""
    with torch.device("meta"):
        return MODELS[model_type](**kwargs).state_dict()


def check_weights(
    state: dict[str, torch.Tensor], model_type: str, kwargs: dict[str, int], where: str | os.PathLike
) -> None:
    """The checks every load and every save runs: exactly the keys of a ``model_type`` model with
    ``kwargs``, each with its shape and dtype (float32), every number finite.

    Raises CheckpointError saying what differs (``where`` starts the message).
    """
    expected = expected_state(model_type, kwargs)
    missing = sorted(set(expected) - set(state))
    extra = sorted(set(state) - set(expected))
    if missing or extra:
        raise CheckpointError(
            f"{where}: weights do not match the config (missing {missing}, unexpected {extra})"
        )
    for key, tensor in expected.items():
        got = state[key]
        if got.shape != tensor.shape or got.dtype != tensor.dtype:
            raise CheckpointError(
                f"{where}: {key} has shape {tuple(got.shape)} {got.dtype}, "
                f"expected {tuple(tensor.shape)} {tensor.dtype}"
            )
    check_finite(state, str(where))


def read_weights(path: Path) -> dict[str, torch.Tensor]:
    """The tensors of the safetensors file ``path`` (CPU), unchecked; CheckpointError if unreadable.
    Never unpickles."""
    if not path.is_file():
        raise CheckpointError(f"{path.parent} has no {WEIGHTS_FILE}")
    if path.stat().st_size > MAX_WEIGHTS_BYTES:
        raise CheckpointError(f"{path} is larger than {MAX_WEIGHTS_BYTES} bytes")
    try:
        return load_file(str(path), device="cpu")
    except (SafetensorError, OSError, ValueError) as exc:
        raise CheckpointError(f"{path} is not a readable safetensors file: {exc}") from None


def load_checkpoint(folder: str | os.PathLike) -> Checkpoint:
    """Load a checkpoint folder safely; raise CheckpointError with the reason if it is not one."""
    folder = Path(folder)
    if not folder.is_dir():
        raise CheckpointError(f"checkpoint folder {folder} does not exist")
    if not (folder / WEIGHTS_FILE).is_file():
        unsafe = sorted(p.name for p in folder.iterdir() if p.suffix in UNSAFE_SUFFIXES)
        if unsafe:
            raise CheckpointError(
                f"{folder} holds only pickle weights ({', '.join(unsafe)}); fmae loads "
                f"{WEIGHTS_FILE} only and never unpickles files"
            )
    model_type, kwargs = read_config(folder)
    state = read_weights(folder / WEIGHTS_FILE)
    check_weights(state, model_type, kwargs, folder / WEIGHTS_FILE)  # before any model is built
    model = MODELS[model_type](**kwargs)
    model.load_state_dict(state, strict=True)
    model.eval()
    info: dict[str, Any] = {}
    if (folder / INFO_FILE).is_file():
        try:
            info = json.loads((folder / INFO_FILE).read_text(encoding="utf-8"), parse_constant=_no_constant)
        except (OSError, UnicodeDecodeError, ValueError) as exc:  # JSONDecodeError is a ValueError
            raise CheckpointError(f"{folder / INFO_FILE} is not valid JSON: {exc}") from None
        if not isinstance(info, dict):
            raise CheckpointError(f"{folder / INFO_FILE} must hold a JSON object")
        check_info(info, folder / INFO_FILE)
    return Checkpoint(model=model, path=folder, config={"model_type": model_type, **kwargs}, info=info)


def _no_constant(name: str) -> None:
    """json.loads hook: Python's json reads NaN and Infinity, which are not JSON; fmae refuses them."""
    raise ValueError(f"it holds {name}, which is not a number fmae accepts")


def checked_state(model: AutoEncoder) -> tuple[dict[str, Any], dict[str, torch.Tensor]]:
    """``model``'s config.json content and weights (CPU), after the checks a load would run:
    config bounds, exact keys, shapes, dtypes, finiteness. Raises CheckpointError."""
    config = model_config(model)
    try:
        model_type, kwargs = validate_config(config)
    except ValueError as exc:
        raise CheckpointError(f"cannot save this {config['model_type']} model: {exc}") from None
    state = {k: v.detach().cpu().contiguous() for k, v in model.state_dict().items()}
    check_weights(state, model_type, kwargs, f"cannot save this {model_type} model")
    return config, state


def _info_json(info: dict[str, Any]) -> str:
    """metrics.json's text; CheckpointError for NaN or infinity (not JSON) or values JSON lacks."""
    try:
        return json.dumps(info, indent=2, allow_nan=False) + "\n"
    except (TypeError, ValueError) as exc:
        raise CheckpointError(f"cannot save the checkpoint's info as {INFO_FILE}: {exc}") from None


def _write_files(
    folder: Path, config: dict[str, Any], state: dict[str, torch.Tensor], info: dict[str, Any]
) -> None:
    """Write the checkpoint files into an existing ``folder`` (not atomic; see save_checkpoint)."""
    (folder / CONFIG_FILE).write_text(json.dumps(config, indent=2) + "\n", encoding="utf-8")
    save_file(state, str(folder / WEIGHTS_FILE), metadata={"format": "pt"})
    (folder / INFO_FILE).write_text(_info_json(info), encoding="utf-8")
    (folder / CARD_FILE).write_text(render_card(config, info), encoding="utf-8")


_RENAME_EXCHANGE = 2  # linux/fs.h


def _exchange(a: Path, b: Path) -> bool:
    """Atomically swap two paths with renameat2(RENAME_EXCHANGE); False where unsupported."""
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        renameat2 = libc.renameat2
    except (OSError, AttributeError):
        return False
    at_fdcwd = -100
    rc = renameat2(at_fdcwd, os.fsencode(a), at_fdcwd, os.fsencode(b), _RENAME_EXCHANGE)
    if rc == 0:
        return True
    err = ctypes.get_errno()
    if err in (errno.EINVAL, errno.ENOSYS, errno.EOPNOTSUPP):
        return False
    raise OSError(err, os.strerror(err), str(b))


def _swap_into_place(new: Path, folder: Path) -> None:
    """Make ``new`` appear at ``folder``; the previous content ends up at ``new``."""
    try:
        new.rename(folder)  # nothing there yet: a plain atomic rename
        return
    except OSError:
        if not folder.exists():
            raise
    if _exchange(new, folder):
        return
    # Fallback without RENAME_EXCHANGE: a short window where ``folder`` is missing.
    old = folder.with_name(f".{folder.name}.old-{uuid.uuid4().hex[:8]}")
    folder.rename(old)
    new.rename(folder)
    old.rename(new)


def save_checkpoint(
    model: AutoEncoder,
    folder: str | os.PathLike,
    info: dict[str, Any] | None = None,
    extra_files: Callable[[Path], object] | None = None,
) -> Path:
    """Save ``model`` and ``info`` (dataset, train_config, metrics, history) as a folder.

    Atomic: everything is written to a temporary sibling and renamed into place, so a crash
    mid-save leaves the previous checkpoint intact and two concurrent saves never mix files.
    ``extra_files(tmp)`` may add files (such as assets.safetensors) to the temporary folder;
    they land together with the weights or not at all.
    Refuses (CheckpointError, nothing written) a model that would not load back: config out of
    bounds, a dtype other than float32, NaN or infinity in any tensor; and an existing folder that
    is not a checkpoint (non-empty, without config.json), whose files a save would otherwise replace.
    Raises CheckpointError saying why (disk full, read-only, no permission) when a write fails.
    """
    folder = Path(folder)
    info = dict(info or {})
    config, state = checked_state(model)  # before anything touches the disk
    _info_json(info)
    _refuse_foreign_folder(folder)
    try:
        folder.parent.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(prefix=f".{folder.name}.tmp-", dir=folder.parent))
    except OSError as exc:
        raise CheckpointError(_save_failed(folder, exc)) from None
    try:
        _write_files(tmp, config, state, info)
        if extra_files is not None:
            extra_files(tmp)
        tmp.chmod(0o755)  # mkdtemp makes it private; a checkpoint is meant to be shared
        for path in tmp.iterdir():
            path.chmod(0o644)
        _swap_into_place(tmp, folder)
    except OSError as exc:
        raise CheckpointError(_save_failed(folder, exc)) from None
    finally:
        shutil.rmtree(tmp, ignore_errors=True)  # after a swap it holds the previous version
    return folder


def _refuse_foreign_folder(folder: Path) -> None:
    """A save replaces ``folder`` whole: refuse when it holds files but no checkpoint."""
    try:
        foreign = folder.is_dir() and not (folder / CONFIG_FILE).is_file() and any(folder.iterdir())
    except OSError:
        return  # unreadable: the save itself will say why
    if foreign or (folder.exists() and not folder.is_dir()):
        raise CheckpointError(
            f"{folder} is not a checkpoint folder (it has other files and no {CONFIG_FILE}); a save "
            "replaces the whole folder, so save into a new or empty folder instead"
        )


def _save_failed(folder: Path, exc: OSError) -> str:
    """A clear message for an OSError while saving ``folder`` (disk full, read-only, no permission)."""
    kept = "the previous checkpoint there is unchanged" if folder.exists() else "nothing was written"
    if exc.errno in (errno.ENOSPC, errno.EDQUOT):
        why = "the disk is full (no space left on device): free some space and save again"
    elif exc.errno == errno.EROFS:
        why = "the file system is read-only"
    elif isinstance(exc, PermissionError):
        why = "permission denied: save into a folder you can write to"
    else:
        why = f"{exc.strerror or type(exc).__name__}"
    return f"could not save the checkpoint {folder}: {why}; {kept}"
