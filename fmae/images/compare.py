"""One input through one or two models, optionally corrupted first: the Reconstruct tab's figure
when it compares models or shows a denoising run.

``compare_figure`` extends ``plots.explain_figure``: the same 224 px tiles (input, reconstruction,
|error|, PCA), one row per model, with the noisy input the models saw as a column of its own. Errors
are always drawn against the clean input, which is what a denoiser is judged on. With one model and
no noise it returns exactly ``explain_figure``'s picture.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import NamedTuple

import numpy as np

from fmae.images.plots import _font, bars, explain_figure, gray, heatmap, labelled_row

LABEL_SIZE = 15  # the font size ``plots.label`` draws with


class Answer(NamedTuple):
    """One model's answer to the input, as the figure shows it."""

    name: str  # the model's name, above its reconstruction when two are shown (cut to fit)
    recon: np.ndarray  # (28, 28) reconstruction in [0, 1]
    pca: np.ndarray | None  # (28, 28) PCA reconstruction with as many components as the code; None: none
    latent: np.ndarray  # (latent_dim,) the code


def fit_text(text: str, width: int, size: int = LABEL_SIZE) -> str:
    """``text`` cut (with "...") so that it fits ``width`` pixels in the labels' font."""
    font = _font(size)
    if font.getlength(text) <= width - 8:
        return text
    while text and font.getlength(text + "...") > width - 8:
        text = text[:-1]
    return text + "..."


def _blank(h: int) -> np.ndarray:
    return np.full((h, h, 3), 255, dtype=np.uint8)


def compare_figure(
    x: np.ndarray,
    answers: Sequence[Answer],
    noisy: np.ndarray | None = None,
    noise_label: str = "noisy input",
    scale: int = 8,
) -> np.ndarray:
    """The figure for ``x`` (the clean (28, 28) input in [0, 1]) and 1 or 2 models' ``answers``.

    Columns: the clean input; ``noisy`` (what the models saw, when given, titled ``noise_label``);
    each model's reconstruction; its |reconstruction - x| heatmap (vmax 1: colours compare across
    rows); its PCA reconstruction (grey square when None). One row per model, its name above its
    reconstruction; the input columns are left white in the second row. Below: each model's latent
    code as bars. Returns RGB uint8 (H, W, 3); W = 224 * columns + 12 * (columns - 1) at ``scale`` 8.

    Raises ValueError for no answers or more than two.
    """
    if not 1 <= len(answers) <= 2:
        raise ValueError(f"compare_figure shows 1 or 2 models, got {len(answers)}")
    if len(answers) == 1 and noisy is None:
        a = answers[0]
        return explain_figure(x, a.recon, a.pca, a.latent, scale=scale)
    side = x.shape[0] * scale
    err_name = "|error| vs clean input" if noisy is not None else "|error| per pixel"
    rows = []
    for i, a in enumerate(answers):
        inputs: list[np.ndarray | None] = [gray(x, scale) if i == 0 else _blank(side)]
        names = ["clean input (28x28)" if noisy is not None else "model input (28x28)"] if i == 0 else [""]
        if noisy is not None:
            inputs.append(gray(noisy, scale) if i == 0 else _blank(side))
            names.append(fit_text(noise_label, side) if i == 0 else "")
        k = a.latent.shape[0]
        tiles = [*inputs, gray(a.recon, scale), heatmap(np.abs(a.recon - x), vmax=1.0, scale=scale)]
        tiles.append(None if a.pca is None else gray(a.pca, scale))
        title = "reconstruction" if len(answers) == 1 else f"{'AB'[i]}: {a.name}"
        names += [fit_text(title, side), err_name]
        names.append(f"PCA, {k} components" if a.pca is not None else "PCA: not available")
        rows.append(labelled_row(tiles, names))
    width = rows[0].shape[1]
    parts = []
    for i, row in enumerate(rows):
        parts += [row, np.full((12 if i < len(rows) - 1 else 8, width, 3), 255, dtype=np.uint8)]
    for i, a in enumerate(answers):
        k = a.latent.shape[0]
        title = f"latent code ({k} numbers)" if len(answers) == 1 else f"{'AB'[i]}: latent code ({k} numbers)"
        parts.append(labelled_row([bars(a.latent, width=width, height=100)], [title]))
    return np.concatenate(parts, axis=0)
