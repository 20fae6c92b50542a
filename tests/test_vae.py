"""Variational autoencoders: the loss terms against an independent computation, the API every model
shares (``encode`` is the posterior mean), sampling, checkpoints, config bounds, and real training."""

from __future__ import annotations

import functools
import json
import math
from collections.abc import Callable

import pytest
import torch
from torch.distributions import Normal, kl_divergence

from fmae.data import load_dataset
from fmae.models import (
    LOGVAR_RANGE,
    MLPVAE,
    ConvAutoEncoder,
    ConvVAE,
    build_model,
    gaussian_kl,
    load_checkpoint,
    model_config,
    render_card,
    save_checkpoint,
    validate_config,
)
from fmae.training import EpochEvent, TrainConfig, fastmlp, train

SMALL = {
    "conv-vae": {"latent_dim": 3, "channels": 4, "hidden_dim": 16, "beta": 2.5},
    "mlp-vae": {"latent_dim": 3, "hidden_dim": 16, "beta": 2.5},
}
NAMES = sorted(SMALL)


def small(name: str, seed: int = 0):
    torch.manual_seed(seed)
    return build_model(name, **SMALL[name])


def images(n: int = 6, seed: int = 1) -> torch.Tensor:
    return torch.rand(n, 1, 28, 28, generator=torch.Generator().manual_seed(seed))  # (B, 1, 28, 28)


# ---------------------------------------------------------------- the loss


def test_gaussian_kl_matches_torch_distributions():
    g = torch.Generator().manual_seed(0)
    mu, logvar = torch.randn(5, 4, generator=g) * 2, torch.randn(5, 4, generator=g) * 3
    q = Normal(mu, torch.exp(0.5 * logvar))
    expected = kl_divergence(q, Normal(torch.zeros_like(mu), torch.ones_like(mu))).sum(dim=1)
    assert torch.allclose(gaussian_kl(mu, logvar), expected, rtol=1e-5, atol=1e-5)
    # the prior itself is at distance 0; a unit shift of the mean in one dimension costs 1/2 nat
    zeros = torch.zeros(2, 3)
    assert torch.equal(gaussian_kl(zeros, zeros), torch.zeros(2))
    assert gaussian_kl(torch.tensor([[1.0, 0.0, 0.0]]), torch.zeros(1, 3)).item() == pytest.approx(0.5)


@pytest.mark.parametrize("name", NAMES)
def test_loss_terms_match_an_independent_computation(name):
    model = small(name)
    x, target = images(seed=1), images(seed=2)
    eps = torch.randn(6, 3, generator=torch.Generator().manual_seed(3))
    with torch.no_grad():
        terms = model.loss_terms(x, target, eps=eps)
        mu, logvar = model.posterior(x)
        q = Normal(mu, torch.exp(0.5 * logvar))
        kl = kl_divergence(q, Normal(torch.zeros_like(mu), torch.ones_like(mu))).sum(dim=1).mean()
        p = torch.sigmoid(model.decode_logits(mu + q.stddev * eps)).double()  # (B, 1, 28, 28)
        t = target.double()
        bce = -(t * torch.log(p) + (1 - t) * torch.log1p(-p)).mean()
    assert set(terms) == {"loss", "bce", "kl"}
    assert terms["bce"].item() == pytest.approx(bce.item(), rel=1e-5)
    assert terms["kl"].item() == pytest.approx(kl.item(), rel=1e-5)
    assert terms["loss"].item() == pytest.approx(bce.item() + 2.5 * kl.item() / 784, rel=1e-5)
    assert kl.item() > 0  # an untrained posterior is not the prior: the KL term is really there


@pytest.mark.parametrize("name", NAMES)
def test_loss_terms_draw_eps_from_the_global_rng(name):
    model = small(name)
    x = images()
    with torch.no_grad():
        torch.manual_seed(7)
        drawn = model.loss_terms(x, x)
        torch.manual_seed(7)
        eps = torch.randn(6, 3)
        given = model.loss_terms(x, x, eps=eps)
        other = model.loss_terms(x, x)  # the RNG has moved on: another sample, another BCE
    assert all(torch.equal(drawn[k], given[k]) for k in drawn)
    assert other["bce"] != drawn["bce"] and torch.equal(other["kl"], drawn["kl"])


