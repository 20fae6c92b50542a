"""Each shipped checkpoint loads and reproduces its metrics.json on the real test set."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from fmae.data import load_dataset
from fmae.latent import encode, nearest_image_mse, sample
from fmae.models import load_checkpoint
from fmae.training import denoising_mse, evaluate

ROOT = Path(__file__).resolve().parent.parent / "checkpoints"
SHIPPED = [
    "fashion-mlp", "fashion-conv", "mnist-conv", "fashion-dae", "fashion-ae-2d", "fashion-vae-2d",
    "fashion-vae", "mnist-vae-2d",
]  # fmt: skip
#: the shipped fashion-conv's targets at latent 10, issue 18's: test MSE <= 0.0108 and kNN(5) >= 0.85
#: (the fast design's 13-epoch recipe at Adam 8e-3: 0.01070 and 0.8597; the first design's 25 epochs
#: gave 0.01077 and 0.8576)
FASHION_CONV_MAX_MSE, FASHION_CONV_MIN_KNN = 0.0108, 0.85
#: the 2-D pair's targets, issue 14's (from the Parametric UMAP paper's conv networks): test MSE <= 0.0244
#: for the AE (45 epochs: 0.02361), <= 0.0253 for the VAE (30 epochs: 0.02455), kNN(5) >= 0.73 on the
#: AE's codes (0.7387)
AE_2D_MAX_MSE, VAE_2D_MAX_MSE, AE_2D_MIN_KNN = 0.0244, 0.0253, 0.73


@pytest.mark.parametrize("name", SHIPPED)
def test_shipped_checkpoint_reproduces_its_metrics(name):
    ckpt = load_checkpoint(ROOT / name)
    stored = ckpt.metrics
    vae = {"test_kl", "test_elbo"} if "beta" in ckpt.config else set()
    assert set(stored) == {"test_bce", "test_mse", "pca_mse", "knn_acc", *vae}
    measured = evaluate(ckpt.model, load_dataset(ckpt.dataset, "train"), load_dataset(ckpt.dataset, "test"))
    for key, value in measured.items():
        assert value == pytest.approx(stored[key], rel=1e-3, abs=1e-4), key
    card = (ROOT / name / "README.md").read_text()
    assert ckpt.dataset in card and "seed" in card.lower()


def test_fashion_conv_meets_its_targets():
    stored = load_checkpoint(ROOT / "fashion-conv").metrics
    assert stored["test_mse"] <= FASHION_CONV_MAX_MSE
    assert stored["knn_acc"] >= FASHION_CONV_MIN_KNN
    assert stored["test_mse"] < load_checkpoint(ROOT / "fashion-mlp").metrics["test_mse"] < stored["pca_mse"]


def test_fashion_dae_removes_noise_a_quarter_better_than_the_plain_conv():
    """Issue 15's target, re-measured: with Gaussian noise 0.3 on the test images, the denoising
    model's MSE to the clean images is at least 25% below the plain conv AE's on the same images."""
    test = load_dataset("fashion", "test")
    dae, plain = load_checkpoint(ROOT / "fashion-dae"), load_checkpoint(ROOT / "fashion-conv")
    assert dae.info["train_config"]["noise"] == "gaussian:0.3" and dae.config == plain.config
    dae_mse, noisy = denoising_mse(dae.model, test.images, "gaussian:0.3", seed=0)
    plain_mse, _ = denoising_mse(plain.model, test.images, "gaussian:0.3", seed=0)
    assert dae_mse <= 0.75 * plain_mse and dae_mse < noisy
    stored = dae.info["denoising"]
    assert stored["mse_to_clean"] == pytest.approx(dae_mse, rel=1e-3)
    assert stored["baseline_mse_to_clean"] == pytest.approx(plain_mse, rel=1e-3)
    assert f"**{dae_mse:.5f}**" in (ROOT / "fashion-dae" / "README.md").read_text()


def test_the_2d_pair_meets_its_bounds():
    ae, vae = load_checkpoint(ROOT / "fashion-ae-2d"), load_checkpoint(ROOT / "fashion-vae-2d")
    assert ae.config["latent_dim"] == vae.config["latent_dim"] == 2 and vae.config["beta"] == 1.0
    assert ae.metrics["test_mse"] <= AE_2D_MAX_MSE and vae.metrics["test_mse"] <= VAE_2D_MAX_MSE
    assert ae.metrics["knn_acc"] >= AE_2D_MIN_KNN


@pytest.mark.parametrize(
    ("plain", "variational"), [("fashion-ae-2d", "fashion-vae-2d"), ("fashion-conv", "fashion-vae")]
)
def test_the_holes_lesson(plain, variational):
    """Re-measured: 256 samples (seed 0) of the VAE from N(0, I) land nearer to real test images than
    256 of the same-sized AE from the Gaussian fitted to its test codes; both cards state both numbers."""
    ae, vae = load_checkpoint(ROOT / plain), load_checkpoint(ROOT / variational)
    assert ae.config["latent_dim"] == vae.config["latent_dim"] and "beta" not in ae.config
    test = load_dataset("fashion", "test")
    found = {}
    for name, ckpt in (("ae", ae), ("vae", vae)):
        drawn = sample(ckpt.model, 256, torch.Generator().manual_seed(0), encode(ckpt.model, test.images))
        found[name] = nearest_image_mse(drawn.images, test.images)
        assert ckpt.info["sampling"]["nearest_test_mse"] == pytest.approx(found[name], rel=1e-4)
    assert found["vae"] < found["ae"]
    for folder in (plain, variational):
        card = (ROOT / folder / "README.md").read_text()
        assert f"{found['vae']:.5f}" in card and f"{found['ae']:.5f}" in card


@pytest.mark.parametrize(
    "name", ["fashion-conv", "mnist-conv", "fashion-dae", "fashion-ae-2d", "fashion-vae-2d", "fashion-vae"]
)
def test_conv_checkpoints_are_the_fast_design_and_say_how_long_they_trained(name):
    ckpt = load_checkpoint(ROOT / name)
    assert ckpt.config["arch"] == 2 and ckpt.config["channels"] == 16
    assert ckpt.info["train_config"]["schedule"] == "onecycle"
    seconds = ckpt.info["train_seconds"]
    assert seconds > 0
    assert f"({seconds:.0f} s of wall time" in (ROOT / name / "README.md").read_text()


def test_shipped_mlp_is_the_tutorials_configuration():
    ckpt = load_checkpoint(ROOT / "fashion-mlp")
    assert ckpt.config == {"model_type": "mlp", "input_dim": 784, "hidden_dim": 128, "latent_dim": 10}
    tc = ckpt.info["train_config"]
    assert (tc["epochs"], tc["batch_size"], tc["lr"], tc["seed"]) == (5, 64, 0.001, 0)


def test_fashion_conv_was_trained_by_the_readme_command_the_benchmark_times():
    """Issue 18 times "the README's command that trains the shipped fashion-conv": the command in the
    README, the benchmark's ``RECIPE`` and the checkpoint's own training config must be one recipe."""
    import importlib.util
    import shlex

    spec = importlib.util.spec_from_file_location("conv_speed", ROOT.parent / "benchmarks" / "conv_speed.py")
    bench = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(bench)
    line = next(
        line for line in (ROOT.parent / "README.md").read_text().splitlines()
        if line.startswith("python -m fmae train") and line.endswith("--out checkpoints/fashion-conv")
    )  # fmt: skip
    words = shlex.split(line)[4:-2]  # the flags after "python -m fmae train", before --out
    flags = {words[i][2:].replace("-", "_"): words[i + 1] for i in range(0, len(words), 2)}
    trained = load_checkpoint(ROOT / "fashion-conv").info["train_config"]
    assert set(flags) == set(bench.RECIPE)
    for key, value in bench.RECIPE.items():
        assert type(value)(flags[key]) == value == trained[key], key
