"""Visitors coming and going: does the server's memory stay flat?

Starts the app as ``python app.py`` would (the same ``app.main()``, FMAE_TORCH_THREADS=1) in a
child process that also prints, twice a second, its RSS, the number of sessions in the app's
SessionStore, Gradio's per-visitor session states and its thread count. Then ``--sessions``
visitors (``--parallel`` at a time) each connect with gradio_client, reconstruct a drawing, maybe
pick another model and reconstruct again, and disconnect. The server keeps ``--max-sessions``
sessions (FMAE_MAX_SESSIONS; Gradio's own states: twice that), small enough that the bounds are
reached early in the run. Reports RSS at the start (after a warm-up), its peak and end, and the
growth over the second half of the run (the baseline: halfway, when every bound has been
reached), plus how many sessions the store holds (back to 0 once the visitors have left).

    .venv/bin/python benchmarks/soak.py [--sessions 500] [--parallel 8] [--max-sessions 50]
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import threading
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))  # benchmarks/: the load benchmark's helpers
from appserver import ROOT, free_port, start_server, stop_server
from load import connect, make_drawings, pad

STATS_EVERY_S = 0.5


def serve() -> None:
    """Child mode: ``app.main()`` plus a thread printing ``STATS {json}`` lines."""
    sys.path.insert(0, str(ROOT))
    import app

    state = app.demo.fmae_state

    def report() -> None:
        while True:
            status = Path("/proc/self/status").read_text().splitlines()
            rss = next(int(line.split()[1]) for line in status if line.startswith("VmRSS:")) / 1024
            holder = getattr(app.demo, "state_holder", None)
            root = state._session_root
            stats = {
                "rss_mb": round(rss, 1), "sessions": len(state.store), "bytes": state.store.total_weight(),
                "gradio_states": len(holder.session_data) if holder is not None else -1,
                "threads": threading.active_count(),
                "session_dirs": len(list(root.iterdir())) if root is not None and root.is_dir() else 0,
                "max_sessions": state.store.max_sessions,
            }  # fmt: skip
            print("STATS " + json.dumps(stats), flush=True)
            time.sleep(STATS_EVERY_S)

    threading.Thread(target=report, name="soak-stats", daemon=True).start()
    app.main()


class Stats:
    """Follows the child's STATS lines (its log file)."""

    def __init__(self, log: Path) -> None:
        self.log, self.series = log, []

    def read(self) -> list[dict]:
        lines = self.log.read_text(errors="replace").splitlines()
        self.series = [json.loads(line[6:]) for line in lines if line.startswith("STATS {")]
        return self.series

    def latest(self) -> dict:
        return self.read()[-1]

    def after(self, t_index: int) -> list[dict]:
        return self.read()[t_index:]


def visit(url: str, drawings: list[Path], models: list[str], rng: np.random.Generator) -> int:
    """One visitor: connect, reconstruct, maybe pick another model and reconstruct again, leave.
    Returns the number of requests made; raises on a failed or wrong answer."""
    client = connect(url, 1)[0]
    try:
        calls = [models[int(rng.integers(len(models)))]]
        if rng.random() < 0.5:
            calls.append(models[int(rng.integers(len(models)))])
        for i, model in enumerate(calls):
            if i:
                client.predict(model, api_name="/select_model")
            drawing = drawings[int(rng.integers(len(drawings)))]
            _, summary, numbers = client.predict(pad(drawing), model, api_name="/reconstruct_sketch")
            if numbers is None or numbers["model"] != model:
                raise RuntimeError(f"wrong answer for {model}: {summary[:80]!r}")
        return len(calls) * 2 - 1
    finally:
        client.close()


