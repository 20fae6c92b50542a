"""Sampling (issue 14): a VAE from N(0, I), a plain AE from the Gaussian fitted to its test codes, and
the mean distance from a sample to its nearest test image."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from fmae.latent import fitted_gaussian, is_variational, nearest_image_mse, sample
from fmae.models import ConvAutoEncoder, ConvVAE, MLPAutoEncoder


def test_a_vae_samples_its_prior_reproducibly():
    torch.manual_seed(0)
    vae = ConvVAE(latent_dim=3, channels=2, hidden_dim=8, arch=2)
    a = sample(vae, 16, torch.Generator().manual_seed(5))
    b = sample(vae, 16, torch.Generator().manual_seed(5))
    assert is_variational(vae) and a.prior == "N(0, I)"
    assert np.array_equal(a.codes, torch.randn(16, 3, generator=torch.Generator().manual_seed(5)).numpy())
    assert np.array_equal(a.images, b.images) and a.images.shape == (16, 28, 28)
    assert np.allclose(a.images, vae.decode(torch.as_tensor(a.codes))[:, 0].detach().numpy(), atol=1e-6)


def test_a_plain_ae_samples_the_gaussian_of_its_codes():
    torch.manual_seed(0)
    ae = MLPAutoEncoder(hidden_dim=8, latent_dim=2)
    rng = np.random.default_rng(0)
    codes = rng.multivariate_normal([3.0, -1.0], [[4.0, 1.8], [1.8, 1.0]], size=5000)
    drawn = sample(ae, 256, torch.Generator().manual_seed(1), codes).codes
    assert not is_variational(ae)
    assert np.allclose(drawn.mean(axis=0), [3.0, -1.0], atol=0.3)
    assert np.corrcoef(drawn.T)[0, 1] == pytest.approx(0.9, abs=0.05)  # 1.8 / sqrt(4 * 1)
    mean, cov = fitted_gaussian(codes)
    assert np.allclose(mean, codes.mean(axis=0)) and np.allclose(cov, np.cov(codes.T))
    collapsed = np.tile([1.0, 2.0], (100, 1))  # a rank-0 covariance still samples (its one point)
    assert np.allclose(sample(ae, 4, torch.Generator(), collapsed).codes, [1.0, 2.0])


@pytest.mark.parametrize("n", [0, 257, 2.0, True])
def test_bad_requests_are_refused(n):
    ae = ConvAutoEncoder(latent_dim=2, channels=2, hidden_dim=8, arch=2)
    with pytest.raises(ValueError, match="samples"):
        sample(ae, n, torch.Generator(), np.zeros((10, 2)))
    with pytest.raises(ValueError, match="test codes"):
        sample(ae, 4, torch.Generator())


def test_nearest_image_mse_is_the_brute_force_minimum():
    rng = np.random.default_rng(0)
    test = rng.integers(0, 256, size=(50, 28, 28), dtype=np.uint8)
    samples = rng.random((7, 28, 28)).astype(np.float32)
    brute = np.mean([min(((s - t / 255.0) ** 2).mean() for t in test) for s in samples])
    assert nearest_image_mse(samples, torch.as_tensor(test)) == pytest.approx(brute, rel=1e-9)
    assert nearest_image_mse(test[:3] / 255.0, test) == pytest.approx(0.0, abs=1e-12)
