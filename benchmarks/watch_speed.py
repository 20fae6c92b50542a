"""What the live latent map costs: the seed's MLP run with and without frames, side by side.

    python benchmarks/watch_speed.py [--epochs 1] [--repeats 3] [--threads 0] [--every 1.5]

The tutorial's run (MLP 784-128-128-10, Adam 1e-3, batch 64, all 60,000 training images) trains
``--repeats`` times without frames and as often with a ``FrameRecorder`` on the default 1,000-image
probe (a frame every ``--every`` seconds and at each epoch end: encode the probe, PCA, Procrustes),
taking turns (off, on, off, on, ...) so a busy machine slows both alike. Printed: each run's wall
time, the ratio on/off per pair, their median and range, the frames taken and the longest gap between
two frames. Target (issue 15): the median ratio <= 1.10, and no gap over 2 s.
"""

from __future__ import annotations

import argparse
import itertools
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # run as a plain script from anywhere

import torch  # noqa: E402

from fmae.data import load_dataset  # noqa: E402
from fmae.training import DoneEvent, FrameRecorder, TrainConfig, make_probe, train  # noqa: E402


def one_run(config: TrainConfig, train_ds, test_ds, every: float | None) -> tuple[float, int, float, float]:
    """Seconds, frames taken, the longest gap between frames (s), the final test MSE... of one run."""
    recorder = FrameRecorder(make_probe(test_ds), every_s=every) if every else None
    t0 = time.perf_counter()
    done = None
    for event in train(config, train_ds, test_ds, frames=recorder):
        if isinstance(event, DoneEvent):
            done = event
    seconds = time.perf_counter() - t0
    if recorder is None:
        return seconds, 0, 0.0, done.history["test_mse"][-1]
    times = [f.elapsed for f in recorder.frames]
    gap = max(b - a for a, b in itertools.pairwise(times)) if len(times) > 1 else 0.0
    return seconds, len(recorder.frames), gap, done.history["test_mse"][-1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=1)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--threads", type=int, default=0, help="torch threads (0: torch's default)")
    parser.add_argument("--every", type=float, default=1.5, help="seconds between frames")
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    train_ds, test_ds = load_dataset("fashion", "train"), load_dataset("fashion", "test")
    config = TrainConfig(epochs=args.epochs, log_every=10_000)
    print(f"seed MLP run, {args.epochs} epoch(s), torch threads {torch.get_num_threads()}")
    ratios = []
    for i in range(args.repeats):
        off, _, _, mse_off = one_run(config, train_ds, test_ds, None)
        on, frames, gap, mse_on = one_run(config, train_ds, test_ds, args.every)
        ratios.append(on / off)
        print(
            f"pair {i + 1}: off {off:6.2f} s, on {on:6.2f} s ({frames} frames, longest gap {gap:.2f} s), "
            f"ratio {on / off:.3f}; test MSE off {mse_off:.5f} on {mse_on:.5f}"
        )
    print(
        f"ratio on/off: median {statistics.median(ratios):.3f}, range {min(ratios):.3f}-{max(ratios):.3f} "
        f"over {len(ratios)} pairs (target <= 1.10)"
    )


if __name__ == "__main__":
    main()
