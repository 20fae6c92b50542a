"""The command line end to end on a tiny budget, and the import boundary."""

from __future__ import annotations

import json
import subprocess
import sys

from fmae.__main__ import main
from fmae.checkpoint import load_checkpoint


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
    code = (
        "import sys, fmae, fmae.data, fmae.models, fmae.train, fmae.metrics, fmae.checkpoint, fmae.hub\n"
        "import fmae.sketch, fmae.upload\n"
        "import fmae.__main__\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] in ('gradio', 'gradio_client')))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"
