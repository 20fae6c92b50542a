"""Maintainer script: redraw the model card (and its images) of checkpoint folders.

    python scripts/refresh_cards.py checkpoints/fashion-mlp checkpoints/mnist-conv ...

Weights and metrics are left as they are; only README.md, the card images and the
``dataset_source`` note in metrics.json are rewritten.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run as a plain script from anywhere
from fmae.data import load_dataset
from fmae.models import INFO_FILE, load_checkpoint
from fmae.training import write_card_images


def refresh(folder: Path) -> None:
    ckpt = load_checkpoint(folder)
    test = load_dataset(ckpt.dataset, "test")
    info = dict(ckpt.info)
    info["dataset_source"] = test.source
    (folder / INFO_FILE).write_text(json.dumps(info, indent=2) + "\n", encoding="utf-8")
    written = write_card_images(folder, ckpt.model, info, test.images[:2000], test.labels[:2000])
    print(f"{folder}: {', '.join(written)}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("folders", nargs="+", type=Path, help="checkpoint folders to refresh")
    for folder in parser.parse_args().folders:
        refresh(folder)
