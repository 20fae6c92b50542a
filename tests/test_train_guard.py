"""Training that goes wrong: a loss or weights that become non-finite stop the run and keep the last
good weights (fast MLP step and autograd path alike); a collapsed model is reported as such, by
train(), by the Train tab and by the command line."""

from __future__ import annotations

import json
import math

import pytest
import torch

from fmae.data import load_dataset
from fmae.models import COLLAPSED_SPREAD, load_checkpoint
from fmae.training import GOOD_EVERY, DoneEvent, EpochEvent, TrainConfig, fastmlp, initial_model, train

#: the issue's collapsing run: the top of the Train tab's learning-rate range on a small MLP
COLLAPSING = TrainConfig(
    dataset="fashion", model="mlp", lr=0.1, hidden_dim=16, batch_size=16, train_limit=1000, epochs=1, seed=0
)


@pytest.fixture(scope="module")
def fashion():
    return load_dataset("fashion", "train"), load_dataset("fashion", "test")


def run(config, data, should_stop=None) -> list:
    return list(train(config, data[0], data[1].head(500), should_stop=should_stop))


def weights_after(config, data, steps: int) -> dict[str, torch.Tensor]:
    """The weights of the same run stopped after ``steps`` steps (the reference for "kept")."""
    calls = {"n": 0}

    def stop() -> bool:
        calls["n"] += 1
        return calls["n"] > steps

    done = run(config, data, stop)[-1]
    assert done.stopped and len(done.history["step_loss"]) == steps
    return {k: v.clone() for k, v in done.model.state_dict().items()}


def same(model: torch.nn.Module, state: dict[str, torch.Tensor]) -> bool:
    return all(torch.equal(v, state[k]) for k, v in model.state_dict().items())


