"""Model cards (README.md of a checkpoint folder) and the images they show.

``render_card`` is pure string work (save_checkpoint calls it); ``write_card_images`` draws the
loss curve, reconstructions and a 2-D embedding with matplotlib (Agg, no pyplot state) and
re-renders the card so it links the images that now exist.
"""

from __future__ import annotations

import json
import math
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch
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
_CLASSES = {"mlp": "MLPAutoEncoder", "conv": "ConvAutoEncoder"}
#: metric key -> (model-index metric type, readable name)
_METRICS = {
    "test_bce": ("bce", "Test reconstruction BCE (per pixel)"),
    "test_mse": ("mse", "Test reconstruction MSE (per pixel)"),
    "pca_mse": ("mse", "PCA baseline MSE, same number of components"),
    "knn_acc": ("accuracy", "kNN (k=5) accuracy on the latent codes"),
}


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
        tags=["autoencoder", "fmae", "pytorch", dataset, model_type],
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


def _usage(repo_id: str | None) -> str:
    repo = repo_id or "<namespace>/<name>"
    return f"""```python
import torch
from fmae.checkpoint import load_checkpoint
from fmae.hub import pull_checkpoint

folder = pull_checkpoint("{repo}")  # config.json + model.safetensors only, never a pickle
ckpt = load_checkpoint(folder)  # checks config bounds and exact weight shapes
images = torch.rand(4, 1, 28, 28)  # (B, 1, 28, 28) in [0, 1]
codes = ckpt.model.encode(images)  # (B, latent_dim)
recon = ckpt.model.decode(codes)  # (B, 1, 28, 28) in [0, 1]
```

From the command line: `python -m fmae pull {repo} --out checkpoints/pulled`.
"""


def _json_block(value: Any) -> str:
    return "```json\n" + json.dumps(value, indent=2, sort_keys=True, default=str) + "\n```\n"


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
    gallery = "".join(f"### {_IMAGE_TITLES.get(n, n)}\n\n![{n}]({n})\n\n" for n in CARD_IMAGES if n in images)
    return f"""---
{_metadata(config, info)}---

# fmae {model_type} autoencoder on {_PRETTY.get(dataset, dataset)}

An autoencoder (`fmae.models.{cls}`) that compresses 28x28 grayscale images into a
{config.get("latent_dim", "?")}-dimensional code and reconstructs them.

- **Dataset:** {_SOURCES.get(dataset, dataset)}
- **Data files used:** `{info.get("dataset_source", "unknown")}`
- **Model class:** `fmae.models.{cls}`
- **Seed:** {seed if seed is not None else "not recorded"}
- **Weights:** `model.safetensors` only (no pickle files)

## Test metrics

{_metrics_table(info)}
The PCA baseline projects onto as many principal components as the code has dimensions;
the kNN accuracy measures how well the codes separate the classes (labels unused in training).

{gallery}## Model config (`config.json`)

{_json_block(config)}
## Training config

{_json_block(info.get("train_config") or {})}
## Usage

{_usage(repo_id)}"""


def _to_float_images(images: Any) -> torch.Tensor:
    """uint8 (N, 28, 28) or float (N, 1, 28, 28) / (N, 28, 28), tensor or array -> float (N, 1, 28, 28)."""
    x = torch.as_tensor(np.asarray(images) if not isinstance(images, torch.Tensor) else images)
    x = x.float() / 255.0 if x.dtype == torch.uint8 else x.float()
    return x.reshape(x.shape[0], 1, 28, 28).clamp(0.0, 1.0)


