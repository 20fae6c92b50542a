"""Model cards: the README.md of a checkpoint folder, with Hub metadata (tags, license,
``model-index``) on top.

``render_card`` is pure string work (``save_checkpoint`` calls it). The images a card links
(``CARD_IMAGES``) are drawn by ``fmae.training.write_card_images``, which needs test data.
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from typing import Any

from huggingface_hub import EvalResult, ModelCardData

#: card images, in the order the card shows them
CARD_IMAGES = ("loss_curve.png", "reconstructions.png", "embedding.png")
_IMAGE_TITLES = {
    "loss_curve.png": "Training loss",
    "reconstructions.png": "Test images (top) and their reconstructions (bottom)",
    "embedding.png": "Test-set latent codes, first two principal components",
}
_SOURCES = {
    "fashion": "Fashion-MNIST (Xiao et al., 2017; https://github.com/zalandoresearch/fashion-mnist)",
    "mnist": "MNIST handwritten digits (LeCun et al.; http://yann.lecun.com/exdb/mnist/)",
}
_PRETTY = {"fashion": "Fashion-MNIST", "mnist": "MNIST"}
_HUB_DATASETS = {"fashion": "zalando-datasets/fashion_mnist", "mnist": "ylecun/mnist"}
_CLASSES = {"mlp": "MLPAutoEncoder", "conv": "ConvAutoEncoder", "conv-vae": "ConvVAE", "mlp-vae": "MLPVAE"}
#: metric key -> (model-index metric type, readable name)
_METRICS = {
    "test_bce": ("bce", "Test reconstruction BCE (per pixel)"),
    "test_mse": ("mse", "Test reconstruction MSE (per pixel)"),
    "pca_mse": ("mse", "PCA baseline MSE, same number of components"),
    "knn_acc": ("accuracy", "kNN (k=5) accuracy on the latent codes"),
    "test_kl": ("kl", "Test KL divergence of the posterior to N(0, I) (nats per image)"),
    "test_elbo": ("elbo", "Test ELBO (nats per image; higher is better)"),
}


def _is_vae(config: dict[str, Any]) -> bool:
    """A variational autoencoder's config: it has a KL weight ``beta``."""
    return "beta" in config


def _numeric_metrics(info: dict[str, Any]) -> dict[str, float]:
    metrics = info.get("metrics") or {}
    if not isinstance(metrics, dict):
        return {}
    return {
        str(k): float(v)
        for k, v in metrics.items()
        if isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v)
    }


def _metadata(config: dict[str, Any], info: dict[str, Any]) -> str:
    dataset = str(info.get("dataset", "fashion"))
    hub_dataset = _HUB_DATASETS.get(dataset)
    model_type = str(config.get("model_type", "model"))
    results = [
        EvalResult(
            task_type="image-feature-extraction",
            task_name="Image reconstruction",
            dataset_type=hub_dataset or dataset,
            dataset_name=_PRETTY.get(dataset, dataset),
            dataset_split="test",
            metric_type=_METRICS.get(key, (key, key))[0],
            metric_name=_METRICS.get(key, (key, key))[1],
            metric_value=round(value, 6),
        )
        for key, value in _numeric_metrics(info).items()
    ]
    data = ModelCardData(
        library_name="fmae",
        license="mit",
        pipeline_tag="image-feature-extraction",
        tags=["autoencoder", *(["vae"] if _is_vae(config) else []), "fmae", "pytorch", dataset, model_type],
        datasets=[hub_dataset] if hub_dataset else None,
        model_name=f"fmae-{dataset}-{model_type}",
        eval_results=results or None,
    )
    return data.to_yaml().rstrip("\n") + "\n"


def _metrics_table(info: dict[str, Any]) -> str:
    metrics = _numeric_metrics(info)
    if not metrics:
        return "No test metrics were recorded for this checkpoint.\n"
    rows = [f"| {_METRICS.get(k, (k, k))[1]} | `{k}` | {v:.4f} |" for k, v in metrics.items()]
    return "| metric | key | value |\n|---|---|---|\n" + "\n".join(rows) + "\n"


def _intro(config: dict[str, Any], cls: str) -> str:
    """What the model is: an autoencoder, or a VAE with its ``beta`` (the loss it was trained on)."""
    latent = config.get("latent_dim", "?")
    if not _is_vae(config):
        return f"""An autoencoder (`fmae.models.{cls}`) that compresses 28x28 grayscale images into a
{latent}-dimensional code and reconstructs them.
"""
    beta = config["beta"]
    beta = f"{beta:g}" if isinstance(beta, int | float) else beta
    return f"""A variational autoencoder (`fmae.models.{cls}`, Kingma & Welling 2014) with beta = {beta}:
its encoder maps a 28x28 grayscale image to a Gaussian posterior over a {latent}-dimensional code
(mean and log-variance), its decoder maps a code back to an image. It was trained on the
reconstruction BCE plus beta times the KL divergence of the posterior to N(0, I) (beta = 1: the
negative ELBO; larger: a beta-VAE). `encode` returns the posterior mean; `sample(n)` decodes codes
drawn from N(0, I).
"""


def _noise_note(info: dict[str, Any]) -> str:
    """A line for a denoising run: what its inputs were corrupted with."""
    noise = (info.get("train_config") or {}).get("noise", "none")
    if not isinstance(noise, str) or noise in ("", "none"):
        return ""
    return (
        f"\nIt is a **denoising** autoencoder (Vincent et al., 2008): during training its inputs were "
        f"corrupted with `{noise}` noise and its reconstructions compared with the clean images.\n"
    )


