"""Cache of 2-D maps per (checkpoint, method, N, seed): in memory (LRU) and as ``.npz`` files.

Files live in the checkpoint folder as ``embeddings_{method}_{n}_{seed}.npz``, so a shipped
checkpoint carries its precomputed maps and a UI can paint them with no dataset on disk.
They hold plain arrays only and are read with ``allow_pickle=False``. Each file records the
checkpoint id (a hash of its weight tensors) and is ignored when the weights changed.

With ``FMAE_CACHE_DIR`` set (or ``EmbeddingCache(shared_dir=...)``), maps computed on a miss are also
written to ``{dir}/{checkpoint id}/embeddings_{method}_{n}_{seed}.npz`` and looked up there: replicas of
an app that mount one shared directory compute each map once. Keys are content hashes of the weights,
so two models never share an entry by name alone; files are written atomically (rename).
"""

from __future__ import annotations

import hashlib
import os
import tempfile
from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from fmae.errors import CheckpointError
from fmae.latent.lru import LRUCache
from fmae.latent.projection import DEFAULT_N, METHODS, Projection, map_and_score, subsample

if TYPE_CHECKING:
    from fmae.latent.worker import ProjectionWorker

CacheKey = tuple[str, str, int, int]  # (checkpoint id, method, N, seed)
_SCORE_NAMES = ("trustworthiness", "knn2d_acc", "knn_latent_acc")
_STATE_PREFIX = "state_"
CACHE_DIR_ENV = "FMAE_CACHE_DIR"


def shared_cache_dir() -> Path | None:
    """The shared directory for computed maps named by ``FMAE_CACHE_DIR``, or None when it is unset."""
    value = os.environ.get(CACHE_DIR_ENV, "").strip()
    return Path(value).expanduser() if value else None


def weights_id(state: dict[str, np.ndarray]) -> str:
    """Content id of named weight arrays: 16 hex digits of a SHA-256 over names and bytes."""
    h = hashlib.sha256()
    for name in sorted(state):
        h.update(name.encode())
        h.update(np.ascontiguousarray(state[name]).tobytes())
    return h.hexdigest()[:16]


def checkpoint_id(folder: str | os.PathLike) -> str:
    """Content id of a checkpoint folder's weights; equals ``explore.model_fingerprint`` of its model."""
    from safetensors import SafetensorError
    from safetensors.numpy import load_file

    weights = Path(folder) / "model.safetensors"
    try:
        return weights_id(load_file(str(weights)))
    except (OSError, SafetensorError) as exc:
        raise CheckpointError(f"cannot read {weights}: {exc}") from None


def embedding_path(folder: str | os.PathLike, method: str, n: int, seed: int) -> Path:
    """Where the precomputed map of (method, n, seed) lives inside a checkpoint folder."""
    return Path(folder) / f"embeddings_{method}_{n}_{seed}.npz"


def points_path(folder: str | os.PathLike, n: int, seed: int) -> Path:
    """Where the images of the N mapped test points live (for hover and nearest-neighbour views)."""
    return Path(folder) / f"embeddings_points_{n}_{seed}.npz"


