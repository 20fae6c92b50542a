"""Atomic checkpoint saves: a kill mid-save or two concurrent savers never leave a broken folder."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import torch

from fmae.models import load_checkpoint

# Each save i writes weights all equal to i, a hidden size that alternates with i, and
# metrics.json {"i": i}: a folder mixing two saves would fail to load or disagree with itself.
SAVER = textwrap.dedent(
    """
    import sys, torch
    from fmae.models import save_checkpoint
    from fmae.models import MLPAutoEncoder
    folder, start, step, count = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
    for n in range(count):
        i = start + n * step
        model = MLPAutoEncoder(hidden_dim=64 + 64 * (i % 2), latent_dim=4)
        with torch.no_grad():
            for p in model.parameters():
                p.fill_(float(i))
        save_checkpoint(model, folder, {"i": i})
        print(i, flush=True)
    """
)


def _consistent(folder: Path) -> int:
    ckpt = load_checkpoint(folder)
    i = ckpt.info["i"]
    assert ckpt.config["hidden_dim"] == 64 + 64 * (i % 2)
    assert all(torch.all(p == float(i)) for p in ckpt.model.parameters())
    return i


def _saver(folder: Path, start: int, step: int, count: int) -> subprocess.Popen:
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parent.parent)}
    return subprocess.Popen(
        [sys.executable, "-c", SAVER, str(folder), str(start), str(step), str(count)],
        stdout=subprocess.PIPE, text=True, env=env,
    )  # fmt: skip


def test_kill_during_save_leaves_a_loadable_checkpoint(tmp_path):
    folder = tmp_path / "ck"
    seen = []
    for round_ in range(4):
        proc = _saver(folder, start=100 * round_, step=1, count=10_000)
        assert proc.stdout is not None
        proc.stdout.readline()  # at least one save of this round has completed
        time.sleep(0.05 + 0.07 * round_)  # land the kill at different moments of a save
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        seen.append(_consistent(folder))
    assert len(set(seen)) == 4  # each round's last complete save is what we load


def test_two_concurrent_savers_never_mix_files(tmp_path):
    folder = tmp_path / "ck"
    procs = [_saver(folder, start=0, step=2, count=25), _saver(folder, start=1, step=2, count=25)]
    for proc in procs:
        out, _ = proc.communicate(timeout=300)
        assert proc.returncode == 0 and len(out.split()) == 25
    assert _consistent(folder) in (48, 49)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["ck"]  # no temporary folders left