def poison_fast_step(monkeypatch, at_step: int, value: float) -> None:
    """Make the fast MLP step write ``value`` into a weight after its ``at_step``-th update."""
    adam = fastmlp.MLPTrainStep._adam

    def poisoned(self):
        adam(self)
        if self.steps == at_step:
            self.params[len(self.params) // 2] = value

    monkeypatch.setattr(fastmlp.MLPTrainStep, "_adam", poisoned)


MLP = TrainConfig(epochs=1, train_limit=64 * 150, hidden_dim=16, latent_dim=4, seed=2)
CONV = TrainConfig(
    model="conv", epochs=1, train_limit=32 * 130, batch_size=32, hidden_dim=16, latent_dim=4, channels=2
)


@pytest.mark.parametrize("value", [math.nan, math.inf])
def test_fast_mlp_weights_that_become_non_finite_stop_the_run(fashion, monkeypatch, value):
    assert GOOD_EVERY == 50
    kept = weights_after(MLP, fashion, 100)
    poison_fast_step(monkeypatch, at_step=120, value=value)
    events = run(MLP, fashion)
    done = events[-1]
    assert isinstance(done, DoneEvent) and done.diverged and not done.stopped
    assert "epoch 1, step 121" in done.diverged and "not finite" in done.diverged
    assert done.kept_step == 100 and same(done.model, kept)  # the last weights checked finite
    assert len(done.history["step_loss"]) == 120 and all(map(math.isfinite, done.history["step_loss"]))
    assert not any(isinstance(e, EpochEvent) for e in events) and not done.model.training


def test_autograd_weights_that_become_non_finite_stop_the_run(fashion):
    kept = weights_after(CONV, fashion, 100)
    model = initial_model(CONV)  # what train() would build itself
    calls = {"n": 0}

    def poison() -> bool:  # polled before each step: the model's parameters are live on this path
        calls["n"] += 1
        if calls["n"] == 111:
            with torch.no_grad():
                next(iter(model.parameters())).view(-1)[3] = math.nan
        return False

    done = list(train(CONV, fashion[0], fashion[1].head(500), poison, model=model))[-1]
    assert "epoch 1, step 111" in done.diverged and done.kept_step == 100 and same(done.model, kept)
    assert all(torch.isfinite(p).all() for p in done.model.parameters())


def test_a_loss_that_overflows_with_finite_weights_stops_the_run(fashion, monkeypatch):
    """Weights of 1e38 are finite numbers, but the loss they give is not."""
    kept = weights_after(MLP, fashion, 50)
    adam = fastmlp.MLPTrainStep._adam

    def huge(self):
        adam(self)
        if self.steps == 60:
            self.bias[-1].fill_(1e38)

    monkeypatch.setattr(fastmlp.MLPTrainStep, "_adam", huge)
    done = run(MLP, fashion)[-1]
    assert "loss" in done.diverged and "step 61" in done.diverged
    assert done.kept_step == 50 and same(done.model, kept)


def test_weights_broken_by_the_last_step_are_caught_at_the_epoch_end(fashion, monkeypatch):
    steps = MLP.train_limit // MLP.batch_size
    kept = weights_after(MLP, fashion, 100)  # the last check before the epoch's end
    poison_fast_step(monkeypatch, at_step=steps, value=math.nan)
    done = run(MLP, fashion)[-1]
    assert "after epoch 1" in done.diverged and done.kept_step == 100 and same(done.model, kept)


def test_a_healthy_run_is_not_flagged(fashion):
    events = run(MLP, fashion)
    done, epoch = events[-1], [e for e in events if isinstance(e, EpochEvent)][-1]
    assert done.diverged == "" and done.kept_step == len(done.history["step_loss"]) == 150
    assert epoch.code_spread > 0.1 and "collapsed" not in epoch.log_line()


def test_the_issues_collapsing_run_is_reported_as_collapsed(fashion):
    events = list(train(COLLAPSING, *fashion))
    epoch = [e for e in events if isinstance(e, EpochEvent)][-1]
    assert epoch.code_spread is not None and epoch.code_spread < COLLAPSED_SPREAD
    assert "collapsed" in epoch.log_line()
    assert events[-1].diverged == ""  # collapsed is not diverged: the numbers are finite


class _Request:
    def __init__(self, session_hash: str):
        self.session_hash = session_hash


def tab_frames(tmp_path, config, name: str) -> tuple[list[tuple], object]:
    from ui import train_tab
    from ui.state import AppState

    app = AppState(checkpoints=tmp_path / "none", session_root=tmp_path / "sessions")
    frames = list(train_tab.stream_training(app, _Request(name), config, config.train_limit))
    return frames, app.session(_Request(name))


def test_the_train_tab_says_the_model_collapsed(tmp_path):
    frames, session = tab_frames(tmp_path, COLLAPSING, "collapsed")
    status = frames[-1][0]
    assert "collapsed" in status and "Training done." not in status
    entry = session.get_model(session.current)
    assert entry.checkpoint.info["collapsed"] is True
    assert entry.checkpoint.info["code_spread"] < COLLAPSED_SPREAD


def test_the_train_tab_keeps_the_last_good_model_when_the_loss_goes_nan(tmp_path, monkeypatch):
    config = TrainConfig(epochs=1, train_limit=64 * 150, hidden_dim=16, latent_dim=4, seed=2, log_every=1)
    poison_fast_step(monkeypatch, at_step=120, value=math.nan)
    frames, session = tab_frames(tmp_path, config, "nan")
    status, log = frames[-1][0], frames[-1][1]
    assert "Training stopped" in status and "not finite" in status and "step 100" in status
    assert "nan" not in log.lower().replace("nan or", "")  # no number shown is NaN
    entry = session.get_model(session.current)
    info = entry.checkpoint.info
    assert info["kept_step"] == 100 and "not finite" in info["diverged"]
    assert all(math.isfinite(v) for v in info["metrics"].values())
    assert entry.assets is not None and all(math.isfinite(v) for v in entry.assets.test_errors)


def test_a_run_that_diverges_before_any_check_keeps_no_model(tmp_path, monkeypatch, capsys):
    from fmae.__main__ import main

    config = TrainConfig(epochs=1, train_limit=64 * 150, hidden_dim=16, latent_dim=4, seed=2, log_every=1)
    poison_fast_step(monkeypatch, at_step=10, value=math.nan)
    frames, session = tab_frames(tmp_path, config, "early")
    assert "step 11" in frames[-1][0] and "no model was kept" in frames[-1][0]
    assert session.model_names() == []
    args = ["train", "--epochs", "1", "--train-limit", str(64 * 150), "--hidden-dim", "16", "--seed", "2"]
    assert main([*args, "--latent-dim", "4", "--out", str(tmp_path / "ck")]) == 1
    assert "no model was kept" in capsys.readouterr().err and not (tmp_path / "ck").exists()


def test_the_cli_saves_the_last_good_model_and_says_why(tmp_path, monkeypatch, capsys):
    from fmae.__main__ import main

    poison_fast_step(monkeypatch, at_step=120, value=math.nan)
    out = tmp_path / "ck"
    args = ["train", "--epochs", "1", "--train-limit", str(64 * 150), "--hidden-dim", "16", "--seed", "2"]
    assert main([*args, "--latent-dim", "4", "--out", str(out)]) == 1
    err = capsys.readouterr().err
    assert "not finite" in err and "step 100" in err
    info = json.loads((out / "metrics.json").read_text())
    assert info["kept_step"] == 100 and load_checkpoint(out).model.latent_dim == 4


def test_the_cli_warns_about_a_collapsed_model(tmp_path, capsys):
    from fmae.__main__ import main

    c = COLLAPSING
    args = ["train", "--lr", str(c.lr), "--hidden-dim", str(c.hidden_dim), "--batch-size", str(c.batch_size)]
    args += ["--train-limit", str(c.train_limit), "--epochs", "1", "--seed", "0"]
    args += ["--out", str(tmp_path / "ck")]
    assert main(args) == 0
    assert "collapsed" in capsys.readouterr().err
    info = json.loads((tmp_path / "ck" / "metrics.json").read_text())
    assert info["collapsed"] is True and info["code_spread"] < COLLAPSED_SPREAD
