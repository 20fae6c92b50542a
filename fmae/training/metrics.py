"""Scoring a trained model: test BCE and MSE, latent codes, the PCA baseline with as many
components as the latent size, and kNN accuracy on the codes (``evaluate`` does all four)."""

from __future__ import annotations

import math

import numpy as np
import torch
import torch.nn.functional as F

from fmae.data import Dataset, to_float
from fmae.errors import NonFiniteError
from fmae.models import EVAL_BATCH, AutoEncoder, nonfinite_count
from fmae.training.noise import corrupt

#: batch of the measures that draw random numbers (a VAE's posterior samples, denoising noise): the
#: batches fix the random stream, so the numbers in the shipped cards were measured with this one
RANDOM_BATCH = 2000


@torch.inference_mode()
def _batched(model: AutoEncoder, images: torch.Tensor, fn, device: torch.device, bs: int = EVAL_BATCH):
    out = []
    for i in range(0, images.shape[0], bs):
        x = to_float(images[i : i + bs]) if images.dtype == torch.uint8 else images[i : i + bs]
        out.append(fn(model, x.to(device)))
    return out


def test_losses(
    model: AutoEncoder, images: torch.Tensor, device: torch.device | None = None
) -> tuple[float, float, np.ndarray]:
    """Mean per-pixel BCE and MSE of ``model`` on uint8 images (N, 28, 28), and their latent codes
    (N, latent) float32, in one pass. NaN or infinity come back as they are: callers check."""
    device = device or next(model.parameters()).device
    was_training = model.training
    model.eval()

    def both(m: AutoEncoder, x: torch.Tensor) -> tuple[float, float, torch.Tensor]:
        z = m.encode(x)  # (B, latent)
        logits = m.decode_logits(z)  # (B, 1, 28, 28)
        bce = F.binary_cross_entropy_with_logits(logits, x, reduction="sum").item()
        mse = F.mse_loss(torch.sigmoid(logits), x, reduction="sum").item()
        return bce, mse, z.cpu()

    parts = _batched(model, images, both, device)
    model.train(was_training)
    total = images.shape[0] * 28 * 28
    codes = torch.cat([p[2] for p in parts]).numpy() if parts else np.zeros((0, model.latent_dim), np.float32)
    return sum(p[0] for p in parts) / total, sum(p[1] for p in parts) / total, codes


def test_loss_terms(
    model: AutoEncoder, images: torch.Tensor, device: torch.device | None = None, seed: int = 0
) -> dict[str, float]:
    """The means of ``model.loss_terms`` over uint8 images (N, 28, 28), each image its own target,
    and for a model with a KL term the ELBO per image in nats, ``-(784 * bce + kl)`` (``bce``: mean
    per-pixel BCE, ``kl``: KL divergence per image). A VAE's terms use one posterior sample per
    image, drawn from a generator seeded with ``seed`` inside ``torch.random.fork_rng``, so measuring
    leaves the caller's random state untouched and gives the same numbers every time."""
    device = device or next(model.parameters()).device
    was_training = model.training
    model.eval()
    sums: dict[str, float] = {}
    devices = [device] if device.type == "cuda" else []
    with torch.random.fork_rng(devices=devices), torch.inference_mode():
        torch.manual_seed(seed)
        for i in range(0, images.shape[0], RANDOM_BATCH):
            x = to_float(images[i : i + RANDOM_BATCH]).to(device)
            for key, value in model.loss_terms(x, x).items():
                sums[key] = sums.get(key, 0.0) + float(value) * x.shape[0]
    model.train(was_training)
    n = max(images.shape[0], 1)
    terms = {k: v / n for k, v in sums.items() if k != "loss"}
    if "kl" in terms and "bce" in terms:
        terms["elbo"] = -(28 * 28 * terms["bce"] + terms["kl"])
    return terms


