"""Precompute the Embeddings tab's default maps, so it paints at once with no dataset on disk.

For each checkpoint folder (default: every ``checkpoints/*/config.json``) writes
``embeddings_{method}_{n}_{seed}.npz`` for the tab's default methods (PCA, Kernel PCA, t-SNE)
and ``embeddings_points_{n}_{seed}.npz`` (the mapped test images, for nearest-image views and
interpolation), all for the default N (fmae.latent.DEFAULT_N) and seed 0.

Idempotent: a map already made for the folder's current weights is kept (each file records a
hash of the weights), so a rerun after replacing one checkpoint only redoes that one; the
dataset is not even loaded when nothing is missing. ``--force`` recomputes everything.

    .venv/bin/python scripts/precompute_embeddings.py [FOLDER ...] [--force] [--n N] [--seed S]
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np
import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from fmae.data import load_dataset  # noqa: E402
from fmae.errors import CheckpointError  # noqa: E402
from fmae.latent import (  # noqa: E402
    DEFAULT_METHODS,
    DEFAULT_N,
    EmbeddingCache,
    checkpoint_id,
    embedding_path,
    encode,
    load_points,
    points_path,
    precompute,
    subsample,
)
from fmae.models import load_checkpoint  # noqa: E402


def missing_methods(folder: Path, methods: tuple[str, ...], n: int, seed: int) -> list[str]:
    """Methods whose map in ``folder`` is absent, unreadable or made for other weights."""
    ckpt_id = checkpoint_id(folder)
    missing = []
    for method in methods:
        try:
            found = EmbeddingCache().lookup(ckpt_id, method, n, seed, folder)
        except CheckpointError:
            found = None
        if found is None:
            missing.append(method)
    return missing


def points_ok(folder: Path, labels: np.ndarray | None, n: int, seed: int) -> bool:
    """True when the points file exists, is readable and (if ``labels`` given) picks the right rows."""
    try:
        points = load_points(folder, n, seed)
    except CheckpointError:
        return False
    if points is None or points["images"].shape != (n, 28, 28):
        return False
    return labels is None or np.array_equal(points["indices"], subsample(labels, n, seed))


def run(folder: Path, n: int, seed: int, force: bool) -> str:
    """Bring one checkpoint folder's maps and points up to date; returns a summary line."""
    start = time.perf_counter()
    todo = list(DEFAULT_METHODS) if force else missing_methods(folder, DEFAULT_METHODS, n, seed)
    if not todo and points_ok(folder, None, n, seed):
        return f"{folder}: up to date ({_size(folder, n, seed) / 1024:.0f} KiB of maps and points)"
    ckpt = load_checkpoint(folder)
    test = load_dataset(ckpt.dataset, "test")
    images, labels = test.images.numpy(), test.labels.numpy()
    codes = encode(ckpt.model, images)  # (10000, latent)
    need_points = force or not points_ok(folder, labels, n, seed)
    made = precompute(folder, codes, labels, todo, n, seed, images=images if need_points else None)
    lines = [f"{folder}: {len(made)} map(s){' + points' if need_points else ''}"]
    for p in made:
        s = p.scores
        lines.append(
            f"  {p.method:6s} {p.seconds:5.1f} s  trust {s['trustworthiness']:.3f}  "
            f"kNN 2-D {s['knn2d_acc']:.3f}  kNN latent {s['knn_latent_acc']:.3f}  "
            f"{embedding_path(folder, p.method, n, seed).stat().st_size / 1024:.0f} KiB"
        )
    lines.append(
        f"  total {_size(folder, n, seed) / 1024:.0f} KiB in the folder, {time.perf_counter() - start:.1f} s"
    )
    return "\n".join(lines)


def _size(folder: Path, n: int, seed: int) -> int:
    paths = [embedding_path(folder, m, n, seed) for m in DEFAULT_METHODS] + [points_path(folder, n, seed)]
    return sum(p.stat().st_size for p in paths if p.is_file())


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("folders", nargs="*", type=Path, help="checkpoint folders (default: checkpoints/*)")
    parser.add_argument("--n", type=int, default=DEFAULT_N, help=f"points per map (default {DEFAULT_N})")
    parser.add_argument("--seed", type=int, default=0, help="subsample seed (default 0)")
    parser.add_argument("--force", action="store_true", help="recompute even maps that are up to date")
    args = parser.parse_args(argv)
    torch.set_num_threads(1)
    folders = args.folders or sorted(p.parent for p in (ROOT / "checkpoints").glob("*/config.json"))
    for folder in folders:
        print(run(folder, args.n, args.seed, args.force), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
