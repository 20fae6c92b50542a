"""Many visitors press Start at once: how long each waits for the server's one training slot.

    python benchmarks/queue_wait.py [--visitors 20] [--epochs 2] [--train-size 20000]

Starts the app (``appserver.start_server``), opens ``--visitors`` gradio_client sessions (each its own
visitor), and has them all submit ``/train`` with the Train tab's default run (ui/train_tab.DEFAULTS;
``--epochs`` / ``--train-size`` change it) at the same moment. For each visitor it records when the
run's first frame arrived (the slot was theirs: the wait), and when the run ended; prints every
visitor in order, then the median and longest wait and the median run. Runs are served one at a
time (``concurrency_limit=1`` on /train), so the last visitor waits for all the runs before theirs.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))  # benchmarks/, run from anywhere
from appserver import free_port, start_server, stop_server
from load import connect

DEFAULT_RUN = {
    "dataset": "fashion", "model_type": "mlp", "epochs": 2, "batch_size": 64, "lr": 1e-3, "latent_dim": 10,
    "hidden_dim": 128, "seed": 0, "train_size": 20_000,
}  # fmt: skip
# (ui/train_tab.DEFAULTS, copied: this script imports no gradio app code)


def visit(client, settings: dict, go: threading.Event, row: dict) -> None:
    """Wait for ``go``, submit the run, note when its first frame and its end arrive."""
    go.wait()
    row["submit"] = time.monotonic()
    job = client.submit(**settings, api_name="/train")
    while not job.outputs() and not job.done():
        time.sleep(0.02)
    row["start"] = time.monotonic()
    job.result(timeout=3600)
    row["end"] = time.monotonic()
    row["status"] = str(job.outputs()[-1][0])[:80] if job.outputs() else ""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--visitors", type=int, default=20)
    parser.add_argument("--epochs", type=int, default=DEFAULT_RUN["epochs"])
    parser.add_argument("--train-size", type=int, default=DEFAULT_RUN["train_size"])
    args = parser.parse_args()
    settings = {**DEFAULT_RUN, "epochs": args.epochs, "train_size": args.train_size}
    server = start_server(free_port())
    try:
        print(f"server up in {server.startup_s:.1f} s; {args.visitors} visitors, run {settings}", flush=True)
        clients = connect(server.url, args.visitors)
        go, rows = threading.Event(), [{} for _ in clients]
        threads = [
            threading.Thread(target=visit, args=(c, settings, go, r), daemon=True)
            for c, r in zip(clients, rows, strict=True)
        ]
        for t in threads:
            t.start()
        t0 = time.monotonic()
        go.set()
        for t in threads:
            t.join()
        total = time.monotonic() - t0
    finally:
        stop_server(server)
    rows.sort(key=lambda r: r["start"])
    for i, r in enumerate(rows, 1):
        print(
            f"visitor {i:2d}: waited {r['start'] - r['submit']:6.1f} s, ran {r['end'] - r['start']:5.1f} s"
            f" | {r['status']}"
        )
    waits = [r["start"] - r["submit"] for r in rows]
    runs = [r["end"] - r["start"] for r in rows]
    print(
        f"{len(rows)} visitors: median wait {statistics.median(waits):.1f} s, longest {max(waits):.1f} s; "
        f"median run {statistics.median(runs):.1f} s; all done {total:.1f} s after Start"
    )


if __name__ == "__main__":
    main()
