"""Reference data that explains one reconstruction, and the explanation itself.

``ModelAssets`` holds, per model, the sorted per-image test-set MSEs (to turn an error into a
percentile) and a PCA basis with as many components as the model's latent size (the linear
baseline). Shipped checkpoints store them in ``assets.safetensors`` beside the weights
(``scripts/precompute_assets.py``), so the app needs no dataset at run time; session models get
them computed when their training ends (``fmae.training.compute_assets``: that needs data, this
module does not). Never pickled: safetensors with shape checks on load; every number finite
(a percentile computed from NaN means nothing), test errors non-negative.

``analyze`` runs one (28, 28) input through a model and returns everything the UI shows; every
number in it is finite, or it raises NonFiniteError.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from safetensors import SafetensorError
from safetensors.numpy import load_file, save_file

from fmae.errors import CheckpointError, NonFiniteError
from fmae.models.autoencoders import AutoEncoder
from fmae.models.integrity import check_finite, nonfinite_count

ASSETS_FILE = "assets.safetensors"
PIXELS = 28 * 28
MAX_TEST_ERRORS = 100_000


@dataclass(frozen=True)
class ModelAssets:
    """Sorted test-set per-image MSEs and a PCA basis (mean + k components, rows orthonormal)."""

    test_errors: np.ndarray  # (N,) float32, ascending
    pca_mean: np.ndarray  # (784,) float32
    pca_components: np.ndarray  # (k, 784) float32
    dataset: str = "fashion"

    def __post_init__(self) -> None:
        """Raises NonFiniteError when any array holds NaN or infinity (however the assets were made)."""
        arrays = {
            "test_errors": self.test_errors,
            "pca_mean": self.pca_mean,
            "pca_components": self.pca_components,
        }
        check_finite(arrays, "reference assets", NonFiniteError)

    @property
    def nbytes(self) -> int:
        return int(self.test_errors.nbytes + self.pca_mean.nbytes + self.pca_components.nbytes)

    def percentile(self, mse: float) -> float | None:
        """Percentage of test images reconstructed with a smaller error than ``mse``; None when
        there are no test errors or ``mse`` is not a finite number."""
        n = self.test_errors.shape[0]
        if n == 0 or not math.isfinite(mse):
            return None
        return 100.0 * float(np.searchsorted(self.test_errors, mse, side="left")) / n

    def pca_reconstruct(self, x: np.ndarray) -> np.ndarray:
        """PCA reconstruction (28, 28) of an image (28, 28) in [0, 1], clipped to [0, 1]."""
        centred = x.reshape(PIXELS).astype(np.float32) - self.pca_mean
        recon = self.pca_mean + (self.pca_components @ centred) @ self.pca_components
        return np.clip(recon, 0.0, 1.0).reshape(28, 28)


def save_assets(assets: ModelAssets, folder: str | Path) -> Path:
    """Write ``folder/assets.safetensors``; returns its path."""
    path = Path(folder) / ASSETS_FILE
    tensors = {
        "test_errors": assets.test_errors.astype(np.float32),
        "pca_mean": assets.pca_mean.astype(np.float32),
        "pca_components": assets.pca_components.astype(np.float32),
    }
    save_file(tensors, str(path), metadata={"dataset": assets.dataset, "format": "fmae-assets-1"})
    return path


def load_assets(folder: str | Path) -> ModelAssets | None:
    """Read ``folder/assets.safetensors``; None if absent, CheckpointError if malformed (wrong
    shapes, NaN or infinity anywhere, negative test errors)."""
    path = Path(folder) / ASSETS_FILE
    if not path.is_file():
        return None
    try:
        from safetensors import safe_open

        with safe_open(str(path), framework="numpy") as f:
            meta = f.metadata() or {}
        data = load_file(str(path))
    except (SafetensorError, OSError, ValueError) as exc:
        raise CheckpointError(f"{path} is not a readable safetensors file: {exc}") from None
    errors, mean, comps = data.get("test_errors"), data.get("pca_mean"), data.get("pca_components")
    ok = (
        errors is not None
        and mean is not None
        and comps is not None
        and errors.ndim == 1
        and 0 < errors.shape[0] <= MAX_TEST_ERRORS
        and mean.shape == (PIXELS,)
        and comps.ndim == 2
        and 1 <= comps.shape[0] <= PIXELS
        and comps.shape[1] == PIXELS
    )
    if not ok:
        raise CheckpointError(
            f"{path} does not hold test_errors (N,), pca_mean (784,), pca_components (k, 784)"
        )
    check_finite({"test_errors": errors, "pca_mean": mean, "pca_components": comps}, str(path))
    if float(errors.min()) < 0.0:
        raise CheckpointError(f"{path}: test_errors holds negative values; squared errors cannot be")
    return ModelAssets(
        np.sort(errors.astype(np.float32)),
        mean.astype(np.float32),
        comps.astype(np.float32),
        str(meta.get("dataset", "fashion")),
    )


@dataclass(frozen=True)
class Analysis:
    """One input explained: what the model got, what it gave back, and how good that is."""

    input: np.ndarray  # (28, 28) float32 in [0, 1], the exact model input
    recon: np.ndarray  # (28, 28)
    error_map: np.ndarray  # (28, 28) squared error per pixel
    mse: float
    percentile: float | None  # % of test images with a smaller error; None without assets
    latent: np.ndarray  # (latent_dim,)
    pca_recon: np.ndarray | None  # (28, 28), same number of components as the latent size
    pca_mse: float | None


@torch.inference_mode()
def analyze(model: AutoEncoder, x: np.ndarray, assets: ModelAssets | None = None) -> Analysis:
    """Encode and decode one image (28, 28) in [0, 1]; compare with PCA when ``assets`` allow.

    Raises NonFiniteError when the input, the code or the reconstruction holds NaN or infinity
    (finite weights can still overflow float32): nothing is explained with a NaN.
    """
    x = np.ascontiguousarray(x, dtype=np.float32).reshape(28, 28)
    model.eval()
    t = torch.from_numpy(x).reshape(1, 1, 28, 28).to(next(model.parameters()).device)
    z = model.encode(t).cpu()  # (1, latent)
    recon = model.decode(z.to(t.device)).reshape(28, 28).cpu().numpy()
    for name, values in (("input", x), ("code", z), ("reconstruction", recon)):
        if nonfinite_count(values):
            raise NonFiniteError(
                f"the model's {name} for this input holds NaN or infinity (finite weights can still "
                "overflow float32): its numbers are not finite, so there is nothing to show"
            )
    err = (recon - x) ** 2
    mse = float(err.mean())
    pca_recon, pca_mse, pct = None, None, None
    if assets is not None:
        pct = assets.percentile(mse)
        if assets.pca_components.shape[0] == model.latent_dim:
            pca_recon = assets.pca_reconstruct(x)
            pca_mse = float(((pca_recon - x) ** 2).mean())
    return Analysis(x, recon, err, mse, pct, z.reshape(-1).numpy().copy(), pca_recon, pca_mse)