def test_the_loss_trains_both_halves_of_the_encoder():
    model = small("conv-vae")
    x = images()
    model.loss_terms(x, x)["loss"].backward()
    last = model.encoder[-1].weight.grad  # (2 * latent, hidden): mean rows, then log-variance rows
    assert last.shape == (6, 16) and last[:3].abs().sum() > 0 and last[3:].abs().sum() > 0


def test_the_log_variance_is_clamped():
    model = small("mlp-vae")
    with torch.no_grad():
        model.encoder[-1].bias[3:] = torch.tensor([1e4, -1e4, 0.0])  # log-variance rows
        model.encoder[-1].weight.zero_()
        _mu, logvar = model.posterior(images())
        terms = model.loss_terms(images(), images())
    assert logvar[0].tolist() == [LOGVAR_RANGE[1], LOGVAR_RANGE[0], 0.0]
    assert all(math.isfinite(v.item()) for v in terms.values())  # exp(1e4) would be infinite


# ---------------------------------------------------------------- the shared API


@pytest.mark.parametrize("name", NAMES)
def test_encode_is_the_posterior_mean_and_decode_samples_have_image_shapes(name):
    model = small(name).eval()
    x = images(5)
    with torch.no_grad():
        mu, logvar = model.posterior(x)
        z = model.encode(x)
        y = model(x)
    assert mu.shape == logvar.shape == (5, 3)
    assert torch.equal(z, mu) and torch.equal(model.encode(x), z)  # deterministic
    assert y.shape == (5, 1, 28, 28) and y.min() >= 0 and y.max() <= 1
    assert torch.allclose(y, model.decode(mu))


@pytest.mark.parametrize("name", NAMES)
def test_sample_is_deterministic_with_a_seeded_generator(name):
    model = small(name)
    a = model.sample(4, torch.Generator().manual_seed(5))
    b = model.sample(4, torch.Generator().manual_seed(5))
    c = model.sample(4, torch.Generator().manual_seed(6))
    assert a.shape == (4, 1, 28, 28) and a.min() >= 0 and a.max() <= 1
    assert torch.equal(a, b) and not torch.equal(a, c)
    z = torch.randn(4, 3, generator=torch.Generator().manual_seed(5))
    assert torch.allclose(a, model.decode(z).detach())  # decoded prior draws
    assert model.sample(0).shape == (0, 1, 28, 28)
    for bad in (-1, 2.0, True):
        with pytest.raises(ValueError, match="non-negative integer"):
            model.sample(bad)


def test_the_mlp_vae_takes_flat_inputs_like_the_mlp():
    model = small("mlp-vae")
    flat = images(3).reshape(3, 784)
    assert model(flat).shape == (3, 784)
    assert torch.equal(model.encode(flat), model.encode(flat.reshape(3, 1, 28, 28)))


def test_vaes_keep_the_conv_layers_and_never_take_the_fast_mlp_step():
    vae = ConvVAE(latent_dim=3, channels=4, hidden_dim=16)
    conv = ConvAutoEncoder(latent_dim=3, channels=4, hidden_dim=16, arch=2)
    shapes = {k: v.shape for k, v in conv.state_dict().items()}
    vae_shapes = {k: v.shape for k, v in vae.state_dict().items()}
    last = "encoder.10"  # the encoder's last Linear: 2 * latent outputs
    assert vae_shapes.keys() == shapes.keys()
    assert {k for k in shapes if vae_shapes[k] != shapes[k]} == {f"{last}.weight", f"{last}.bias"}
    assert vae_shapes[f"{last}.weight"] == (6, 16)
    assert not fastmlp.supports(MLPVAE(hidden_dim=8, latent_dim=2), torch.device("cpu"))
    with pytest.raises(ValueError, match="arch 2 only"):
        ConvVAE(arch=1)


# ---------------------------------------------------------------- checkpoints and config


