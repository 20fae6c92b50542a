"""What running a projection in the worker process costs per call, against the same call in-process.

    .venv/bin/python benchmarks/projection_worker.py [--n 2000] [--repeats 30] [--method pca]

Codes: the Fashion-MNIST test set under checkpoints/fashion-mlp, N seeded class-balanced rows
(the shipped maps' N). Timed: ``project(codes, method)`` here against
``ProjectionWorker.project(codes, method)`` (the same call sent to the warm worker: the codes
travel there, the Projection comes back), then ``map_and_score`` here against
``ProjectionWorker.compute`` (what the Embeddings tab runs: the map plus its three scores), and
a no-op round trip. Medians, the 10th-90th percentile spread and the ratio worker / in-process
are printed, all from this run. Also: starting the worker (once, and again after a crash), and
the shipped maps' first paint, which must not touch the worker at all.
"""

from __future__ import annotations

import argparse
import os
import signal
import statistics
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # run as a plain script from anywhere

from fmae.data import load_dataset  # noqa: E402
from fmae.latent import (  # noqa: E402
    DEFAULT_METHODS,
    DEFAULT_N,
    EmbeddingCache,
    ProjectionWorker,
    checkpoint_id,
    encode,
    map_and_score,
    project,
    subsample,
)
from fmae.models import load_checkpoint  # noqa: E402

FOLDER = ROOT / "checkpoints" / "fashion-mlp"


def spread(ms: list[float]) -> str:
    """'median (p10-p90)' of times in milliseconds."""
    p10, p90 = np.percentile(ms, [10, 90])
    return f"{statistics.median(ms):8.2f} ms  (p10 {p10:.2f} - p90 {p90:.2f})"


def timed_ms(fn) -> float:
    start = time.perf_counter()
    fn()
    return (time.perf_counter() - start) * 1000


def timed_blocks(fn, repeats: int, block: int = 5) -> list[float]:
    """``repeats`` timings of ``fn`` in blocks of ``block`` calls, each block after a 0.3 s pause.

    The pause lets OpenMP threads of the previous block stop spinning (libgomp busy-waits after a
    parallel region): with both cores spinning in this process, the worker starves and a call
    measures that contention (~180 ms here), not the worker. The server runs no OpenMP code itself.
    """
    times: list[float] = []
    while len(times) < repeats:
        time.sleep(0.3)
        times += [timed_ms(fn) for _ in range(min(block, repeats - len(times)))]
    return times


def wait_gone(pid: int) -> None:
    """Return once process ``pid`` has ended (a zombie counts; Linux /proc)."""
    while True:
        try:
            if Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] == "Z":
                return
        except OSError:
            return
        time.sleep(0.01)


def first_paint_ms(repeats: int) -> list[float]:
    """Loading the shipped default maps from their .npz files into a fresh cache (what the tab's
    first paint reads), with a worker object that exists but must never start."""
    ckpt = checkpoint_id(FOLDER)
    times = []
    for _ in range(repeats):
        worker, cache = ProjectionWorker(), EmbeddingCache()
        load = [lambda m=m, c=cache: c.lookup(ckpt, m, DEFAULT_N, 0, FOLDER) for m in DEFAULT_METHODS]
        times.append(timed_ms(lambda load=load: [f() for f in load]))
        assert worker.pid is None, "the first paint started a worker"
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=DEFAULT_N)
    parser.add_argument("--repeats", type=int, default=30)
    parser.add_argument("--method", default="pca")
    args = parser.parse_args()

    test = load_dataset("fashion", "test")
    labels_all = test.labels.numpy()
    idx = subsample(labels_all, args.n, seed=0)
    codes_all = encode(load_checkpoint(FOLDER).model, test.images)
    codes, labels = codes_all[idx], labels_all[idx]
    print(f"codes {codes.shape} from checkpoints/fashion-mlp; method {args.method}; {args.repeats} repeats")

    with ProjectionWorker() as worker:
        start_s = timed_ms(worker.start) / 1000
        project(codes, args.method)  # warm both sides: imports, caches
        worker.project(codes, args.method)
        here = timed_blocks(lambda: project(codes, args.method), args.repeats)
        there = timed_blocks(lambda: worker.project(codes, args.method), args.repeats)
        here_c = timed_blocks(lambda: map_and_score(codes, labels, args.method), args.repeats)
        there_c = timed_blocks(
            lambda: worker.compute(codes_all, labels_all, args.method, args.n), args.repeats
        )
        noop = timed_blocks(lambda: worker.call(int, 3, label="no-op"), args.repeats)
        dead = worker.pid
        os.kill(dead, signal.SIGKILL)  # as a crash would; the next call replaces the worker
        wait_gone(dead)
        restart_s = timed_ms(worker.start) / 1000

    report(f"project('{args.method}') of {args.n} codes, per call:", here, there)
    report(f"map + scores ({args.method}, N={args.n}), what the Embeddings tab computes:", here_c, there_c)
    print(f"\na no-op call in the worker (the round trip alone): {spread(noop)}")
    print(f"\nstarting the worker: {start_s:.2f} s; again after a crash: {restart_s:.2f} s")
    paint = spread(first_paint_ms(10))
    print(f"first paint of the shipped maps ({', '.join(DEFAULT_METHODS)}; no worker started): {paint}")


def report(title: str, here: list[float], there: list[float]) -> None:
    """Both timings and the ratio of their medians."""
    a, b = statistics.median(here), statistics.median(there)
    print(f"\n{title}\n  in-process : {spread(here)}\n  worker     : {spread(there)}")
    print(f"  ratio worker / in-process (medians): {b / a:.2f}x, {b - a:+.2f} ms per call")


if __name__ == "__main__":
    main()
