"""Precompute what the app needs at run time without a dataset, and the example images.

For each checkpoint folder (default: every ``checkpoints/*/config.json``) writes
``assets.safetensors``: the sorted per-image test-set MSEs of the model (for percentiles) and
the PCA basis with as many components as its latent size (``fmae.models.ModelAssets``,
computed by ``fmae.training.compute_assets``). Also writes a few test images as 28x28 PNGs
into ``ui/examples/`` (the Reconstruct tab's examples row).

    .venv/bin/python scripts/precompute_assets.py [FOLDER ...] [--no-examples]
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
import torch
from PIL import Image

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from fmae.data import load_dataset  # noqa: E402
from fmae.models import load_checkpoint, save_assets  # noqa: E402
from fmae.training import compute_assets, dataset_pca  # noqa: E402

EXAMPLES_DIR = ROOT / "ui" / "examples"
#: dataset -> labels to show, one test image each (the first of that label)
EXAMPLE_LABELS = {"fashion": (0, 1, 2, 3, 5, 7, 8, 9), "mnist": (2, 3, 5, 7)}


def write_assets(folder: Path) -> str:
    """Compute and store the assets of one checkpoint folder; returns a summary line."""
    ckpt = load_checkpoint(folder)
    test = load_dataset(ckpt.dataset, "test")
    assets = compute_assets(ckpt.model, test.images, dataset_pca(ckpt.dataset), ckpt.dataset)
    path = save_assets(assets, folder)
    errors = assets.test_errors
    return (
        f"{path}: {errors.shape[0]} test errors (median {np.median(errors):.4f}, mean {errors.mean():.4f}), "
        f"PCA {assets.pca_components.shape[0]} components"
    )


def write_examples(out: Path = EXAMPLES_DIR) -> list[Path]:
    """Save the first test image of each chosen label as ``<dataset>-<nn>-<class>.png`` (28x28, L)."""
    out.mkdir(parents=True, exist_ok=True)
    written = []
    n = 0
    for name, labels in EXAMPLE_LABELS.items():
        test = load_dataset(name, "test")
        for label in labels:
            idx = int(np.flatnonzero(test.labels.numpy() == label)[0])
            cls = test.classes[label].lower().replace("/", "-").replace(" ", "-")
            path = out / f"{name}-{n:02d}-{cls}.png"
            Image.fromarray(test.images[idx].numpy(), mode="L").save(path, optimize=True)
            written.append(path)
            n += 1
    return written


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("folders", nargs="*", type=Path, help="checkpoint folders (default: checkpoints/*)")
    parser.add_argument("--no-examples", action="store_true", help="do not (re)write ui/examples/*.png")
    args = parser.parse_args(argv)
    torch.set_num_threads(1)
    folders = args.folders or sorted(p.parent for p in (ROOT / "checkpoints").glob("*/config.json"))
    for folder in folders:
        print(write_assets(folder))
    if not args.no_examples:
        for path in write_examples():
            print(path.relative_to(ROOT))
    return 0


if __name__ == "__main__":
    sys.exit(main())
