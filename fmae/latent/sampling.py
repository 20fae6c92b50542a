"""Sampling new images from a model, and the "holes" lesson as a number.

A VAE is trained so that its posterior codes cover N(0, I): codes drawn from N(0, I) decode to
images like the data. A plain autoencoder makes no such promise: its codes can sit anywhere, with
empty regions ("holes") between the classes that decode to blurs. The fair test for a plain AE draws
codes from a Gaussian fitted to its own test codes (same mean and covariance), so both models are
sampled where their codes actually are. The number that shows the difference: the mean distance
from each sample to its nearest test image (``nearest_image_mse``), lower when samples look like
real images.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from fmae.models import AutoEncoder

MAX_SAMPLES = 256  # one request's samples: 256 x 784 floats, a fraction of a millisecond to decode


@dataclass
class Samples:
    """``images`` (n, 28, 28) float32 in [0, 1] decoded from ``codes`` (n, latent) float32, drawn
    from ``prior``: "N(0, I)" (a VAE) or "Gaussian fitted to the test codes" (a plain AE)."""

    codes: np.ndarray
    images: np.ndarray
    prior: str


def is_variational(model: AutoEncoder) -> bool:
    """True for a VAE (a model with a posterior to sample from)."""
    return hasattr(model, "posterior")


def fitted_gaussian(codes: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Mean (d,) and covariance (d, d) of codes (n, d), n >= 2; raises ValueError otherwise."""
    codes = np.asarray(codes, np.float64)
    if codes.ndim != 2 or codes.shape[0] < 2 or not np.isfinite(codes).all():
        raise ValueError("fitting a Gaussian needs at least two finite codes (n, d)")
    return codes.mean(axis=0), np.atleast_2d(np.cov(codes, rowvar=False))


@torch.inference_mode()
def sample(
    model: AutoEncoder, n: int, generator: torch.Generator, test_codes: np.ndarray | None = None
) -> Samples:
    """``n`` (1..MAX_SAMPLES) images from ``model``: codes from N(0, I) for a VAE; for a plain AE
    from the Gaussian fitted to ``test_codes`` (n_test, latent), which it then needs. The codes come
    from ``generator`` (CPU), so a seeded generator gives the same samples every time. Raises
    ValueError for a bad ``n`` or missing/unusable test codes."""
    if isinstance(n, bool) or not isinstance(n, int) or not 1 <= n <= MAX_SAMPLES:
        raise ValueError(f"the number of samples must be an integer in [1, {MAX_SAMPLES}], not {n!r}")
    device = next(model.parameters()).device
    eps = torch.randn(n, model.latent_dim, generator=generator)  # (n, latent) standard normal
    if is_variational(model):
        z, prior = eps, "N(0, I)"
    else:
        if test_codes is None:
            raise ValueError("sampling a plain autoencoder needs its test codes (to fit a Gaussian)")
        mean, cov = fitted_gaussian(test_codes)
        # a square root of the covariance; eigh tolerates the rank-deficient covariance of collapsed codes
        w, v = np.linalg.eigh(cov)
        root = v * np.sqrt(np.clip(w, 0, None))
        z = torch.as_tensor(mean, dtype=torch.float32) + eps @ torch.as_tensor(root.T, dtype=torch.float32)
        prior = "Gaussian fitted to the test codes"
    was_training = model.training
    model.eval()
    images = model.decode(z.to(device))[:, 0].float().cpu().numpy()  # (n, 28, 28)
    model.train(was_training)
    return Samples(z.numpy().astype(np.float32), images, prior)


def nearest_image_mse(samples: np.ndarray, images: np.ndarray | torch.Tensor) -> float:
    """Mean over ``samples`` (n, 28, 28) in [0, 1] of the per-pixel MSE to the nearest of ``images``
    (N, 28, 28): uint8 (0..255) or float in [0, 1]. Exact (all pairs, by ||a||^2 - 2ab + ||b||^2)."""
    x = torch.as_tensor(np.asarray(samples, np.float32)).reshape(len(samples), -1).double()
    y = torch.as_tensor(images)
    y = (y.double() / 255.0 if y.dtype == torch.uint8 else y.double()).reshape(y.shape[0], -1)
    d2 = (x * x).sum(1, keepdim=True) - 2 * x @ y.T + (y * y).sum(1)  # (n, N) squared distances
    return float(d2.min(dim=1).values.clamp(min=0).mean() / x.shape[1])