def _plot_loss(path: Path, history: dict[str, Any]) -> bool:
    from matplotlib.figure import Figure  # deferred: matplotlib costs ~1 s to import

    steps = [float(v) for v in history.get("step_loss") or []]
    epochs = [float(v) for v in history.get("epoch_test_bce") or []]
    if not steps and not epochs:
        return False
    fig = Figure(figsize=(6, 3.2), dpi=100, layout="constrained")
    ax = fig.add_subplot()
    if steps:
        ax.plot(range(1, len(steps) + 1), steps, lw=0.6, alpha=0.5, label="train BCE per step")
        window = max(1, len(steps) // 50)
        smooth = np.convolve(steps, np.ones(window) / window, mode="valid")
        ax.plot(range(window, len(steps) + 1), smooth, lw=1.5, label=f"train, mean of {window} steps")
    if epochs:
        per_epoch = len(steps) / len(epochs) if steps else 1
        xs = [per_epoch * (i + 1) for i in range(len(epochs))]
        ax.plot(xs, epochs, "o-", color="black", label="test BCE per epoch")
    ax.set_xlabel("step" if steps else "epoch")
    ax.set_ylabel("BCE per pixel")
    ax.legend(fontsize=8)
    fig.savefig(path)
    return True


@torch.inference_mode()
def _plot_reconstructions(path: Path, model: torch.nn.Module, x: torch.Tensor, n: int = 10) -> None:
    from matplotlib.figure import Figure

    x = x[:n]
    recon = model(x)  # (n, 1, 28, 28) in [0, 1]
    fig = Figure(figsize=(n * 0.8, 1.7), dpi=100)
    fig.subplots_adjust(left=0.01, right=0.99, bottom=0.02, top=0.98, wspace=0.05, hspace=0.08)
    for row, batch in enumerate((x, recon)):
        for i in range(x.shape[0]):
            ax = fig.add_subplot(2, n, row * n + i + 1)
            ax.imshow(batch[i, 0].numpy(), cmap="gray_r", vmin=0, vmax=1)
            ax.set_axis_off()
    fig.savefig(path)


@torch.inference_mode()
def _plot_embedding(path: Path, model: Any, x: torch.Tensor, labels: Any, classes: Sequence[str]) -> None:
    from matplotlib.figure import Figure

    codes = model.encode(x).double().numpy()  # (N, latent)
    codes -= codes.mean(axis=0)
    _, _, vt = np.linalg.svd(codes, full_matrices=False)
    xy = codes @ vt[:2].T  # (N, 2): first two principal components
    y = np.asarray(labels)[: len(xy)]
    fig = Figure(figsize=(5.5, 4.5), dpi=100, layout="constrained")
    ax = fig.add_subplot()
    for k in np.unique(y):
        pts = xy[y == k]
        name = classes[int(k)] if int(k) < len(classes) else str(k)
        ax.scatter(pts[:, 0], pts[:, 1], s=4, alpha=0.6, label=name)
    ax.set_xlabel("PC 1")
    ax.set_ylabel("PC 2")
    ax.legend(fontsize=7, markerscale=3, loc="best")
    fig.savefig(path)


def write_card_images(
    folder: str | os.PathLike,
    model: torch.nn.Module,
    info: dict[str, Any] | None = None,
    test_images: Any = None,
    test_labels: Any = None,
    max_points: int = 2000,
) -> list[str]:
    """Draw the card images into a checkpoint ``folder`` and re-render its README.md to show them.

    ``info`` (default: the folder's metrics.json) gives the loss history; ``test_images`` (uint8
    (N, 28, 28) or float (N, 1, 28, 28)) gives reconstructions; with ``test_labels`` also an
    embedding of up to ``max_points`` codes. Returns the image file names now in the folder.
    """
    folder = Path(folder)
    config = json.loads((folder / "config.json").read_text(encoding="utf-8"))
    stored = json.loads((folder / "metrics.json").read_text(encoding="utf-8"))
    info = stored if info is None else info
    model.eval()
    written: list[str] = []
    if _plot_loss(folder / "loss_curve.png", info.get("history") or {}):
        written.append("loss_curve.png")
    if test_images is not None and len(test_images):
        x = _to_float_images(test_images[:max_points])
        _plot_reconstructions(folder / "reconstructions.png", model, x)
        written.append("reconstructions.png")
        if test_labels is not None:
            from fmae.data import DATASETS

            classes = DATASETS.get(str(stored.get("dataset", "fashion")), ("", ()))[1]
            _plot_embedding(folder / "embedding.png", model, x, test_labels, classes)
            written.append("embedding.png")
    present = [name for name in CARD_IMAGES if (folder / name).is_file()]
    tmp = folder / "README.md.tmp"
    tmp.write_text(render_card(config, stored, images=present), encoding="utf-8")
    tmp.replace(folder / "README.md")
    return written
