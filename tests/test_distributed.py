"""Data-parallel training with real torchrun processes (gloo, 2 processes x 1 thread, small subsets).

N=2 and N=1 on the same samples give the same weights up to float rounding; the ranks end with identical
weights; each rank's samples are disjoint and together cover the epoch; only rank 0 reports and writes;
a worker that is killed, or that stops answering, ends the whole job with a non-zero exit and a message.
"""

from __future__ import annotations

import itertools
import json
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import ddp_worker
import pytest
import torch
from proctools import children, gone, pid_alive

from fmae.models import load_checkpoint
from fmae.training import TrainConfig, distributed, seed_everything
from fmae.training.distributed import ShardedStep, share_bounds

ROOT = Path(__file__).resolve().parents[1]
TORCHRUN = Path(sys.executable).with_name("torchrun")
WORKER = ROOT / "tests" / "ddp_worker.py"
#: N=2 vs N=1: measured max |difference| of any weight 4.7e-7 (MLP, 40 steps) and 4.5e-8 (conv, 6 steps)
TOLERANCE = 1e-5


def _env(**extra: str) -> dict[str, str]:
    env = dict(os.environ, OMP_NUM_THREADS="1", MKL_NUM_THREADS="1", PYTHONPATH=str(ROOT), **extra)
    env.setdefault("FMAE_DATA_DIR", str(ROOT / "datasets"))  # the CLI runs in tmp_path
    env.pop("WORLD_SIZE", None)
    return env


def _torchrun(*args: str, nproc: int = 2) -> list[str]:
    return [str(TORCHRUN), "--standalone", f"--nproc-per-node={nproc}", *args]


def _max_diff(a: dict[str, torch.Tensor], b: dict[str, torch.Tensor]) -> float:
    assert a.keys() == b.keys()
    return max((a[k] - b[k]).abs().max().item() for k in a)


@pytest.mark.parametrize("world", [1, 2, 3, 4, 5])
def test_shares_are_disjoint_and_cover_every_batch(world):
    for batch in range(1, 130):
        bounds = [share_bounds(batch, r, world) for r in range(world)]
        assert bounds[0][0] == 0 and bounds[-1][1] == batch
        assert all(a[1] == b[0] for a, b in itertools.pairwise(bounds))  # contiguous, no overlap
        sizes = [stop - start for start, stop in bounds]
        assert max(sizes) - min(sizes) <= 1


class _Recorder:
    """Stands in for the MLP step: records the indices a rank trains on."""

    def __init__(self):
        self.live, self.seen = [], []
        self.step = self

    def data_parallel(self, global_batch, reduce):
        self.global_batch = global_batch

    def __call__(self, idx):
        self.seen.append(idx.clone())
        return 0.0


