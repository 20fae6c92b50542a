"""Walking the latent space: interpolation, principal directions, nearest codes.

Images in: (28, 28), (1, 28, 28) or (B, 1, 28, 28); uint8 in [0, 255] or float in [0, 1];
NumPy or torch. Images out: float32 NumPy arrays in [0, 1], (steps, 28, 28) or (28, 28).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch

from fmae.latent.cache import weights_id
from fmae.latent.checks import UnusableCodesError
from fmae.models import EVAL_BATCH, AutoEncoder


def as_batch(images: np.ndarray | torch.Tensor) -> torch.Tensor:
    """Images of any accepted shape/dtype -> float32 tensor (B, 1, 28, 28) in [0, 1]."""
    x = torch.as_tensor(np.asarray(images) if not isinstance(images, torch.Tensor) else images)
    x = x.float() / 255.0 if x.dtype == torch.uint8 else x.float()
    if x.shape[-2:] != (28, 28):
        raise ValueError(f"expected 28x28 images, got shape {tuple(x.shape)}")
    return x.reshape(-1, 1, 28, 28)


@torch.inference_mode()
def encode(model: AutoEncoder, images: np.ndarray | torch.Tensor, batch_size: int = EVAL_BATCH) -> np.ndarray:
    """Latent codes (B, latent) float32 of ``images``, computed on the model's device (CPU or CUDA)."""
    x, device = as_batch(images), next(model.parameters()).device
    parts = [model.encode(x[i : i + batch_size].to(device)).cpu() for i in range(0, len(x), batch_size)]
    return torch.cat(parts).numpy()


@torch.inference_mode()
def decode(model: AutoEncoder, codes: np.ndarray) -> np.ndarray:
    """Images (B, 28, 28) float32 in [0, 1] decoded from codes (B, latent)."""
    z = torch.as_tensor(np.atleast_2d(np.asarray(codes, np.float32))).to(next(model.parameters()).device)
    return model.decode(z)[:, 0].cpu().numpy()


def interpolate(
    model: AutoEncoder, x_a: np.ndarray | torch.Tensor, x_b: np.ndarray | torch.Tensor, steps: int = 8
) -> np.ndarray:
    """Decode ``steps`` points on the straight line from code(x_a) to code(x_b): (steps, 28, 28).

    The first and last images are exactly the model's reconstructions of ``x_a`` and ``x_b``.
    """
    if steps < 2:
        raise ValueError(f"steps must be at least 2, not {steps}")
    z = encode(model, torch.cat([as_batch(x_a)[:1], as_batch(x_b)[:1]]))  # (2, latent)
    t = np.linspace(0.0, 1.0, steps, dtype=np.float32)[:, None]  # (steps, 1)
    return decode(model, (1.0 - t) * z[0] + t * z[1])


def principal_directions(codes: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """PCA of ``codes`` (N, latent): mean (latent,), top-k unit directions (k, latent), their stds (k,).

    Signs are fixed (each direction's largest-magnitude entry is positive) so sliders are stable.
    Raises ValueError for a bad ``k``, UnusableCodesError for NaN or infinite codes.
    """
    x = np.asarray(codes, np.float64)
    if not 1 <= k <= min(x.shape):
        raise ValueError(f"k must be between 1 and {min(x.shape)}, not {k}")
    if not np.isfinite(x).all():
        raise UnusableCodesError("The model's codes contain NaN or infinite values: its weights diverged.")
    mean = x.mean(0)
    _, s, vt = np.linalg.svd(x - mean, full_matrices=False)
    comps = vt[:k]
    comps *= np.sign(comps[np.arange(k), np.abs(comps).argmax(1)])[:, None]
    stds = s[:k] / np.sqrt(max(len(x) - 1, 1))
    return mean.astype(np.float32), comps.astype(np.float32), stds.astype(np.float32)


def walk(
    model: AutoEncoder,
    mean: np.ndarray,
    components: np.ndarray,
    stds: np.ndarray,
    coefficients: Sequence[float] | np.ndarray,
) -> np.ndarray:
    """Decode ``mean + sum_i coefficients[i] * stds[i] * components[i]``: one (28, 28) image.

    Coefficients are in standard deviations along each direction (sliders from -3 to 3, say).
    """
    coef = np.asarray(coefficients, np.float32)
    if coef.shape != (len(components),):
        raise ValueError(f"need {len(components)} coefficients, got {coef.shape}")
    z = np.asarray(mean, np.float32) + (coef * np.asarray(stds, np.float32)) @ np.asarray(
        components, np.float32
    )
    return decode(model, z)[0]


def nearest(codes_all: np.ndarray, code: np.ndarray, k: int = 5) -> np.ndarray:
    """Indices of the ``k`` rows of ``codes_all`` closest to ``code`` (Euclidean), nearest first."""
    base = np.asarray(codes_all, np.float64)
    dist = ((base - np.asarray(code, np.float64).reshape(1, -1)) ** 2).sum(1)
    k = min(k, len(base))
    top = np.argpartition(dist, k - 1)[:k]
    return top[np.argsort(dist[top], kind="stable")]


def model_fingerprint(model: torch.nn.Module) -> str:
    """Content id of a model's weights (16 hex digits); equals ``checkpoint_id`` of its saved folder."""
    return weights_id({k: v.detach().cpu().numpy() for k, v in model.state_dict().items()})
