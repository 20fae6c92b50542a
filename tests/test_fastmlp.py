"""The hand-written MLP step against autograd + torch.optim.Adam, on real Fashion-MNIST."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from fmae.data import load_dataset, to_float
from fmae.models import ConvAutoEncoder, MLPAutoEncoder
from fmae.training import TrainConfig, fastmlp, image_losses, train_to_end


@pytest.fixture(scope="module")
def fashion():
    return load_dataset("fashion", "train"), load_dataset("fashion", "test")


def _autograd_twin(model: MLPAutoEncoder) -> tuple[MLPAutoEncoder, torch.optim.Optimizer]:
    twin = MLPAutoEncoder(hidden_dim=model.hidden_dim, latent_dim=model.latent_dim)
    twin.load_state_dict(model.state_dict())
    return twin, torch.optim.Adam(twin.parameters(), lr=1e-3, fused=True)


def _autograd_step(model, opt, x) -> float:
    loss = F.binary_cross_entropy_with_logits(model.logits(x).reshape(x.shape[0], -1), x)
    opt.zero_grad()
    loss.backward()
    opt.step()
    return loss.item()


@pytest.mark.parametrize("hidden,latent", [(128, 10), (32, 4)])
def test_gradients_and_loss_match_autograd(fashion, hidden, latent):
    """At an untrained and a trained state: same loss, same gradients, to float rounding."""
    torch.manual_seed(0)
    model = MLPAutoEncoder(hidden_dim=hidden, latent_dim=latent)
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    x_all = to_float(fashion[0].images[: 64 * 201]).reshape(-1, 784)
    for trained_steps in (0, 200):
        for i in range(trained_steps):
            _autograd_step(model, opt, x_all[i * 64 : (i + 1) * 64])
        x = x_all[200 * 64 :]
        loss = F.binary_cross_entropy_with_logits(model.logits(x).reshape(64, -1), x)
        expected = torch.autograd.grad(loss, list(model.parameters()))
        fast = fastmlp.MLPTrainStep(model, 64, lr=1e-3)
        assert fast.step(x) == pytest.approx(loss.item(), rel=1e-5)
        for (name, _), got, want in zip(
            model.named_parameters(), fast.parameter_grads(), expected, strict=True
        ):
            assert torch.allclose(got, want, rtol=1e-4, atol=1e-7), (trained_steps, name)


def test_adam_steps_match_torch_adam(fashion):
    """Twenty steps from the same start: the same weights (fused Adam, same hyperparameters)."""
    torch.manual_seed(0)
    model = MLPAutoEncoder(hidden_dim=128)
    twin, opt = _autograd_twin(model)
    fast = fastmlp.MLPTrainStep(model, 64, 1e-3)
    x_all = to_float(fashion[0].images[: 64 * 20]).reshape(-1, 784)
    for i in range(20):
        x = x_all[i * 64 : (i + 1) * 64]
        assert fast.step(x) == pytest.approx(_autograd_step(twin, opt, x), rel=1e-5), i
    before = [p.clone() for p in model.parameters()]
    fast.write_back()
    assert any(not torch.equal(a, b) for a, b in zip(before, model.parameters(), strict=True))
    for (name, p), q in zip(model.named_parameters(), twin.parameters(), strict=True):
        assert torch.allclose(p, q, atol=1e-5, rtol=0), name


def test_a_long_run_follows_autograd(fashion):
    """Over 600 steps rounding differences (bias gradients summed inside the product, not by a
    separate sum) may move single weights near a ReLU's kink, but the run is the same run."""
    torch.manual_seed(0)
    model = MLPAutoEncoder(hidden_dim=128)
    twin, opt = _autograd_twin(model)
    fast = fastmlp.MLPTrainStep(model, 64, 1e-3)
    x_all = to_float(fashion[0].images[: 64 * 600]).reshape(-1, 784)
    ours, theirs = [], []
    for i in range(600):
        x = x_all[i * 64 : (i + 1) * 64]
        ours.append(fast.step(x))
        theirs.append(_autograd_step(twin, opt, x))
    fast.write_back()
    assert max(abs(a - b) for a, b in zip(ours, theirs, strict=True)) < 1e-3
    assert image_losses(model, fashion[1].images[:2000])[0] == pytest.approx(
        image_losses(twin, fashion[1].images[:2000])[0], rel=1e-3
    )


