"""The command line end to end on a tiny budget, and the import boundary."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from fmae.__main__ import main
from fmae.models import load_checkpoint

ROOT = Path(__file__).resolve().parents[1]


def test_train_then_evaluate_end_to_end(tmp_path, capsys):
    out = tmp_path / "tiny"
    status = main(
        [
            "train",
            "--epochs",
            "1",
            "--train-limit",
            "1280",
            "--hidden-dim",
            "32",
            "--seed",
            "5",
            "--out",
            str(out),
        ]
    )
    assert status == 0
    printed = capsys.readouterr().out
    assert f"saved {out}" in printed
    ckpt = load_checkpoint(out)
    info = json.loads((out / "metrics.json").read_text())
    assert info["train_config"]["train_limit"] == 1280 and info["seed"] == 5 and info["dataset"] == "fashion"
    assert len(info["history"]["step_loss"]) == 20 and ckpt.config["hidden_dim"] == 32
    assert 0 < info["metrics"]["test_mse"] < 0.2 and 0 < info["metrics"]["knn_acc"] <= 1

    assert main(["evaluate", str(out)]) == 0
    table = capsys.readouterr().out
    row = next(line for line in table.splitlines() if line.startswith("test_mse"))
    measured, stored = (float(v) for v in row.split()[1:])
    assert measured == stored  # same model, same data, same maths


def test_user_errors_exit_2_with_one_line(tmp_path, capsys):
    assert main(["evaluate", str(tmp_path / "missing")]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: checkpoint folder") and "Traceback" not in err
    assert main(["train", "--epochs", "0"]) == 2
    assert "epochs must be" in capsys.readouterr().err


def test_help_lists_commands():
    out = subprocess.run(
        [sys.executable, "-m", "fmae", "--help"], capture_output=True, text=True, check=True
    ).stdout
    for word in ("train", "evaluate", "push", "pull"):
        assert word in out


def test_import_fmae_imports_no_gradio():
    code = (  # every module of the package, __main__ included
        "import importlib, pkgutil, sys, fmae\n"
        "names = [m.name for m in pkgutil.walk_packages(fmae.__path__, 'fmae.')]\n"
        "for name in names: importlib.import_module(name)\n"
        "print(len(names), sorted(m for m in sys.modules if m.split('.')[0] in ('gradio', 'gradio_client')))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    count, gradio_modules = out.strip().split(" ", 1)
    # every file but fmae/__init__.py (a subpackage's __init__.py is the subpackage itself)
    assert int(count) == len(list((ROOT / "fmae").rglob("*.py"))) - 1
    assert gradio_modules == "[]"
