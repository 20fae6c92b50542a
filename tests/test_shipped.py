"""Each shipped checkpoint loads and reproduces its metrics.json on the real test set."""

from __future__ import annotations

from pathlib import Path

import pytest

from fmae.data import load_dataset
from fmae.models import load_checkpoint
from fmae.training import evaluate

ROOT = Path(__file__).resolve().parent.parent / "checkpoints"
SHIPPED = ["fashion-mlp", "fashion-conv", "mnist-conv"]


@pytest.mark.parametrize("name", SHIPPED)
def test_shipped_checkpoint_reproduces_its_metrics(name):
    ckpt = load_checkpoint(ROOT / name)
    stored = ckpt.metrics
    assert set(stored) == {"test_bce", "test_mse", "pca_mse", "knn_acc"}
    measured = evaluate(ckpt.model, load_dataset(ckpt.dataset, "train"), load_dataset(ckpt.dataset, "test"))
    for key, value in measured.items():
        assert value == pytest.approx(stored[key], rel=1e-3, abs=1e-4), key
    card = (ROOT / name / "README.md").read_text()
    assert ckpt.dataset in card and "seed" in card.lower()


def test_fashion_conv_meets_its_targets():
    stored = load_checkpoint(ROOT / "fashion-conv").metrics
    assert stored["test_mse"] <= 0.011
    assert stored["knn_acc"] >= 0.85
    assert stored["test_mse"] < load_checkpoint(ROOT / "fashion-mlp").metrics["test_mse"] < stored["pca_mse"]


def test_shipped_mlp_is_the_tutorials_configuration():
    ckpt = load_checkpoint(ROOT / "fashion-mlp")
    assert ckpt.config == {"model_type": "mlp", "input_dim": 784, "hidden_dim": 128, "latent_dim": 10}
    tc = ckpt.info["train_config"]
    assert (tc["epochs"], tc["batch_size"], tc["lr"], tc["seed"]) == (5, 64, 0.001, 0)