def test_train_fast_path_matches_the_autograd_path(fashion, monkeypatch):
    config = TrainConfig(epochs=2, train_limit=3200, seed=5, hidden_dim=64, schedule="cosine")
    fast = train_to_end(config, fashion[0], fashion[1].head(500))
    monkeypatch.setattr(fastmlp, "supports", lambda model, device: False)
    slow = train_to_end(config, fashion[0], fashion[1].head(500))
    for key in ("test_bce", "test_mse", "epoch_train_bce"):
        assert fast.history[key] == pytest.approx(slow.history[key], rel=1e-3), key
    assert fast.history["step_loss"] == pytest.approx(slow.history["step_loss"], rel=1e-3)


def test_load_batch_equals_to_float(fashion):
    images = fashion[0].images[:1000]
    fast = fastmlp.MLPTrainStep(MLPAutoEncoder(hidden_dim=16), 64, 1e-3)
    idx = torch.randperm(1000)[:64]
    got = fast.load_batch(images.reshape(1000, -1), idx)
    assert torch.equal(got, to_float(images[idx]).reshape(64, -1))


def test_underflowing_logits_still_give_the_exact_loss(fashion):
    """A logit below -103.9 makes sigmoid 0 and the fast formula inf; step falls back."""
    model = MLPAutoEncoder(hidden_dim=16)
    with torch.no_grad():
        model.decoder[4].bias[:10] = -300.0
    x = to_float(fashion[0].images[:64]).reshape(64, -1)
    expected = F.binary_cross_entropy_with_logits(model.logits(x).reshape(64, -1), x).item()
    value = fastmlp.MLPTrainStep(model, 64, 1e-3).step(x)
    assert value == pytest.approx(expected, rel=1e-6)


def _denormals(t: torch.Tensor) -> int:
    return int(((t != 0) & (t.abs() < torch.finfo(torch.float32).tiny)).sum())


@pytest.mark.parametrize("flush_every,denormal", [(fastmlp.FLUSH_EVERY, False), (10**9, True)])
def test_adam_moments_are_kept_out_of_denormals(fashion, monkeypatch, flush_every, denormal):
    """Weights of always-blank pixels get zero gradients, so their first moment decays by 0.9
    a step; after ~800 steps it is denormal (slow floats) unless flushed."""
    monkeypatch.setattr(fastmlp, "FLUSH_EVERY", flush_every)
    torch.manual_seed(0)
    fast = fastmlp.MLPTrainStep(MLPAutoEncoder(hidden_dim=16), 64, 1e-3)
    x_all = to_float(fashion[0].images[:6400]).reshape(-1, 784)
    x_all[:, :28] = 0.0  # the top row blank in every image
    for i in range(1000):
        fast.step(x_all[(i % 100) * 64 : (i % 100 + 1) * 64])
    assert (_denormals(fast.exp_avg) > 0) is denormal


def test_flush_tiny_zeroes_only_tiny_values():
    t = torch.tensor([1e-31, -1e-31, 1e-29, -0.5, 0.0, 1e-40])
    fastmlp.flush_tiny_([t])
    assert t.tolist() == pytest.approx([0.0, 0.0, 1e-29, -0.5, 0.0, 0.0], rel=1e-6, abs=0)


def test_supports_only_float32_mlps_on_the_cpu():
    cpu = torch.device("cpu")
    assert fastmlp.supports(MLPAutoEncoder(hidden_dim=8), cpu)
    assert not fastmlp.supports(ConvAutoEncoder(channels=4), cpu)
    assert not fastmlp.supports(MLPAutoEncoder(hidden_dim=8).double(), cpu)
    assert not fastmlp.supports(MLPAutoEncoder(hidden_dim=8), torch.device("cuda"))