@pytest.mark.parametrize("name", NAMES)
def test_checkpoint_round_trip(tmp_path, name):
    model = small(name)
    folder = save_checkpoint(model, tmp_path / "ck", {"dataset": "fashion"})
    config = json.loads((folder / "config.json").read_text())
    assert config == {"model_type": name, **model_config(model)} and config["beta"] == 2.5
    ckpt = load_checkpoint(folder)
    assert type(ckpt.model) is type(model) and ckpt.model.beta == 2.5 and ckpt.config == config
    x = images()
    assert torch.equal(ckpt.model.encode(x), model.encode(x))
    g = torch.Generator().manual_seed(0)
    assert torch.equal(ckpt.model.sample(2, g), model.sample(2, torch.Generator().manual_seed(0)))
    card = (folder / "README.md").read_text()
    assert "variational autoencoder" in card and "beta = 2.5" in card and "- vae" in card


def test_a_plain_model_card_does_not_call_itself_a_vae():
    card = render_card({"model_type": "conv", "latent_dim": 4}, {})
    assert "variational" not in card and "- vae" not in card and "sample(" not in card


@pytest.mark.parametrize(
    "beta", [0, -1, 0.0, math.nan, math.inf, True, False, 101, 100.5, "1", None, 10**400]
)
@pytest.mark.parametrize("name", NAMES)
def test_beta_out_of_bounds_is_refused(name, beta):
    with pytest.raises(ValueError, match=r"beta must be a number in \(0, 100\]"):
        validate_config({"model_type": name, "beta": beta})


@pytest.mark.parametrize("beta, expected", [(1, 1.0), (100, 100.0), (0.01, 0.01), (2.5, 2.5)])
def test_beta_in_bounds_becomes_a_float(beta, expected):
    _name, kwargs = validate_config({"model_type": "mlp-vae", "beta": beta})
    assert kwargs == {"beta": expected} and type(kwargs["beta"]) is float
    assert build_model("conv-vae", beta=beta).beta == expected


def test_other_keys_stay_integers_and_plain_models_take_no_beta():
    with pytest.raises(ValueError, match=r"latent_dim must be an integer in \[1, 256\], not 2.0"):
        validate_config({"model_type": "conv-vae", "latent_dim": 2.0})
    with pytest.raises(ValueError, match=r"arch must be an integer in \[2, 2\]"):
        validate_config({"model_type": "conv-vae", "arch": 1})
    with pytest.raises(ValueError, match=r"unknown config keys for conv: \['beta'\]"):
        validate_config({"model_type": "conv", "beta": 1.0})


# ---------------------------------------------------------------- training


@pytest.fixture(scope="module")
def epochs() -> Callable[[float], EpochEvent]:
    """beta -> the EpochEvent of one short conv-VAE epoch on real Fashion-MNIST (1000 training images,
    the first 500 test images), each beta trained once per module."""
    train_data, test_data = load_dataset("fashion", "train"), load_dataset("fashion", "test").head(500)

    @functools.cache
    def run(beta: float) -> EpochEvent:
        config = TrainConfig(
            model="conv-vae", epochs=1, train_limit=1000, batch_size=20, lr=5e-3, channels=8, hidden_dim=64,
            latent_dim=4, beta=beta, seed=3, device="cpu", log_every=10,
        )  # fmt: skip
        return next(e for e in train(config, train_data, test_data) if isinstance(e, EpochEvent))

    return run


def test_training_reports_the_terms_and_a_consistent_elbo(epochs):
    epoch = epochs(1.0)
    assert set(epoch.terms) == {"bce", "kl"}
    t = epoch.test_terms
    assert {"bce", "kl", "elbo"} <= set(t) and all(math.isfinite(v) for v in t.values())
    assert t["elbo"] == pytest.approx(-(784 * t["bce"] + t["kl"]), rel=1e-9)
    assert t["bce"] < 0.6 and t["kl"] > 0.5  # it learned: the codes carry information
    assert "test ELBO" in epoch.log_line() and "train KL" in epoch.log_line()


def test_a_larger_beta_gives_a_smaller_kl(epochs):
    low, high = epochs(1.0), epochs(20.0)
    assert high.terms["kl"] < low.terms["kl"] and high.test_terms["kl"] < low.test_terms["kl"]
