"""Seconds per epoch: the tutorial's own training loop vs fmae's trainer, same config, same data.

    python benchmarks/train_speed.py [--epochs 5] [--threads 0]

Both train the tutorial's model (784-128-128-10, sigmoid output) with Adam 1e-3, batch 64,
on Fashion-MNIST's 60,000 training images, and are scored by test BCE (the tutorial's
BCELoss on sigmoid outputs) on the 10,000 test images. The two runs alternate epoch by epoch,
so a busy machine slows both alike; the script prints each epoch's seconds, the median and
best ratio, and each one's final test BCE. Target: ratio >= 8, BCE within +0.003.
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Iterator

import torch
import torchvision

from fmae.data import load_dataset, locate
from fmae.models import MLPAutoEncoder
from fmae.train import EpochEvent, TrainConfig, image_losses, train


def seed_loop(root: str, epochs: int, seed: int) -> Iterator[tuple[float, MLPAutoEncoder]]:
    """The tutorial's loop: DataLoader + ToTensor per item, BCELoss on sigmoid outputs.

    Yields (seconds, model) after each epoch.
    """
    torch.manual_seed(seed)
    dataset = torchvision.datasets.FashionMNIST(root, train=True, transform=torchvision.transforms.ToTensor())
    loader = torch.utils.data.DataLoader(dataset, batch_size=64, shuffle=True, drop_last=True)
    model = MLPAutoEncoder(input_dim=28 * 28, hidden_dim=128, latent_dim=10)
    criterion = torch.nn.BCELoss()
    optimizer = torch.optim.Adam(model.parameters(), lr=0.001)
    for _ in range(epochs):
        start = time.perf_counter()
        for images, _labels in loader:
            images = images.view(64, -1)
            outputs = model(images)
            loss = criterion(outputs, images)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
        yield time.perf_counter() - start, model


def fmae_epochs(epochs: int, seed: int) -> Iterator[tuple[float, float]]:
    """fmae's trainer on the same configuration; yields (seconds, test BCE) per epoch.

    Seconds are measured here, from resuming the trainer to its epoch event, so the time the
    tutorial loop runs in between is not counted; they include the trainer's test-set pass.
    """
    train_ds, test_ds = load_dataset("fashion", "train"), load_dataset("fashion", "test")
    config = TrainConfig(epochs=epochs, seed=seed, log_every=10_000)
    start = time.perf_counter()
    for event in train(config, train_ds, test_ds):
        if isinstance(event, EpochEvent):
            seconds = time.perf_counter() - start
            yield seconds, event.test_bce
            start = time.perf_counter()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=5)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--flush-denormal", action="store_true", help="flush denormals (both runs)")
    parser.add_argument("--threads", type=int, default=0, help="torch threads (0: default)")
    args = parser.parse_args()
    if args.flush_denormal:
        torch.set_flush_denormal(True)
    if args.threads:
        torch.set_num_threads(args.threads)
    theirs = seed_loop(str(locate("fashion")), args.epochs, args.seed)
    ours = fmae_epochs(args.epochs, args.seed)
    seed_s, ours_s = [], []
    print(f"epochs {args.epochs}, torch threads {torch.get_num_threads()}")
    for epoch in range(1, args.epochs + 1):
        s, model = next(theirs)
        o, ours_bce = next(ours)
        seed_s.append(s)
        ours_s.append(o)
        print(f"epoch {epoch}: tutorial {s:6.2f} s   fmae {o:6.2f} s   ratio {s / o:5.2f}x")
    seed_bce = image_losses(model, load_dataset("fashion", "test").images)[0]
    print(f"tutorial loop : median {statistics.median(seed_s):6.2f} s/epoch   test BCE {seed_bce:.4f}")
    print(f"fmae trainer  : median {statistics.median(ours_s):6.2f} s/epoch   test BCE {ours_bce:.4f}")
    ratios = [s / o for s, o in zip(seed_s, ours_s, strict=True)]
    print(
        f"speed-up      : median {statistics.median(ratios):.2f}x, best {max(ratios):.2f}x   (target >= 8x)"
    )
    print(f"BCE difference: {ours_bce - seed_bce:+.4f}   (target <= +0.003)")


if __name__ == "__main__":
    main()
