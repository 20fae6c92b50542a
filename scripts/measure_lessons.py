"""Maintainer script: measure the two lessons a checkpoint's card reports and store them in its
metrics.json (then redraw its card).

    python scripts/measure_lessons.py --denoising checkpoints/fashion-dae --baseline checkpoints/fashion-conv
    python scripts/measure_lessons.py --sampling checkpoints/fashion-vae-2d checkpoints/fashion-ae-2d

--denoising: the MSE of the model's reconstructions of the test images with ``--noise`` added (seeded)
to the clean images, against the same for a plain baseline (``fmae.training.denoising_mse``).
--sampling A B: ``--n`` samples of each (a VAE from N(0, I), a plain AE from the Gaussian of its test
codes; ``fmae.latent.sample``) and their mean MSE to the nearest test image; each card gets both.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run as a plain script from anywhere
import torch

from fmae.data import load_dataset
from fmae.latent import encode, nearest_image_mse, sample
from fmae.models import INFO_FILE, load_checkpoint
from fmae.training import denoising_mse, write_card_images


def _store(folder: Path, key: str, value: dict) -> None:
    ckpt = load_checkpoint(folder)
    info = dict(ckpt.info)
    info[key] = value
    (folder / INFO_FILE).write_text(json.dumps(info, indent=2) + "\n", encoding="utf-8")
    test = load_dataset(ckpt.dataset, "test")
    write_card_images(folder, ckpt.model, info, test.images[:2000], test.labels[:2000])


def denoising(folder: Path, baseline: Path, noise: str, seed: int) -> None:
    model, base = load_checkpoint(folder), load_checkpoint(baseline)
    test = load_dataset(model.dataset, "test")
    mse, noisy = denoising_mse(model.model, test.images, noise, seed)
    base_mse, _ = denoising_mse(base.model, test.images, noise, seed)
    print(f"{folder.name}: MSE to clean {mse:.5f}; {baseline.name}: {base_mse:.5f}; noisy inputs {noisy:.5f}")
    print(f"lower by {100 * (1 - mse / base_mse):.1f}%")
    _store(folder, "denoising", {
        "noise": noise, "seed": seed, "images": int(test.images.shape[0]), "mse_to_clean": mse,
        "noisy_input_mse": noisy, "baseline": baseline.name, "baseline_mse_to_clean": base_mse,
    })  # fmt: skip


def sampling(folders: list[Path], n: int, seed: int) -> None:
    found = {}
    for folder in folders:
        ckpt = load_checkpoint(folder)
        test = load_dataset(ckpt.dataset, "test")
        drawn = sample(ckpt.model, n, torch.Generator().manual_seed(seed), encode(ckpt.model, test.images))
        found[folder] = (drawn.prior, nearest_image_mse(drawn.images, test.images))
        print(f"{folder.name}: {n} samples from {drawn.prior}: nearest-test MSE {found[folder][1]:.5f}")
    for folder, (prior, value) in found.items():
        entry = {"prior": prior, "n": n, "seed": seed, "nearest_test_mse": value}
        others = [f for f in found if f != folder]
        if others:
            entry.update(other=others[0].name, other_nearest_test_mse=found[others[0]][1])
        _store(folder, "sampling", entry)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--denoising", type=Path, help="a denoising checkpoint folder")
    parser.add_argument("--baseline", type=Path, help="the plain autoencoder to compare with")
    parser.add_argument("--noise", default="gaussian:0.3")
    parser.add_argument("--sampling", type=Path, nargs="+", help="checkpoint folders to sample")
    parser.add_argument("--n", type=int, default=16)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    if args.denoising:
        if not args.baseline:
            parser.error("--denoising needs --baseline")
        denoising(args.denoising, args.baseline, args.noise, args.seed)
    if args.sampling:
        sampling(args.sampling, args.n, args.seed)