def test_each_rank_takes_a_disjoint_share_of_the_same_permutation_covering_the_epoch():
    n, bs, world = 1000, 45, 2  # 22 steps of 45 (23 + 22), the last 10 images dropped as in one process
    perm = torch.randperm(n, generator=seed_everything(3))  # what every rank draws
    seen = []
    for rank in range(world):
        ctx = distributed.DistContext(rank, world, rank, torch.device("cpu"), "gloo", 60.0)
        rec = _Recorder()
        step = ShardedStep(rec, ctx, bs)
        assert rec.global_batch == bs
        for s in range(n // bs):
            step(perm[s * bs : (s + 1) * bs])
        seen.append(torch.cat(rec.seen))
    assert [len(s) for s in seen] == [23 * 22, 22 * 22]
    both = torch.cat(seen)
    assert len(set(both.tolist())) == len(both)  # disjoint
    assert set(both.tolist()) == set(perm[: (n // bs) * bs].tolist())  # together: the epoch


def test_without_torchrun_nothing_changes():
    assert distributed.context() is None and distributed.is_main() and distributed.local_batch(45) == 45
    assert distributed.init_from_env() is None  # WORLD_SIZE unset: no process group


def test_two_processes_match_one_and_ranks_agree(tmp_path):
    two = tmp_path / "two"
    two.mkdir()
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # as each rank does
    try:
        singles = ddp_worker.run(list(ddp_worker.RUNS))  # N=1, here
    finally:
        torch.set_num_threads(threads)
    run = subprocess.run(
        _torchrun(str(WORKER), str(two)), env=_env(), cwd=ROOT, capture_output=True, text=True, timeout=120
    )
    assert run.returncode == 0, run.stderr[-3000:]
    for name in ("mlp", "conv"):
        single = singles[name]
        rank0, rank1 = torch.load(two / f"{name}_rank0.pt"), torch.load(two / f"{name}_rank1.pt")
        diff = _max_diff(single["state"], rank0["state"])
        print(f"{name}: max |w(N=2) - w(N=1)| = {diff:.2e} after {len(single['losses'])} steps")
        assert diff < TOLERANCE
        assert _max_diff(rank0["state"], rank1["state"]) == 0.0  # every rank took the same steps
        assert rank0["losses"] == rank1["losses"]  # the global batch's loss, the same on every rank
        assert max(abs(a - b) for a, b in zip(single["losses"], rank0["losses"], strict=True)) < 1e-5
        assert rank0["events"] == single["events"] and rank1["events"] == ["DoneEvent"]  # rank 1 is silent


def test_cli_under_torchrun_trains_the_same_model_and_only_rank0_writes(tmp_path):
    out = tmp_path / "ck"
    args = ["--dataset", "mnist", "--epochs", "1", "--train-limit", "640", "--hidden-dim", "32"]
    args += ["--seed", "5"]
    run = subprocess.run(
        _torchrun("-m", "fmae", "train", *args, "--out", str(out)),
        env=_env(), cwd=tmp_path, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert run.returncode == 0, run.stderr[-3000:]
    assert run.stdout.count("saved ") == 1 and run.stdout.count('"test_bce"') == 1  # rank 0 alone
    assert [p.name for p in tmp_path.iterdir()] == ["ck"]
    assert run.stdout.count("done: train BCE") == 1  # one progress report
    info = json.loads((out / "metrics.json").read_text())
    assert len(info["history"]["step_loss"]) == 10
    from fmae.data import load_dataset
    from fmae.training import train_to_end

    config = TrainConfig(dataset="mnist", epochs=1, train_limit=640, hidden_dim=32, seed=5)
    single = train_to_end(config, load_dataset("mnist", "train"), load_dataset("mnist", "test").head(10))
    diff = _max_diff(single.model.state_dict(), load_checkpoint(out).model.state_dict())
    print(f"CLI mlp: max |w(N=2) - w(N=1)| = {diff:.2e}")
    assert diff < TOLERANCE


class _LongRun:
    """A long ``torchrun ... -m fmae train`` whose stderr is read as it comes; ``ranks`` maps rank -> pid."""

    def __init__(self, tmp_path: Path, model: str, timeout_s: str):
        args = ["--dataset", "mnist", "--model", model, "--epochs", "50", "--channels", "8"]
        self.job = subprocess.Popen(
            _torchrun("-m", "fmae", "train", *args, "--out", str(tmp_path / "never")),
            env=_env(FMAE_DIST_TIMEOUT_S=timeout_s), cwd=tmp_path, stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )  # fmt: skip
        self.err = bytearray()
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.reader.start()
        self.ranks = self._wait_until_training()

    def _read(self) -> None:
        while chunk := self.job.stderr.read1(4096):
            self.err += chunk

    def _wait_until_training(self) -> dict[int, int]:
        deadline, ranks = time.monotonic() + 90, {}
        while b"epoch 1/50" not in self.err and time.monotonic() < deadline:  # rank 0's progress bar
            time.sleep(0.05)
        assert b"epoch 1/50" in self.err, self.err.decode()[-2000:]
        for pid in children(self.job.pid):
            env = Path(f"/proc/{pid}/environ").read_bytes().split(b"\0")
            ranks.update({int(v[5:]): pid for v in env if v.startswith(b"RANK=")})
        assert sorted(ranks) == [0, 1], ranks
        return ranks

    def wait(self, timeout: float) -> str:
        try:
            self.job.wait(timeout=timeout)
        finally:
            self.job.kill()
            self.reader.join(timeout=5)
        return self.err.decode(errors="replace")


def test_a_killed_worker_ends_the_job_with_a_message(tmp_path):
    run = _LongRun(tmp_path, "conv", timeout_s="20")
    killed = time.monotonic()
    os.kill(run.ranks[1], signal.SIGKILL)
    err = run.wait(timeout=30)
    took = time.monotonic() - killed
    print(f"conv: job ended {took:.1f} s after rank 1 was killed, exit {run.job.returncode}")
    assert run.job.returncode != 0 and took < 20
    assert "FAILED" in err and "Signal 9 (SIGKILL) received by PID" in err
    assert not (tmp_path / "never").exists()


def test_a_worker_that_stops_answering_ends_the_job_after_the_timeout(tmp_path):
    run = _LongRun(tmp_path, "mlp", timeout_s="4")
    stopped = time.monotonic()
    os.kill(run.ranks[1], signal.SIGSTOP)  # alive but silent: only the process-group timeout notices
    try:
        assert gone(run.ranks[0], give_up_s=30)
        took = time.monotonic() - stopped
    finally:
        if pid_alive(run.ranks[1]):
            os.kill(run.ranks[1], signal.SIGCONT)  # let torchrun's SIGTERM reach it
    err = run.wait(timeout=60)
    print(f"stopped worker: rank 0 gave up {took:.1f} s after, job exit {run.job.returncode}, "
          f"ended {time.monotonic() - stopped:.1f} s after")  # fmt: skip
    assert 3 < took < 30 and run.job.returncode != 0
    assert "error: rank 0 of 2 lost contact with the other processes" in err
