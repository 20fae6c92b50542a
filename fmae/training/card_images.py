"""The images of a model card: the training loss curve, test reconstructions and a 2-D map
(first two principal components) of test-set latent codes, drawn with matplotlib (Agg, no
pyplot state); ``write_card_images`` then re-renders the card so it links them.
"""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch

from fmae.models import CARD_IMAGES, render_card


def _to_float_images(images: Any) -> torch.Tensor:
    """uint8 (N, 28, 28) or float (N, 1, 28, 28) / (N, 28, 28), tensor or array -> float (N, 1, 28, 28)."""
    x = torch.as_tensor(np.asarray(images) if not isinstance(images, torch.Tensor) else images)
    x = x.float() / 255.0 if x.dtype == torch.uint8 else x.float()
    return x.reshape(x.shape[0], 1, 28, 28).clamp(0.0, 1.0)


def _plot_loss(path: Path, history: dict[str, Any], variational: bool = False) -> bool:
    """The training loss per step (BCE per pixel; a VAE's adds its KL / 784, the loss it was trained
    on) and the test BCE per epoch, drawn to ``path``; False when the history has neither."""
    from matplotlib.figure import Figure  # deferred: matplotlib costs ~1 s to import

    steps = [float(v) for v in history.get("step_loss") or []]
    epochs = [float(v) for v in history.get("epoch_test_bce") or []]
    if not steps and not epochs:
        return False
    fig = Figure(figsize=(6, 3.2), dpi=100, layout="constrained")
    ax = fig.add_subplot()
    if steps:
        train_label = "train BCE + KL/784 per step" if variational else "train BCE per step"
        ax.plot(range(1, len(steps) + 1), steps, lw=0.6, alpha=0.5, label=train_label)
        window = max(1, len(steps) // 50)
        smooth = np.convolve(steps, np.ones(window) / window, mode="valid")
        ax.plot(range(window, len(steps) + 1), smooth, lw=1.5, label=f"train, mean of {window} steps")
    if epochs:
        per_epoch = len(steps) / len(epochs) if steps else 1
        xs = [per_epoch * (i + 1) for i in range(len(epochs))]
        ax.plot(xs, epochs, "o-", color="black", label="test BCE per epoch")
    ax.set_xlabel("step" if steps else "epoch")
    ax.set_ylabel("loss per pixel" if variational else "BCE per pixel")
    ax.legend(fontsize=8)
    fig.savefig(path)
    return True


@torch.inference_mode()
def _plot_reconstructions(path: Path, model: torch.nn.Module, x: torch.Tensor, n: int = 10) -> None:
    from matplotlib.figure import Figure

    x = x[:n]
    recon = model(x.to(next(model.parameters()).device)).cpu()  # (n, 1, 28, 28) in [0, 1]
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

    codes = model.encode(x.to(next(model.parameters()).device)).cpu().double().numpy()  # (N, latent)
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
    variational = hasattr(model, "posterior")  # a VAE: its training loss adds the KL term
    if _plot_loss(folder / "loss_curve.png", info.get("history") or {}, variational):
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
