"""Seconds per epoch: the tutorial's own training loop vs fmae's trainer, same config, same data.

    python benchmarks/train_speed.py [--epochs 5] [--threads 0]

Both train the tutorial's model (784-128-128-10, sigmoid output) with Adam 1e-3, batch 64,
on Fashion-MNIST's 60,000 training images, and are scored by test BCE (the tutorial's
BCELoss on sigmoid outputs) on the 10,000 test images. Prints each one's seconds per
epoch, the speed ratio, and each one's test BCE. Target: ratio >= 8, BCE within +0.003.
"""

from __future__ import annotations

import argparse
import time

import torch
import torchvision

from fmae.data import load_dataset, locate
from fmae.models import MLPAutoEncoder
from fmae.train import EpochEvent, TrainConfig, image_losses, train


def seed_loop(root: str, epochs: int, seed: int) -> tuple[float, float]:
    """The tutorial's loop verbatim in spirit: DataLoader + ToTensor per item, BCELoss on sigmoid."""
    torch.manual_seed(seed)
    dataset = torchvision.datasets.FashionMNIST(root, train=True, transform=torchvision.transforms.ToTensor())
    loader = torch.utils.data.DataLoader(dataset, batch_size=64, shuffle=True, drop_last=True)
    model = MLPAutoEncoder(input_dim=28 * 28, hidden_dim=128, latent_dim=10)
    criterion = torch.nn.BCELoss()
    optimizer = torch.optim.Adam(model.parameters(), lr=0.001)
    per_epoch = []
    for _ in range(epochs):
        start = time.perf_counter()
        for images, _labels in loader:
            images = images.view(64, -1)
            outputs = model(images)
            loss = criterion(outputs, images)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
        per_epoch.append(time.perf_counter() - start)
    test = load_dataset("fashion", "test")
    return sum(per_epoch) / epochs, image_losses(model, test.images)[0]


def fmae_trainer(epochs: int, seed: int) -> tuple[float, float]:
    """fmae's trainer on the same configuration."""
    train_ds, test_ds = load_dataset("fashion", "train"), load_dataset("fashion", "test")
    config = TrainConfig(epochs=epochs, seed=seed, log_every=10_000)
    marks, last, bce = [], 0.0, float("nan")
    for event in train(config, train_ds, test_ds):
        if isinstance(event, EpochEvent):
            marks.append(event.elapsed - last)
            last = event.elapsed
            bce = event.test_bce
    return sum(marks) / epochs, bce


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=5)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--threads", type=int, default=0, help="torch threads (0: default)")
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    root = str(locate("fashion"))
    ours_s, ours_bce = fmae_trainer(args.epochs, args.seed)
    seed_s, seed_bce = seed_loop(root, args.epochs, args.seed)
    print(f"epochs {args.epochs}, torch threads {torch.get_num_threads()}")
    print(f"tutorial loop : {seed_s:7.2f} s/epoch   test BCE {seed_bce:.4f}")
    print(f"fmae trainer  : {ours_s:7.2f} s/epoch   test BCE {ours_bce:.4f}")
    print(f"speed-up      : {seed_s / ours_s:7.2f}x   (target >= 8x)")
    print(f"BCE difference: {ours_bce - seed_bce:+.4f}   (target <= +0.003)")


if __name__ == "__main__":
    main()
