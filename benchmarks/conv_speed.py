"""The conv autoencoder's cost, against the seed's own training loop, side by side in one run.

    python benchmarks/conv_speed.py                 # the shipped fashion-conv recipe (issue 18)
    python benchmarks/conv_speed.py --mode tab      # the Train tab's default conv run vs its MLP run
    python benchmarks/conv_speed.py --epochs 2      # a shorter recipe (a smoke run)

``recipe`` mode runs, taking turns so a busy machine (this one is shared) slows all alike:
- the seed's loop (``benchmarks/train_speed.py``'s copy of the tutorial's MLP loop): one epoch
  every ``--seed-every`` recipe epochs, at least ``--seed-epochs`` epochs;
- the recipe that trains the shipped ``fashion-conv`` (``RECIPE``, the README's command), each
  epoch timed with its test-set pass, as ``fmae.training.train`` runs it;
- the first conv design (``ConvAutoEncoder(arch=1)``, the old shipped config and its old
  settings: batch 128) for ``--old-steps`` steps per turn, scaled to an epoch;
- the test pass: encoding + decoding the 10,000 test images, new and old model, in batches of
  ``fmae.models.EVAL_BATCH`` (256), as fmae's test pass runs them.
It prints each one's median and spread and the ratios the issue's targets are stated in: the recipe's
wall time in seed-loop epochs (target <= 30), and the test pass (target <= 0.5 s), with the recipe's
test MSE and kNN(5) accuracy (targets <= 0.0108 and >= 0.85).

``tab`` mode runs the Train tab's default conv run and its default MLP run (``ui/train_tab.py``'s
defaults: 2 epochs, batch 64, Adam 1e-3, latent 10, hidden 128, 20,000 images) through
``fmae.training.train_to_end``, each between two seed-loop epochs, ``--repeats`` times, at the
app's thread count (``FMAE_TORCH_THREADS``, 1 unless set, as ``app.py`` runs them; ``--threads``
overrides it); it prints the wall times in seed-loop epochs (target: conv <= 4) and the test MSEs
(target: conv < MLP).
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # run as a plain script from anywhere
sys.path.insert(0, str(ROOT / "benchmarks"))

import torch  # noqa: E402
from train_speed import seed_loop  # noqa: E402

from fmae.data import load_dataset, locate  # noqa: E402
from fmae.models import EVAL_BATCH, ConvAutoEncoder  # noqa: E402
from fmae.training import (  # noqa: E402
    DoneEvent,
    EpochEvent,
    StepEvent,
    TrainConfig,
    evaluate,
    train,
    train_to_end,
)

#: the shipped fashion-conv's recipe: the README's
#: ``python -m fmae train --dataset fashion --model conv --epochs 13 --batch-size 128 --lr 8e-3
#: --schedule onecycle --channels 16 --hidden-dim 256 --out checkpoints/fashion-conv``
RECIPE = {
    "dataset": "fashion", "model": "conv", "epochs": 13, "batch_size": 128, "lr": 8e-3,
    "schedule": "onecycle", "channels": 16, "hidden_dim": 256,
}  # fmt: skip
#: the first design as it was shipped (config.json of the old fashion-conv), trained at batch 128
OLD = {"latent_dim": 10, "channels": 32, "hidden_dim": 128, "arch": 1}
#: the Train tab's defaults (ui/train_tab.py)
TAB = {
    "dataset": "fashion",
    "epochs": 2,
    "batch_size": 64,
    "lr": 1e-3,
    "latent_dim": 10,
    "hidden_dim": 128,
    "train_limit": 20_000,
}


def spread(values: list[float]) -> str:
    return f"median {statistics.median(values):7.2f} [{min(values):.2f}-{max(values):.2f}] (n={len(values)})"


class SeedEpochs:
    """The seed's loop, one epoch per call, each timed on its own."""

    def __init__(self) -> None:
        self.run = seed_loop(str(locate("fashion")), 10_000, seed=0, turn=10**9)
        self.seconds: list[float] = []

    def epoch(self) -> None:
        _epoch, sec, _model = next(self.run)
        self.seconds.append(sec)


