"""Seconds per epoch: the tutorial's own training loop vs fmae's trainer, same config, same data.

    python benchmarks/train_speed.py [--epochs 5] [--threads 0] [--turn 937]

Both train the tutorial's model (784-128-128-10, sigmoid output) with Adam 1e-3, batch 64,
on Fashion-MNIST's 60,000 training images, and are scored by test BCE (the tutorial's
BCELoss on sigmoid outputs) on the 10,000 test images. The two runs take turns (an epoch
each by default, ``--turn 100`` for 100 steps each), so a busy machine (this one is shared)
slows both alike; each one's clock runs only during its own turns, and fmae's includes its
test-set pass at each epoch's end. The script prints each epoch's seconds, the per-epoch
ratios, the ratio of the totals and each one's final test BCE.
Target: ratio >= 8, BCE within +0.003.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # run as a plain script from anywhere

import torch  # noqa: E402
import torchvision  # noqa: E402

from fmae.data import load_dataset, locate  # noqa: E402
from fmae.models import MLPAutoEncoder  # noqa: E402
from fmae.training import (  # noqa: E402
    EpochEvent,
    StepEvent,
    TrainConfig,
    fastmlp,
    image_losses,
    train,
)


class SeedAutoEncoder(torch.nn.Module):
    """The tutorial's class as written there (fmae's MLPAutoEncoder has the same layers and
    initialisation, so both runs start from the same weights)."""

    def __init__(self, input_dim=28 * 28, hidden_dim=256, latent_dim=10):
        super().__init__()
        self.encoder = torch.nn.Sequential(
            torch.nn.Linear(input_dim, hidden_dim),
            torch.nn.ReLU(),
            torch.nn.Linear(hidden_dim, hidden_dim),
            torch.nn.ReLU(),
            torch.nn.Linear(hidden_dim, latent_dim),
        )
        self.decoder = torch.nn.Sequential(
            torch.nn.Linear(latent_dim, hidden_dim),
            torch.nn.ReLU(),
            torch.nn.Linear(hidden_dim, hidden_dim),
            torch.nn.ReLU(),
            torch.nn.Linear(hidden_dim, input_dim),
            torch.nn.Sigmoid(),
        )

    def forward(self, x):
        return self.decoder(self.encoder(x))


def seed_loop(root: str, epochs: int, seed: int, turn: int) -> Iterator[tuple[int, float, SeedAutoEncoder]]:
    """The tutorial's loop: DataLoader + ToTensor per item, BCELoss on sigmoid outputs.

    Yields (epoch, seconds, model) every ``turn`` steps and at each epoch's end.
    """
    torch.manual_seed(seed)
    dataset = torchvision.datasets.FashionMNIST(root, train=True, transform=torchvision.transforms.ToTensor())
    loader = torch.utils.data.DataLoader(dataset, batch_size=64, shuffle=True, drop_last=True)
    model = SeedAutoEncoder(input_dim=28 * 28, hidden_dim=128, latent_dim=10)
    criterion = torch.nn.BCELoss()
    optimizer = torch.optim.Adam(model.parameters(), lr=0.001)
    for epoch in range(1, epochs + 1):
        start = time.perf_counter()
        for i, (images, _labels) in enumerate(loader):
            images = images.view(64, -1)
            outputs = model(images)
            loss = criterion(outputs, images)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            if (i + 1) % turn == 0:
                yield epoch, time.perf_counter() - start, model
                start = time.perf_counter()  # the other run's turn is not ours
        yield epoch, time.perf_counter() - start, model


def fmae_epochs(epochs: int, seed: int, turn: int) -> Iterator[tuple[int, float, float]]:
    """fmae's trainer on the same configuration; yields (epoch, seconds, test BCE or nan).

    A StepEvent comes every ``turn`` steps. Seconds run from resuming the trainer to its next
    event, so they include the trainer's test-set pass at each epoch's end.
    """
    train_ds, test_ds = load_dataset("fashion", "train"), load_dataset("fashion", "test")
    config = TrainConfig(epochs=epochs, seed=seed, log_every=turn)
    start = time.perf_counter()
    for event in train(config, train_ds, test_ds):
        seconds = time.perf_counter() - start
        if isinstance(event, EpochEvent):
            yield event.epoch, seconds, event.test_bce
        elif isinstance(event, StepEvent):
            yield event.epoch, seconds, float("nan")
        start = time.perf_counter()


def take_turns(epochs: int, seed: int, turn: int) -> tuple[list[float], list[float], SeedAutoEncoder, float]:
    """Run both, a turn each; return per-epoch seconds of each, the tutorial's model, our BCE."""
    runs = [seed_loop(str(locate("fashion")), epochs, seed, turn), fmae_epochs(epochs, seed, turn)]
    seconds = [[0.0] * epochs, [0.0] * epochs]
    model, ours_bce = None, float("nan")
    while runs[0] is not None or runs[1] is not None:
        for k, run in enumerate(runs):
            if run is None:
                continue
            try:
                epoch, sec, extra = next(run)
            except StopIteration:
                runs[k] = None
                continue
            seconds[k][epoch - 1] += sec
            if k == 0:
                model = extra
            elif extra == extra:  # not nan: the epoch's test BCE
                ours_bce = extra
    return seconds[0], seconds[1], model, ours_bce


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=5)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--turn",
        type=int,
        default=937,
        help="steps per turn (default 937: a whole epoch each; smaller turns follow a drifting machine "
        "more closely but evict the faster run's caches at every switch)",
    )
    parser.add_argument("--flush-denormal", action="store_true", help="flush denormals (both runs)")
    parser.add_argument("--threads", type=int, default=0, help="torch threads (0: default)")
    parser.add_argument(
        "--no-flush",
        action="store_true",
        help="let fmae's Adam moments go denormal (shows what fmae.training.fastmlp's flush saves)",
    )
    args = parser.parse_args()
    if args.flush_denormal:
        torch.set_flush_denormal(True)
    if args.threads:
        torch.set_num_threads(args.threads)
    if args.no_flush:
        fastmlp.FLUSH_EVERY = 10**9
    print(f"epochs {args.epochs}, torch threads {torch.get_num_threads()}, turns of {args.turn} steps")
    seed_s, ours_s, model, ours_bce = take_turns(args.epochs, args.seed, args.turn)
    for epoch, (s, o) in enumerate(zip(seed_s, ours_s, strict=True), 1):
        print(f"epoch {epoch}: tutorial {s:6.2f} s   fmae {o:6.2f} s   ratio {s / o:5.2f}x")
    scored = MLPAutoEncoder(hidden_dim=128, latent_dim=10)
    scored.load_state_dict(model.state_dict())  # same keys; scored the same way as fmae's
    seed_bce = image_losses(scored, load_dataset("fashion", "test").images)[0]
    print(f"tutorial loop : median {statistics.median(seed_s):6.2f} s/epoch   test BCE {seed_bce:.4f}")
    print(f"fmae trainer  : median {statistics.median(ours_s):6.2f} s/epoch   test BCE {ours_bce:.4f}")
    ratios = [s / o for s, o in zip(seed_s, ours_s, strict=True)]
    print(
        f"speed-up      : median {statistics.median(ratios):.2f}x, worst {min(ratios):.2f}x, "
        f"totals {sum(seed_s) / sum(ours_s):.2f}x   (target >= 8x)"
    )
    print(f"BCE difference: {ours_bce - seed_bce:+.4f}   (target <= +0.003)")


if __name__ == "__main__":
    main()
