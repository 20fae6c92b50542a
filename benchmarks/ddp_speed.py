"""Milliseconds per training step: one process against a data-parallel job of two, through ``train()``.

    python benchmarks/ddp_speed.py [--models mlp conv] [--repeats 3] [--steps 200]

Each setting runs under ``torchrun --standalone --nproc-per-node=N``: 1 process x 1 thread,
1 process x 2 threads and 2 processes x 1 thread each, the same global batch (64) of Fashion-MNIST,
taking turns setting by setting, ``--repeats`` times, so a drifting machine slows them alike. A run
trains two epochs of ``--steps`` steps (the conv model: a quarter of them); the time of the second
epoch (warm) over its steps is the ms/step; rank 0 reports it. Prints every run and the medians.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SETTINGS = [(1, 1), (1, 2), (2, 1)]  # (processes, threads each)


def worker(model: str, steps: int, threads: int) -> None:
    """One rank: train two epochs and print rank 0's warm ms/step as one JSON line."""
    sys.path.insert(0, str(ROOT))
    import torch

    from fmae.data import load_dataset
    from fmae.training import EpochEvent, TrainConfig, distributed, train

    torch.set_num_threads(threads)
    ctx = distributed.init_from_env("cpu")
    config = TrainConfig(model=model, epochs=2, batch_size=64, train_limit=64 * steps, log_every=10**6)
    ends = [0.0]
    test = load_dataset("fashion", "test").head(10)  # the epoch-end test pass: next to nothing
    for event in train(config, load_dataset("fashion", "train"), test):
        if isinstance(event, EpochEvent):
            ends.append(event.elapsed)
    if distributed.is_main():
        world = ctx.world_size if ctx is not None else 1
        ms = (ends[2] - ends[1]) / steps * 1000
        print(json.dumps({"model": model, "procs": world, "threads": threads, "ms_per_step": ms}), flush=True)
    distributed.shutdown()


def launch(model: str, steps: int, procs: int, threads: int) -> float:
    torchrun = Path(sys.executable).with_name("torchrun")
    cmd = [str(torchrun), "--standalone", f"--nproc-per-node={procs}", __file__, "--worker"]
    cmd += ["--models", model, "--steps", str(steps), "--threads", str(threads)]
    env = dict(os.environ, OMP_NUM_THREADS=str(threads), PYTHONPATH=str(ROOT))
    out = subprocess.run(cmd, env=env, cwd=ROOT, capture_output=True, text=True, check=True).stdout
    return json.loads(next(line for line in out.splitlines() if line.startswith("{")))["ms_per_step"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", nargs="+", default=["mlp", "conv"])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--steps", type=int, default=200, help="steps per epoch (conv: a quarter)")
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        worker(args.models[0], args.steps, args.threads)
        return
    for model in args.models:
        steps = args.steps if model == "mlp" else max(args.steps // 4, 8)
        times: dict[tuple[int, int], list[float]] = {s: [] for s in SETTINGS}
        for r in range(args.repeats):
            for procs, threads in SETTINGS:
                ms = launch(model, steps, procs, threads)
                times[(procs, threads)].append(ms)
                print(
                    f"{model} run {r + 1}: {procs} process(es) x {threads} thread(s): {ms:.2f} ms/step",
                    flush=True,
                )
        base = statistics.median(times[(1, 1)])
        for (procs, threads), values in times.items():
            med = statistics.median(values)
            print(
                f"{model}: {procs} x {threads}: median {med:.2f} ms/step "
                f"({base / med:.2f}x the speed of 1 x 1; runs {', '.join(f'{v:.2f}' for v in values)})"
            )


if __name__ == "__main__":
    main()