@torch.inference_mode()
def test_pass(model: ConvAutoEncoder, x: torch.Tensor, bs: int = EVAL_BATCH) -> float:
    """Seconds to encode and decode all of ``x`` (N, 1, 28, 28) float, in the batches fmae scores in."""
    model.eval()
    start = time.perf_counter()
    for i in range(0, x.shape[0], bs):
        model.decode(model.encode(x[i : i + bs]))
    return time.perf_counter() - start


def old_chunks(steps: int) -> Iterator[float]:
    """The first design under fmae's trainer (batch 128, Adam 2e-3, as shipped): seconds per ``steps``
    steps, each turn's clock running only during its own steps."""
    config = TrainConfig(model="conv", epochs=100, batch_size=128, lr=2e-3, log_every=steps, channels=32)
    model = ConvAutoEncoder(**OLD)
    events = train(config, load_dataset("fashion", "train"), load_dataset("fashion", "test"), model=model)
    while True:
        start = time.perf_counter()
        while not isinstance(next(events), StepEvent):  # a StepEvent every ``steps`` steps
            start = time.perf_counter()  # an epoch's end: its test pass is timed apart
        yield time.perf_counter() - start


def run_recipe(args: argparse.Namespace) -> None:
    config = TrainConfig(**{**RECIPE, "epochs": args.epochs or RECIPE["epochs"]})
    train_ds, test_ds = load_dataset("fashion", "train"), load_dataset("fashion", "test")
    seed, old, recipe_s = SeedEpochs(), old_chunks(args.old_steps), []
    old_s: list[float] = []
    seed.epoch()
    start, done = time.perf_counter(), None
    for event in train(config, train_ds, test_ds):
        if isinstance(event, DoneEvent):
            done = event
        if not isinstance(event, EpochEvent):
            continue
        recipe_s.append(time.perf_counter() - start)
        print(f"recipe epoch {event.epoch}: {recipe_s[-1]:6.2f} s  test MSE {event.test_mse:.5f}", flush=True)
        old_s.append(next(old) * 468 / args.old_steps)
        if event.epoch % args.seed_every == 0:
            seed.epoch()
        start = time.perf_counter()
    assert done is not None
    while len(seed.seconds) < args.seed_epochs:
        seed.epoch()
    test_x = load_dataset("fashion", "test").images.unsqueeze(1).float() / 255
    old_model, new_model = ConvAutoEncoder(**OLD), done.model
    passes = {"new": [], "old": []}
    for _ in range(args.repeats):
        passes["new"].append(test_pass(new_model, test_x))
        passes["old"].append(test_pass(old_model, test_x))
    scores = evaluate(new_model, train_ds, test_ds)
    report_recipe(config, seed.seconds, recipe_s, old_s, passes, scores)