def denoising_mse(
    model: AutoEncoder, images: torch.Tensor, noise: str = "gaussian:0.3", seed: int = 0
) -> tuple[float, float]:
    """How well ``model`` removes ``noise``: uint8 images (N, 28, 28) are corrupted (``corrupt``,
    a generator seeded with ``seed``, so every model sees the same noisy images) and reconstructed;
    returns (MSE of the reconstructions to the *clean* images, MSE of the noisy inputs themselves to
    the clean images), both mean per-pixel squared errors on [0, 1] pixels. The issue's measure of a
    denoising autoencoder (Vincent et al., 2008)."""
    device = next(model.parameters()).device
    gen = torch.Generator(device=device).manual_seed(seed)
    was_training = model.training
    model.eval()
    rec_sum = noisy_sum = 0.0
    with torch.inference_mode():
        for i in range(0, images.shape[0], RANDOM_BATCH):
            clean = to_float(images[i : i + RANDOM_BATCH]).to(device)  # (B, 1, 28, 28)
            noisy = corrupt(clean, noise, gen)
            rec_sum += F.mse_loss(model(noisy), clean, reduction="sum").item()
            noisy_sum += F.mse_loss(noisy, clean, reduction="sum").item()
    model.train(was_training)
    total = max(images.shape[0], 1) * 28 * 28
    return rec_sum / total, noisy_sum / total


def image_losses(
    model: AutoEncoder, images: torch.Tensor, device: torch.device | None = None
) -> tuple[float, float]:
    """Mean per-pixel BCE and MSE of ``model`` on uint8 images (N, 28, 28)."""
    bce, mse, _ = test_losses(model, images, device)
    return bce, mse


def encode_images(model: AutoEncoder, images: torch.Tensor) -> np.ndarray:
    """Latent codes (N, latent) of uint8 images (N, 28, 28) or floats (N, 1, 28, 28)."""
    model.eval()
    device = next(model.parameters()).device
    parts = _batched(model, images, lambda m, x: m.encode(x).cpu(), device)
    return torch.cat(parts).numpy()


def pca_baseline(train_images: torch.Tensor, test_images: torch.Tensor, k: int) -> float:
    """Test MSE of PCA with ``k`` components fitted on the train images (the linear baseline)."""
    from sklearn.decomposition import PCA

    x_train = train_images.reshape(train_images.shape[0], -1).numpy().astype(np.float32) / 255.0
    x_test = test_images.reshape(test_images.shape[0], -1).numpy().astype(np.float32) / 255.0
    pca = PCA(n_components=k, svd_solver="randomized", random_state=0).fit(x_train)
    recon = pca.inverse_transform(pca.transform(x_test))
    return float(np.mean((recon - x_test) ** 2))


def knn_accuracy(
    train_codes: np.ndarray,
    train_labels: np.ndarray,
    test_codes: np.ndarray,
    test_labels: np.ndarray,
    k: int = 5,
) -> float:
    """Accuracy of a k-nearest-neighbour classifier fitted on train codes, scored on test codes."""
    from sklearn.neighbors import KNeighborsClassifier

    clf = KNeighborsClassifier(n_neighbors=k).fit(train_codes, train_labels)
    return float(clf.score(test_codes, test_labels))


def evaluate(model: AutoEncoder, train_data: Dataset, test_data: Dataset) -> dict[str, float]:
    """Test BCE and MSE, the MSE of PCA with as many components as the latent size, and
    kNN(5) accuracy on the latent codes (fitted on train codes, scored on test codes); for a VAE
    (a model with ``posterior``) also ``test_kl`` and ``test_elbo``, nats per image (``test_loss_terms``).
    Raises NonFiniteError when a loss or a code is NaN or infinite (nothing is scored from NaN)."""
    bce, mse, test_codes = test_losses(model, test_data.images)
    train_codes = encode_images(model, train_data.images)
    if not math.isfinite(bce + mse) or nonfinite_count(train_codes) or nonfinite_count(test_codes):
        raise NonFiniteError("the model gives losses or codes that are not finite (NaN or infinity)")
    scores = {
        "test_bce": bce,
        "test_mse": mse,
        "pca_mse": pca_baseline(train_data.images, test_data.images, model.latent_dim),
        "knn_acc": knn_accuracy(train_codes, train_data.labels.numpy(), test_codes, test_data.labels.numpy()),
    }
    if hasattr(model, "posterior"):
        terms = test_loss_terms(model, test_data.images)
        scores.update(test_kl=terms["kl"], test_elbo=terms["elbo"])
    return scores
