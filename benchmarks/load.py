"""Many visitors at once: N concurrent gradio_client sessions reconstruct sketches, one more trains.

Starts ``python app.py`` (FMAE_TORCH_THREADS=1, as on a 2-core Space). For each level N it runs two
phases of ``--duration`` seconds: N sessions reconstructing varied drawings with the shipped models
(closed loop, one request in flight per session), first alone, then while one extra session
trains a small MLP (stopped with /stop_training at the phase end; the stop is timed). Per phase it
reports throughput, p50/p95 latency, errors and the server's peak RSS; the training phase's p50 is
compared with the idle phase's of the same level (the baseline). After each phase every session
checks isolation: its picker lists exactly the shipped models plus its own, and the models the
training session made are "Unknown model" to everyone else. Violations must be 0.

    .venv/bin/python benchmarks/load.py [--levels 1,8,32] [--duration 10]
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw

sys.path.insert(0, str(Path(__file__).resolve().parent))  # benchmarks/, run from anywhere
from appserver import ROOT, free_port, start_server, stop_server

TRAIN = {
    "dataset": "fashion", "model_type": "mlp", "epochs": 20, "batch_size": 64, "lr": 2e-3, "latent_dim": 8,
    "hidden_dim": 64, "seed": 0, "train_size": 20000,
}  # fmt: skip


# ---------------------------------------------------------------- the server
def cpu_seconds(pid: int) -> float:
    """User + system CPU seconds used so far by ``pid`` (its threads included)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def rss_mb(pid: int, field_name: str = "VmRSS") -> float:
    """Resident memory of ``pid`` in MiB (``VmHWM``: its peak so far), via psutil if installed, else /proc."""
    if field_name == "VmRSS":
        try:
            import psutil

            return psutil.Process(pid).memory_info().rss / 2**20
        except ImportError:
            pass
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field_name + ":"):
            return int(line.split()[1]) / 1024
    raise RuntimeError(f"no {field_name} for pid {pid}")


class RssSampler(threading.Thread):
    """Samples a process's RSS every ``every`` seconds; ``take_peak()`` returns and resets the peak."""

    def __init__(self, pid: int, every: float = 0.2) -> None:
        super().__init__(daemon=True)
        self.pid, self.every, self.peak, self.samples = pid, every, 0.0, []
        self._halt = threading.Event()

    def run(self) -> None:
        while not self._halt.wait(self.every):
            try:
                mb = rss_mb(self.pid)
            except (OSError, RuntimeError):
                return  # the process is gone
            self.samples.append((time.monotonic(), mb))
            self.peak = max(self.peak, mb)

    def take_peak(self) -> float:
        peak, self.peak = self.peak, 0.0
        return max(peak, rss_mb(self.pid))

    def stop(self) -> None:
        self._halt.set()


# ---------------------------------------------------------------- the visitors
def make_drawings(folder: Path, n: int = 24, seed: int = 0) -> list[Path]:
    """``n`` different 280x280 black-on-white drawings (shirts, trousers, bags, strokes) as PNG files."""
    rng = np.random.default_rng(seed)
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for i in range(n):
        img = Image.new("RGBA", (280, 280), (255, 255, 255, 255))
        d = ImageDraw.Draw(img)
        j = lambda pts: [(x + rng.integers(-15, 16), y + rng.integers(-15, 16)) for x, y in pts]  # noqa: E731
        kind, width = i % 4, int(rng.integers(12, 26))
        if kind == 0:  # a shirt
            shirt = [(70, 50), (210, 50), (250, 110), (215, 125), (205, 240), (75, 240), (65, 125), (30, 110)]
            d.polygon(j(shirt), fill=(0, 0, 0, 255) if rng.random() < 0.5 else None, outline=(0, 0, 0, 255),
                      width=width)  # fmt: skip
        elif kind == 1:  # trousers
            d.polygon(j([(90, 30), (190, 30), (200, 250), (150, 250), (140, 110), (130, 250), (80, 250)]),
                      fill=(0, 0, 0, 255))  # fmt: skip
        elif kind == 2:  # a bag
            box = sorted(rng.integers(40, 240, 2).tolist()), sorted(rng.integers(80, 250, 2).tolist())
            d.rectangle(
                [box[0][0], box[1][0], box[0][1] + 30, box[1][1]], outline=(0, 0, 0, 255), width=width
            )
            d.arc([100, 30, 180, 120], 180, 360, fill=(0, 0, 0, 255), width=width)
        else:  # a scribble, digit-like
            d.line(j([(80, 60), (200, 60), (120, 230), (180, 160)]), fill=(0, 0, 0, 255), width=width)
        paths.append(folder / f"drawing-{i:02d}.png")
        img.save(paths[-1])
    return paths