def report_recipe(
    config: TrainConfig, seed_s: list[float], recipe_s: list[float], old_s: list[float],
    passes: dict[str, list[float]], scores: dict[str, float],
) -> None:  # fmt: skip
    seed_med, total = statistics.median(seed_s), sum(recipe_s)
    print(f"\nrecipe: {config.to_dict()}")
    print(f"torch threads {torch.get_num_threads()}")
    print(f"seed loop epoch      : {spread(seed_s)} s")
    recipe_med, old_med = statistics.median(recipe_s), statistics.median(old_s)
    print(f"recipe epoch         : {spread(recipe_s)} s   ({recipe_med / seed_med:.2f} seed epochs)")
    print(f"old design epoch     : {spread(old_s)} s, steps only ({old_med / seed_med:.2f} seed epochs)")
    print(f"recipe epoch speed-up over the old design: {old_med / recipe_med:.2f}x")
    if len(recipe_s) < RECIPE["epochs"]:  # a shortened run: its total says little, its epochs do
        total = statistics.median(recipe_s) * RECIPE["epochs"]
        print(f"(a shortened run: the total below is {RECIPE['epochs']} x the median epoch, and the quality")
        print(" is that of the shortened run, not the recipe's)")
    print(
        f"recipe total         : {total:7.1f} s = {total / seed_med:.1f} seed-loop epochs "
        f"(target <= 30; {total / max(seed_s):.1f}-{total / min(seed_s):.1f} over the seed epochs' spread)"
    )
    print(f"test pass, new design: {spread(passes['new'])} s   (target <= 0.5 s)")
    print(f"test pass, old design: {spread(passes['old'])} s")
    ratio = statistics.median(passes["old"]) / statistics.median(passes["new"])
    print(f"test pass speed-up   : {ratio:.2f}x")
    print(
        f"recipe quality       : test MSE {scores['test_mse']:.5f} (target <= 0.0108), "
        f"kNN(5) {scores['knn_acc']:.4f} (target >= 0.85), BCE {scores['test_bce']:.4f}"
    )


def timed(fn: Callable[[], DoneEvent]) -> tuple[float, DoneEvent]:
    start = time.perf_counter()
    done = fn()
    return time.perf_counter() - start, done


def run_tab(args: argparse.Namespace) -> None:
    train_ds, test_ds = load_dataset("fashion", "train"), load_dataset("fashion", "test")
    seed = SeedEpochs()
    runs: dict[str, list[tuple[float, float]]] = {"conv": [], "mlp": []}
    seed.epoch()
    for _ in range(args.repeats):
        for model in ("conv", "mlp"):
            config = TrainConfig(model=model, log_every=1, **TAB)  # log_every=1: as the tab runs it
            sec, done = timed(lambda c=config: train_to_end(c, train_ds, test_ds))
            runs[model].append((sec, done.history["test_mse"][-1]))
        seed.epoch()
    seed_med = statistics.median(seed.seconds)
    print(f"\nTrain tab defaults: {TAB}; torch threads {torch.get_num_threads()}")
    print(f"seed loop epoch: {spread(seed.seconds)} s")
    for model, rows in runs.items():
        secs = [s for s, _ in rows]
        target = " (target <= 4)" if model == "conv" else ""
        print(
            f"{model:4s}: {spread(secs)} s = {statistics.median(secs) / seed_med:.2f} seed epochs{target}"
            f"   test MSE {rows[-1][1]:.5f}"
        )
    conv_mse, mlp_mse = runs["conv"][-1][1], runs["mlp"][-1][1]
    print(f"conv MSE < MLP MSE: {conv_mse < mlp_mse} ({conv_mse:.5f} vs {mlp_mse:.5f})")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mode", choices=["recipe", "tab"], default="recipe")
    parser.add_argument("--epochs", type=int, default=0, help="recipe epochs (0: the recipe's own)")
    parser.add_argument("--seed-every", type=int, default=3, help="a seed-loop epoch every N recipe epochs")
    parser.add_argument("--seed-epochs", type=int, default=3, help="at least this many seed-loop epochs")
    parser.add_argument("--old-steps", type=int, default=78, help="old-design steps per turn (divides 468)")
    parser.add_argument("--repeats", type=int, default=5, help="test passes (recipe) or runs (tab)")
    parser.add_argument(
        "--threads", type=int, default=0, help="torch threads (0: torch's default; tab mode: the app's)"
    )
    args = parser.parse_args()
    if args.mode == "tab" and not args.threads:  # as app.py sets it for the Train tab's runs
        args.threads = int(os.environ.get("FMAE_TORCH_THREADS", "1"))
    if args.threads:
        torch.set_num_threads(args.threads)
    (run_tab if args.mode == "tab" else run_recipe)(args)


if __name__ == "__main__":
    main()