def soak(url: str, n: int, parallel: int, drawings: list[Path], models: list[str], stats: Stats,
         every: int = 50) -> tuple[list[tuple[int, float, dict]], list[str], int]:  # fmt: skip
    """Run ``n`` visitors, ``parallel`` at a time; returns (checkpoints (done, seconds, stats) every
    ``every`` visitors, errors, requests)."""
    lock, errors, marks = threading.Lock(), [], []
    counter = iter(range(n))
    done, requests, t0 = [0], [0], time.monotonic()

    def worker(w: int) -> None:
        rng = np.random.default_rng(w)
        for _ in counter:  # shared iterator: next() is atomic under the GIL
            try:
                made = visit(url, drawings, models, rng)
            except Exception as exc:  # every failure is counted and shown
                made = 0
                with lock:
                    errors.append(f"{type(exc).__name__}: {str(exc)[:120]}")
            with lock:
                done[0] += 1
                requests[0] += made
                if done[0] % every == 0:
                    marks.append((done[0], time.monotonic() - t0, stats.latest()))

    threads = [threading.Thread(target=worker, args=(w,)) for w in range(parallel)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return marks, errors, requests[0]


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--sessions", type=int, default=500)
    parser.add_argument("--parallel", type=int, default=8, help="visitors at a time")
    parser.add_argument("--max-growth-mb", type=float, default=32.0, help="fail above this RSS growth")
    parser.add_argument(
        "--max-sessions",
        type=int,
        default=50,
        help="the server's FMAE_MAX_SESSIONS (Gradio keeps twice that)",
    )
    parser.add_argument("--serve", action="store_true", help=argparse.SUPPRESS)  # the child process
    args = parser.parse_args()
    if args.serve:
        serve()
        return 0
    sys.path.insert(0, str(ROOT))
    from ui.state import AppState

    models = AppState().shipped.names()
    tmp = tempfile.TemporaryDirectory(prefix="fmae-soak-drawings-")
    drawings = make_drawings(Path(tmp.name))
    load_before = os.getloadavg()[0]
    env = {"FMAE_MAX_SESSIONS": str(args.max_sessions)}
    proc = start_server(free_port(), env=env, cmd=[sys.executable, __file__, "--serve"])
    stats = Stats(proc.tmp / "server.log")  # type: ignore[attr-defined]
    try:
        rng = np.random.default_rng(0)
        for _ in range(5):  # warm-up: shipped models loaded and run, first-call costs paid
            visit(proc.url, drawings, models, rng)  # type: ignore[attr-defined]
        time.sleep(2 * STATS_EVERY_S)
        start = stats.latest()
        t0 = time.monotonic()
        url = proc.url  # type: ignore[attr-defined]
        marks, errors, requests = soak(url, args.sessions, args.parallel, drawings, models, stats)
        seconds = time.monotonic() - t0
        during = stats.read()
        deadline = time.monotonic() + 40  # visitors left: their heartbeat streams close, unload drops them
        while stats.latest()["sessions"] > 0 and time.monotonic() < deadline:
            time.sleep(1)
        end = stats.latest()
    finally:
        stop_server(proc)
    peak = max(s["rss_mb"] for s in during)
    print(f"cpus: {os.cpu_count()}, load average before {load_before:.2f}, after {os.getloadavg()[0]:.2f}; "
          f"{args.sessions} visitors, {args.parallel} at a time, {requests} requests in {seconds:.0f} s, "
          f"{len(errors)} failed")  # fmt: skip
    print(f"{'visitors':>8} {'secs':>6} {'RSS MiB':>8} {'sessions':>8} {'gr states':>9} {'threads':>7}")
    for done, secs, s in [(0, 0.0, start), *marks, ("end", seconds, end)]:
        print(f"{done!s:>8} {secs:6.0f} {s['rss_mb']:8.0f} {s['sessions']:8d} {s['gradio_states']:9d} "
              f"{s['threads']:7d}")  # fmt: skip
    # the baseline: halfway, when the bounds (sessions, Gradio states) have long been reached
    first, _, half = min(marks, key=lambda m: abs(m[0] - args.sessions / 2)) if marks else (0, 0, start)
    growth = end["rss_mb"] - half["rss_mb"]
    peak_sessions, peak_states = max(s["sessions"] for s in during), max(s["gradio_states"] for s in during)
    print(f"RSS start {start['rss_mb']:.0f} MiB, peak {peak:.0f}, end {end['rss_mb']:.0f}; "
          f"growth from visitor {first} to the end: {growth:+.0f} MiB "
          f"(limit {args.max_growth_mb:.0f})")  # fmt: skip
    print(f"sessions in the store: peak {peak_sessions} (max {end['max_sessions']}), end {end['sessions']}; "
          f"session folders at the end: {end['session_dirs']}; Gradio session states: peak {peak_states}, "
          f"end {end['gradio_states']}")  # fmt: skip
    for line in sorted(set(errors))[:5]:
        print("  " + line)
    bounded = end["sessions"] <= end["max_sessions"] and end["gradio_states"] <= 2 * end["max_sessions"]
    return 1 if errors or growth > args.max_growth_mb or not bounded else 0


if __name__ == "__main__":
    sys.exit(main())