def _extra_sections(info: dict[str, Any]) -> str:
    """Measured lessons stored in metrics.json: ``denoising`` (scripts/measure_lessons.py --denoising)
    and ``sampling`` (the holes lesson, --sampling); "" when neither is there."""
    out = ""
    den = info.get("denoising")
    if isinstance(den, dict) and {"noise", "mse_to_clean", "noisy_input_mse"} <= set(den):
        out += (
            f"## Denoising\n\nOn the {den.get('images', 'test')} test images with `{den['noise']}` noise "
            "added "
            f"(seed {den.get('seed', 0)}), the reconstructions' MSE to the clean images is "
            f"**{den['mse_to_clean']:.5f}** (the noisy inputs themselves: {den['noisy_input_mse']:.5f}).\n"
        )
        if "baseline" in den and "baseline_mse_to_clean" in den:
            base, ratio = den["baseline_mse_to_clean"], 1 - den["mse_to_clean"] / den["baseline_mse_to_clean"]
            out += (
                f"The plain autoencoder `{den['baseline']}` fed the same noisy images: {base:.5f}; "
                f"this model's error is {100 * ratio:.0f}% lower.\n"
            )
        out += "\n"
    smp = info.get("sampling")
    if isinstance(smp, dict) and {"prior", "n", "nearest_test_mse"} <= set(smp):
        out += (
            f"## Sampling (the holes lesson)\n\n{smp['n']} codes drawn from {smp['prior']} (seed "
            f"{smp.get('seed', 0)}) decode to images whose mean MSE to their nearest test image is "
            f"**{smp['nearest_test_mse']:.5f}**"
        )
        if "other" in smp and "other_nearest_test_mse" in smp:
            other = smp["other_nearest_test_mse"]
            out += f"; for `{smp['other']}`, sampled the same way for its kind: {other:.5f}"
        out += ". Lower: the samples look more like real images.\n\n"
    return out


def _usage(repo_id: str | None, vae: bool = False) -> str:
    repo = repo_id or "<namespace>/<name>"
    sample = (
        "\nsamples = ckpt.model.sample(8, torch.Generator().manual_seed(0))  # (8, 1, 28, 28)" if vae else ""
    )
    return f"""```python
import torch
from fmae.hub import pull_checkpoint
from fmae.models import load_checkpoint

folder = pull_checkpoint("{repo}")  # config.json + model.safetensors only, never a pickle
ckpt = load_checkpoint(folder)  # checks config bounds and exact weight shapes
images = torch.rand(4, 1, 28, 28)  # (B, 1, 28, 28) in [0, 1]
codes = ckpt.model.encode(images)  # (B, latent_dim)
recon = ckpt.model.decode(codes)  # (B, 1, 28, 28) in [0, 1]{sample}
```

From the command line: `python -m fmae pull {repo} --out checkpoints/pulled`.
"""


def _json_block(value: Any) -> str:
    return "```json\n" + json.dumps(value, indent=2, sort_keys=True, default=str) + "\n```\n"


def _train_time(info: dict[str, Any]) -> str:
    """The run's wall time (metrics.json's ``train_seconds``), in minutes and seconds."""
    seconds = info.get("train_seconds")
    if isinstance(seconds, bool) or not isinstance(seconds, int | float) or not seconds >= 0:
        return "not recorded"
    return f"{seconds / 60:.1f} min ({seconds:.0f} s of wall time, test-set pass after each epoch included)"


def render_card(
    config: dict[str, Any],
    info: dict[str, Any],
    images: Sequence[str] = (),
    repo_id: str | None = None,
) -> str:
    """Return a model card in Markdown with Hub metadata (tags, license, ``model-index``) on top.

    ``images`` names card images beside the README to link (see ``CARD_IMAGES``); ``repo_id``
    fills the usage snippet (a placeholder when the checkpoint has not been pushed yet).
    """
    dataset = str(info.get("dataset", "fashion"))
    model_type = str(config.get("model_type", "?"))
    cls = _CLASSES.get(model_type, model_type)
    seed = info.get("seed")
    kind = "variational autoencoder" if _is_vae(config) else "autoencoder"
    gallery = "".join(f"### {_IMAGE_TITLES.get(n, n)}\n\n![{n}]({n})\n\n" for n in CARD_IMAGES if n in images)
    return f"""---
{_metadata(config, info)}---

# fmae {model_type} {kind} on {_PRETTY.get(dataset, dataset)}

{_intro(config, cls)}{_noise_note(info)}
- **Dataset:** {_SOURCES.get(dataset, dataset)}
- **Data files used:** `{info.get("dataset_source", "unknown")}`
- **Model class:** `fmae.models.{cls}`
- **Seed:** {seed if seed is not None else "not recorded"}
- **Training time:** {_train_time(info)}
- **Weights:** `model.safetensors` only (no pickle files)

## Test metrics

{_metrics_table(info)}
The PCA baseline projects onto as many principal components as the code has dimensions;
the kNN accuracy measures how well the codes separate the classes (labels unused in training).

{_extra_sections(info)}{gallery}## Model config (`config.json`)

{_json_block(config)}
## Training config

{_json_block(info.get("train_config") or {})}
## Usage

{_usage(repo_id, _is_vae(config))}"""