def pad(path: Path) -> dict:
    """The Sketchpad's value as gradio_client sends it."""
    from gradio_client import handle_file

    return {"background": handle_file(str(path)), "layers": [], "composite": handle_file(str(path))}


def connect(url: str, n: int) -> list:
    """``n`` gradio_client sessions (each its own visitor), made in parallel."""
    from gradio_client import Client

    out: list = [None] * n

    def make(i: int) -> None:
        # ssl_verify=False: gradio_client makes a new httpx client per call, and with verification on each
        # one loads the CA bundle (~50 ms CPU, even for http://): the load generator would starve the server
        out[i] = Client(url, verbose=False, download_files=False, ssl_verify=False)

    in_threads(make, n)
    return out


def in_threads(fn: Callable[[int], None], n: int) -> None:
    """Run ``fn(0)`` ... ``fn(n - 1)`` in ``n`` threads and wait for them all."""
    threads = [threading.Thread(target=fn, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()


def close(clients: list) -> None:
    for c in clients:
        c.close()


@dataclass
class Phase:
    """What one phase measured."""

    n: int
    training: bool
    seconds: float = 0.0
    latencies: list[float] = field(default_factory=list)  # seconds, successful requests
    errors: list[str] = field(default_factory=list)
    violations: list[str] = field(default_factory=list)
    peak_rss_mb: float = 0.0
    train_rate: float | None = None  # images/s the training reported during the phase
    stop_s: float | None = None  # /stop_training until the run ended
    cpu_pct: float = 0.0  # server CPU time over the phase's wall time (100: one core busy)
    gen_cpu_pct: float = 0.0  # the same for this process (the load generator)

    @property
    def rps(self) -> float:
        return len(self.latencies) / self.seconds if self.seconds else 0.0

    def pct_ms(self, q: float) -> float:
        return 1e3 * float(np.percentile(self.latencies, q)) if self.latencies else float("nan")


def hammer(
    clients: list, drawings: list[Path], models: list[str], phase: Phase, seconds: float | None = None,
    per_client: int | None = None, seed: int = 0,
) -> Phase:  # fmt: skip
    """Every client reconstructs random drawings with random models, back to back, for ``seconds``
    (or ``per_client`` requests each); each answer must come from the model asked for."""
    lock, t0 = threading.Lock(), time.monotonic()

    def work(i: int) -> None:
        rng = np.random.default_rng(seed * 1000 + i)
        deadline, done = t0 + (seconds or 1e9), 0
        while time.monotonic() < deadline and (per_client is None or done < per_client):
            model = models[int(rng.integers(len(models)))]
            drawing = drawings[int(rng.integers(len(drawings)))]
            sent = time.perf_counter()
            try:
                _, summary, numbers = clients[i].predict(pad(drawing), model, api_name="/reconstruct_sketch")
                ok = "Reconstruction MSE" in summary and numbers["model"] == model
                err = None if ok else f"wrong answer for {model}: {summary[:80]!r}"
            except Exception as exc:  # every failure is counted and shown
                err = f"{type(exc).__name__}: {str(exc)[:120]}"
            dt = time.perf_counter() - sent
            with lock:
                (phase.errors.append(err) if err else phase.latencies.append(dt))
            done += 1

    in_threads(work, len(clients))
    phase.seconds = time.monotonic() - t0
    return phase


def picker_names(client) -> list[str]:
    """The model names this session's picker lists (what a page load shows)."""
    picker, _ = client.predict(api_name="/init_session")
    return [c[1] for c in picker["choices"]]


def check_isolation(
    clients: list, shipped: list[str], own: dict[int, list[str]], foreign: list[str], drawing: Path
) -> list[str]:
    """Each client must list exactly ``shipped`` + its own models, and get "Unknown model" for the
    ``foreign`` names (models of other sessions). Clients check in parallel; returns the violations."""
    from gradio_client.exceptions import AppError

    bad: list[str] = []

    def check(i: int) -> None:
        c, mine = clients[i], own.get(i, [])
        try:
            names = picker_names(c)
        except Exception as exc:  # a failed check is a violation too: nothing was proven
            bad.append(f"session {i}: could not read its picker: {type(exc).__name__}: {exc}")
            return
        if names != shipped + mine:
            bad.append(f"session {i} lists {names}, expected {shipped + mine}")
        for name in (f for f in foreign if f not in mine):
            try:
                c.predict(pad(drawing), name, api_name="/reconstruct_sketch")
                bad.append(f"session {i} could use another session's model {name!r}")
            except AppError as exc:
                if "Unknown model" not in str(exc):
                    bad.append(f"session {i}: unexpected answer for {name!r}: {exc}")

    in_threads(check, len(clients))
    return bad


class Trainer:
    """One session that trains (``TRAIN`` settings) until told to stop."""

    def __init__(self, url: str, settings: dict | None = None) -> None:
        self.client = connect(url, 1)[0]
        self.settings = {**TRAIN, **(settings or {})}
        self.job = None
        self.models: list[str] = []  # names of the models this session trained
        self.max_models = int(os.environ.get("FMAE_MAX_MODELS", "3"))  # what the server keeps per session

    def start(self, timeout: float = 180.0) -> None:
        """Submit a run and return once it reports training steps (or has finished)."""
        self.job = self.client.submit(**self.settings, api_name="/train")
        deadline = time.monotonic() + timeout
        while not any(str(o[0]).startswith("Training:") for o in self.job.outputs()) and not self.job.done():
            if time.monotonic() > deadline:
                raise TimeoutError(f"training did not start: {self.job.outputs()[-1:]}")
            time.sleep(0.05)

    def rate(self) -> float | None:
        """Median images/s over the run's status lines so far."""
        rates = [
            float(o[0].rsplit(", ", 1)[1].split()[0]) for o in self.job.outputs() if "images/s" in str(o[0])
        ]
        return float(np.median(rates)) if rates else None

    def finish(self, stop: bool = True, timeout: float = 120.0) -> float:
        """Stop the run (if ``stop``) and wait for its end; returns the seconds that took.
        The trained model's name is added to ``models``."""
        t0 = time.monotonic()
        if stop and not self.job.done():
            self.client.predict(api_name="/stop_training")
        self.job.result(timeout=timeout)
        elapsed = time.monotonic() - t0
        picker = self.job.outputs()[-1][4]
        if not isinstance(picker, dict) or "value" not in picker:
            raise RuntimeError(f"training gave no model: {self.job.outputs()[-1][0]}")
        self.models.append(picker["value"])
        return elapsed


def run_level(
    url: str, n: int, seconds: float, drawings: list[Path], shipped: list[str], trainer: Trainer,
    sampler: RssSampler | None, log: Callable[[str], None] = print,
) -> list[Phase]:  # fmt: skip
    """The idle phase and the training phase of one level."""
    clients = connect(url, n)
    phases = []
    try:
        for training in (False, True):
            phase = Phase(n, training)
            if sampler is not None:
                sampler.take_peak()
            if training:
                trainer.start()
            cpu0, gen0 = cpu_seconds(sampler.pid) if sampler is not None else 0.0, time.process_time()
            hammer(clients, drawings, shipped, phase, seconds=seconds, seed=n * 2 + training)
            phase.gen_cpu_pct = 100 * (time.process_time() - gen0) / phase.seconds
            if sampler is not None:
                phase.cpu_pct = 100 * (cpu_seconds(sampler.pid) - cpu0) / phase.seconds
            if training:
                phase.train_rate = trainer.rate()
                phase.stop_s = trainer.finish()
            if sampler is not None:
                phase.peak_rss_mb = sampler.take_peak()
            own = {len(clients): trainer.models[-trainer.max_models :]}  # a session keeps its newest models
            phase.violations = check_isolation(
                [*clients, trainer.client], shipped, own, trainer.models, drawings[0]
            )
            phases.append(phase)
            log(f"  N={n:<3} training={'yes' if training else 'no '} {len(phase.latencies)} ok, "
                f"{len(phase.errors)} errors, {len(phase.violations)} violations")  # fmt: skip
    finally:
        close(clients)
    return phases


def table(phases: list[Phase]) -> str:
    """The results as a compact text table (p50 x idle: the training phase's p50 over the idle one's)."""
    cols = ["N", "training", "req/s", "p50 ms", "p95 ms", "errors", "isol.", "srv CPU%", "gen CPU%"]
    cols += ["peak RSS MiB"]
    cols += ["p50 x idle", "train img/s", "stop s"]
    rows = [" ".join(f"{c:>{max(5, len(c))}}" for c in cols)]
    idle = {p.n: p for p in phases if not p.training}
    for p in phases:
        ratio = p.pct_ms(50) / idle[p.n].pct_ms(50) if p.training and p.n in idle else 1.0
        cells = [
            p.n, "yes" if p.training else "no", f"{p.rps:.2f}", f"{p.pct_ms(50):.0f}", f"{p.pct_ms(95):.0f}",
            len(p.errors), len(p.violations), f"{p.cpu_pct:.0f}", f"{p.gen_cpu_pct:.0f}",
            f"{p.peak_rss_mb:.0f}", f"{ratio:.2f}x",
            f"{p.train_rate:.0f}" if p.train_rate else "-",
            f"{p.stop_s:.1f}" if p.stop_s is not None else "-",
        ]  # fmt: skip
        rows.append(" ".join(f"{v!s:>{max(5, len(c))}}" for c, v in zip(cols, cells, strict=True)))
    return "\n".join(rows)


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--levels", default="1,8,32", help="concurrent reconstructing sessions per level")
    parser.add_argument("--duration", type=float, default=10.0, help="seconds per phase (2 phases a level)")
    args = parser.parse_args()
    levels = [int(x) for x in args.levels.split(",") if x.strip()]
    sys.path.insert(0, str(ROOT))
    from ui.state import AppState

    shipped = AppState().shipped.names()
    tmp = tempfile.TemporaryDirectory(prefix="fmae-load-drawings-")
    drawings = make_drawings(Path(tmp.name))
    load_before = os.getloadavg()
    proc = start_server(free_port())
    url = proc.url  # type: ignore[attr-defined]
    sampler = RssSampler(proc.pid)
    sampler.start()
    phases: list[Phase] = []
    try:
        hammer(connect(url, 1), drawings, shipped, Phase(0, False), per_client=3)  # warm-up
        trainer = Trainer(url)
        for n in levels:
            phases += run_level(url, n, args.duration, drawings, shipped, trainer, sampler)
        hwm = rss_mb(proc.pid, "VmHWM")
    finally:
        sampler.stop()
        stop_server(proc)
    load_after = os.getloadavg()
    print(f"\ncpus: {os.cpu_count()}, load average before {load_before[0]:.2f}, after {load_after[0]:.2f}; "
          f"{args.duration:.0f} s per phase; server FMAE_TORCH_THREADS=1; trainer: {TRAIN}")  # fmt: skip
    print(table(phases))
    errors = [e for p in phases for e in p.errors]
    violations = [v for p in phases for v in p.violations]
    print(f"requests: {sum(len(p.latencies) for p in phases)} ok, {len(errors)} failed; "
          f"isolation violations: {len(violations)}; server peak RSS (VmHWM): {hwm:.0f} MiB")  # fmt: skip
    for line in sorted(set(errors))[:5] + violations[:5]:
        print("  " + line)
    return 1 if errors or violations else 0


if __name__ == "__main__":
    sys.exit(main())
