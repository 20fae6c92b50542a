"""A trained model's reference assets, computed from data: its sorted per-image test errors (to
turn one error into a percentile) and the PCA basis of the training images (the linear baseline
with as many components as the latent size). ``fmae.models.ModelAssets`` stores them."""

from __future__ import annotations

from functools import lru_cache

import numpy as np
import torch

from fmae.models import EVAL_BATCH, AutoEncoder, ModelAssets

PIXELS = 28 * 28
PCA_IMAGES = 20_000  # the PCA baseline is fitted on the first this many train images (enough, and fast)


@torch.inference_mode()
def per_image_errors(model: AutoEncoder, images: torch.Tensor, batch_size: int = EVAL_BATCH) -> np.ndarray:
    """MSE per image (N,) float32 of ``model`` on uint8 images (N, 28, 28)."""
    model.eval()
    device = next(model.parameters()).device
    out = []
    for i in range(0, images.shape[0], batch_size):
        x = images[i : i + batch_size].unsqueeze(1).float().div_(255.0).to(device)  # (B, 1, 28, 28)
        out.append(((model(x) - x) ** 2).mean(dim=(1, 2, 3)).cpu())
    return torch.cat(out).numpy().astype(np.float32)


def fit_pca(images: torch.Tensor, chunk: int = 10_000) -> tuple[np.ndarray, np.ndarray]:
    """Mean (784,) and all principal axes (784, 784), rows by decreasing variance, of uint8
    images (N, 28, 28). Exact (eigendecomposition of the covariance), no randomness."""
    n = images.shape[0]
    flat = images.reshape(n, PIXELS)
    mean = (flat.double().sum(dim=0) / (255.0 * n)).numpy().astype(np.float32)  # in [0, 1]
    cov = np.zeros((PIXELS, PIXELS), dtype=np.float64)
    for i in range(0, n, chunk):
        xc = flat[i : i + chunk].numpy().astype(np.float32) * np.float32(1 / 255) - mean  # (B, 784)
        cov += (xc.T @ xc).astype(np.float64)
    _, vecs = np.linalg.eigh(cov / max(n - 1, 1))  # ascending eigenvalues
    return mean, np.ascontiguousarray(vecs[:, ::-1].T, dtype=np.float32)


@lru_cache(maxsize=2)
def dataset_pca(dataset: str) -> tuple[np.ndarray, np.ndarray]:
    """``fit_pca`` on the first ``PCA_IMAGES`` train images of ``dataset`` (cached; needs the data)."""
    from fmae.data import load_dataset

    return fit_pca(load_dataset(dataset, "train").images[:PCA_IMAGES])


def compute_assets(
    model: AutoEncoder, test_images: torch.Tensor, pca: tuple[np.ndarray, np.ndarray], dataset: str
) -> ModelAssets:
    """Assets for ``model``: its sorted test errors and the first ``latent_dim`` axes of ``pca``."""
    errors = np.sort(per_image_errors(model, test_images))
    mean, axes = pca
    return ModelAssets(errors, mean, np.ascontiguousarray(axes[: model.latent_dim]), dataset)
