"""The trainer on real Fashion-MNIST, its events and stop, and evaluate() against independent maths."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from fmae.data import load_dataset
from fmae.models import MLPAutoEncoder
from fmae.training import (
    DoneEvent,
    EpochEvent,
    StepEvent,
    TrainConfig,
    encode_images,
    evaluate,
    image_losses,
    initial_model,
    train,
    train_to_end,
)


@pytest.fixture(scope="module")
def fashion():
    return load_dataset("fashion", "train"), load_dataset("fashion", "test")


def test_short_real_run_beats_the_untrained_model(fashion):
    train_ds, test_ds = fashion
    config = TrainConfig(epochs=2, train_limit=6400, seed=1, log_every=20)
    untrained = MLPAutoEncoder(hidden_dim=128, latent_dim=10)
    bce0, mse0 = image_losses(untrained, test_ds.images[:2000])
    events = list(train(config, train_ds, test_ds.head(2000)))
    steps = [e for e in events if isinstance(e, StepEvent)]
    epochs = [e for e in events if isinstance(e, EpochEvent)]
    done = events[-1]
    assert isinstance(done, DoneEvent) and not done.stopped
    assert [e.step for e in steps[:5]] == [20, 40, 60, 80, 100] and steps[0].steps == 100
    assert [e.epoch for e in epochs] == [1, 2] and len(done.history["step_loss"]) == 200
    assert steps[0].log_line().startswith("Epoch [1/2], Step [20/100], Loss: ")
    assert bce0 > 0.69 and epochs[-1].test_bce < 0.40 and epochs[-1].test_mse < 0.5 * mse0
    assert epochs[-1].test_bce < epochs[0].test_bce
    assert all(e.samples_per_s > 0 for e in steps)


def test_same_seed_same_model(fashion):
    train_ds, test_ds = fashion
    config = TrainConfig(epochs=1, train_limit=640, seed=3, hidden_dim=16)
    a = train_to_end(config, train_ds, test_ds.head(100)).model
    b = train_to_end(config, train_ds, test_ds.head(100)).model
    # the Train tab seeds, builds the model itself (to score it untrained), then passes it in
    given = initial_model(config)
    c = list(train(config, train_ds, test_ds.head(100), model=given))[-1].model  # the DoneEvent's
    for (ka, va), (_, vb), (_, vc) in zip(
        a.state_dict().items(), b.state_dict().items(), c.state_dict().items(), strict=True
    ):
        assert torch.equal(va, vb) and torch.equal(va, vc), ka


def test_stop_ends_the_run_between_steps(fashion):
    train_ds, test_ds = fashion
    calls = {"n": 0}

    def should_stop() -> bool:
        calls["n"] += 1
        return calls["n"] > 7

    events = list(train(TrainConfig(epochs=3, train_limit=6400), train_ds, test_ds.head(100), should_stop))
    done = events[-1]
    assert isinstance(done, DoneEvent) and done.stopped
    assert len(done.history["step_loss"]) == 7
    assert not any(isinstance(e, EpochEvent) for e in events)


BAD_CONFIGS = [
    {"epochs": 0}, {"epochs": 1000}, {"batch_size": 0}, {"lr": 0}, {"hidden_dim": 10**6},
    {"dataset": "x"}, {"epochs": True}, {"epochs": 1.5}, {"batch_size": "64"}, {"lr": True},
    {"lr": float("nan")}, {"lr": float("inf")}, {"train_limit": 100.0}, {"seed": None}, {"dataset": 3},
]  # fmt: skip


@pytest.mark.parametrize("kwargs", BAD_CONFIGS)
def test_bad_configs_are_refused(kwargs):
    with pytest.raises(ValueError):
        TrainConfig(**kwargs).validate()


def test_evaluate_matches_independent_computations(fashion):
    train_ds, test_ds = fashion
    train_small, test_small = train_ds.head(3000), test_ds.head(500)
    model = train_to_end(
        TrainConfig(epochs=1, train_limit=3000, hidden_dim=32), train_small, test_small
    ).model
    got = evaluate(model, train_small, test_small)

    x = test_small.floats()
    with torch.no_grad():
        y = model(x).clamp(1e-7, 1 - 1e-7)  # the tutorial's BCELoss on sigmoid outputs
    assert got["test_bce"] == pytest.approx(float(torch.nn.BCELoss()(y, x)), rel=1e-3)
    assert got["test_mse"] == pytest.approx(float(((y - x) ** 2).mean()), rel=1e-3)

    a = train_small.floats().reshape(3000, -1).double().numpy()
    b = x.reshape(500, -1).double().numpy()
    mean = a.mean(0)
    basis = np.linalg.svd(a - mean, full_matrices=False)[2][:10]
    pca_recon = (b - mean) @ basis.T @ basis + mean
    assert got["pca_mse"] == pytest.approx(float(((pca_recon - b) ** 2).mean()), rel=0.02)

    ca, cb = encode_images(model, train_small.images), encode_images(model, test_small.images)
    dist = ((cb[:, None, :] - ca[None, :, :]) ** 2).sum(-1)
    nearest = np.argsort(dist, axis=1, kind="stable")[:, :5]
    votes = train_small.labels.numpy()[nearest]
    pred = np.array([np.bincount(v, minlength=10).argmax() for v in votes])
    assert got["knn_acc"] == pytest.approx(float((pred == test_small.labels.numpy()).mean()), abs=0.01)
    assert 0.3 < got["knn_acc"] <= 1.0