def _write_npz(path: Path, arrays: dict[str, np.ndarray]) -> None:
    """Write atomically: a half-written file never replaces a good one."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as f:
            np.savez_compressed(f, **arrays)
        Path(tmp).chmod(0o644)  # mkstemp makes 0600; shipped files must be readable by all
        Path(tmp).replace(path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def save_projection(path: str | os.PathLike, projection: Projection, ckpt_id: str) -> Path:
    """Write ``projection`` (coords, time, scores, points, placement state) as a pickle-free npz."""
    p = projection
    if p.codes is None or p.labels is None or p.indices is None:
        raise ValueError("only projections with codes, labels and indices can be saved")
    arrays: dict[str, np.ndarray] = {
        "checkpoint": np.array(ckpt_id),
        "method": np.array(p.method),
        "seed": np.array(p.seed, np.int64),
        "seconds": np.array(p.seconds, np.float64),
        "coords": p.coords.astype(np.float32),
        "codes": p.codes.astype(np.float32),
        "labels": p.labels.astype(np.int64),
        "indices": p.indices.astype(np.int64),
        "score_names": np.array(list(p.scores), dtype=str),
        "score_values": np.array(list(p.scores.values()), np.float64),
    }
    arrays.update({_STATE_PREFIX + k: np.asarray(v) for k, v in p.state.items()})
    _write_npz(Path(path), arrays)
    return Path(path)


def load_projection(path: str | os.PathLike) -> tuple[Projection, str]:
    """Read a file written by save_projection; return (projection, checkpoint id).

    Raises CheckpointError when the file is unreadable, holds objects, or is inconsistent.
    """
    path = Path(path)
    try:
        with np.load(path, allow_pickle=False) as f:
            data = {k: f[k] for k in f.files}
        n = len(data["coords"])
        ok = (
            data["coords"].shape == (n, 2)
            and np.isfinite(data["coords"]).all()
            and data["codes"].ndim == 2
            and len(data["codes"]) == len(data["labels"]) == len(data["indices"]) == n
            and len(data["score_names"]) == len(data["score_values"])
        )
        if not ok:
            raise ValueError("arrays have inconsistent shapes or non-finite coordinates")
        projection = Projection(
            method=str(data["method"]),
            coords=data["coords"].astype(np.float32),
            seconds=float(data["seconds"]),
            state={k[len(_STATE_PREFIX) :]: v for k, v in data.items() if k.startswith(_STATE_PREFIX)},
            codes=data["codes"].astype(np.float32),
            labels=data["labels"].astype(np.int64),
            indices=data["indices"].astype(np.int64),
            scores={str(k): float(v) for k, v in zip(data["score_names"], data["score_values"], strict=True)},
            seed=int(data["seed"]),
        )
        return projection, str(data["checkpoint"])
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise CheckpointError(f"{path} is not a valid embeddings file: {exc}") from None


def compute(
    codes: np.ndarray,
    labels: np.ndarray,
    method: str,
    n: int = DEFAULT_N,
    seed: int = 0,
    worker: ProjectionWorker | None = None,
) -> Projection:
    """Map ``n`` seeded, class-balanced rows of ``codes`` (N, latent) with ``method``; score the map.

    With ``worker`` the fit runs in its process (a crash or time limit is a ProjectionError),
    else here. Raises ProjectionError (UnusableCodesError for codes no method can map).
    """
    if worker is not None:
        return worker.compute(codes, labels, method, n, seed)
    labels = np.asarray(labels, np.int64)
    indices = subsample(labels, n, seed)
    projection = map_and_score(np.asarray(codes)[indices], labels[indices], method, seed)
    projection.indices = indices
    return projection


class EmbeddingCache(LRUCache[CacheKey, Projection]):
    """Maps keyed by (checkpoint id, method, N, seed): a bounded in-memory LRU over npz files.

    ``lookup`` needs no codes (memory, then the checkpoint folder's file), so a UI can paint a
    shipped checkpoint at once; ``get_or_compute`` computes and remembers on a miss. Thread-safe.
    """

    def __init__(self, max_items: int = 64, shared_dir: str | os.PathLike | None = None) -> None:
        super().__init__(max_items)
        #: where computed maps are shared between processes (``FMAE_CACHE_DIR`` by default), or None
        self.shared_dir = Path(shared_dir) if shared_dir is not None else shared_cache_dir()

    def shared_path(self, ckpt_id: str, method: str, n: int, seed: int) -> Path | None:
        """The map's file in the shared directory (``{dir}/{ckpt_id}/embeddings_...npz``), or None."""
        if self.shared_dir is None:
            return None
        return embedding_path(self.shared_dir / ckpt_id, method, n, seed)

    def _read(self, path: Path | None, key: CacheKey) -> Projection | None:
        """The map in ``path`` if it exists and was made for these weights (remembered), else None."""
        if path is None or not path.is_file():
            return None
        projection, stored_id = load_projection(path)
        ckpt_id, method, n, _ = key
        if stored_id != ckpt_id or projection.method != method or len(projection) != n:
            return None  # stale: the weights were replaced after the maps were made
        self.put(key, projection)
        return projection

    def lookup(
        self, ckpt_id: str, method: str, n: int, seed: int = 0, folder: str | os.PathLike | None = None
    ) -> Projection | None:
        """Memory first, then ``folder``'s npz, then the shared directory's (a file only if it was made
        for these weights); else None.

        Raises CheckpointError when such a file exists but is not a valid embeddings file.
        """
        key = (ckpt_id, method, n, seed)
        found = self.get(key)
        if found is None and folder is not None:
            found = self._read(embedding_path(folder, method, n, seed), key)
        if found is None:
            found = self._read(self.shared_path(ckpt_id, method, n, seed), key)
        return found

    def get_or_compute(
        self,
        ckpt_id: str,
        method: str,
        codes: np.ndarray,
        labels: np.ndarray,
        n: int = DEFAULT_N,
        seed: int = 0,
        folder: str | os.PathLike | None = None,
        save: bool = False,
        worker: ProjectionWorker | None = None,
    ) -> Projection:
        """The cached map, else compute it from ``codes``/``labels`` (in ``worker`` if given; and write
        it to ``folder`` if save, and to the shared directory if there is one). An unreadable file
        counts as a miss (and is overwritten). Failures are not cached: ``compute`` raises ProjectionError.
        """
        try:
            found = self.lookup(ckpt_id, method, n, seed, folder)
        except CheckpointError:
            found = None
        if found is not None:
            return found
        projection = compute(codes, labels, method, n, seed, worker)
        self.put((ckpt_id, method, n, seed), projection)
        if save and folder is not None:
            save_projection(embedding_path(folder, method, n, seed), projection, ckpt_id)
        shared = self.shared_path(ckpt_id, method, n, seed)
        if shared is not None:
            save_projection(shared, projection, ckpt_id)
        return projection


def precompute(
    checkpoint_folder: str | os.PathLike,
    codes: np.ndarray,
    labels: np.ndarray,
    methods: Iterable[str] | None = None,
    n: int = DEFAULT_N,
    seed: int = 0,
    images: np.ndarray | None = None,
) -> list[Projection]:
    """Compute, score and write ``embeddings_{method}_{n}_{seed}.npz`` into a checkpoint folder.

    ``codes``/``labels`` cover the whole source set (e.g. the test set); the files store which
    rows were used. With ``images`` (uint8, one per row of ``codes``) the mapped points' images
    go to ``embeddings_points_{n}_{seed}.npz`` for hover and nearest-image views.
    ``methods`` None means every available method.
    """
    ckpt_id = checkpoint_id(checkpoint_folder)
    out = []
    for method in METHODS if methods is None else methods:
        projection = compute(codes, labels, method, n, seed)
        save_projection(embedding_path(checkpoint_folder, method, n, seed), projection, ckpt_id)
        out.append(projection)
    if images is not None:
        idx = subsample(labels, n, seed)
        arrays = {"indices": idx, "labels": np.asarray(labels, np.int64)[idx]}
        arrays["images"] = np.asarray(images, np.uint8)[idx]
        _write_npz(points_path(checkpoint_folder, n, seed), arrays)
    return out


def load_points(folder: str | os.PathLike, n: int = DEFAULT_N, seed: int = 0) -> dict[str, np.ndarray] | None:
    """The images (N, 28, 28) uint8, labels and indices written by precompute, or None if absent."""
    path = points_path(folder, n, seed)
    if not path.is_file():
        return None
    try:
        with np.load(path, allow_pickle=False) as f:
            return {k: f[k] for k in ("indices", "labels", "images")}
    except (OSError, ValueError, KeyError) as exc:
        raise CheckpointError(f"{path} is not a valid points file: {exc}") from None
