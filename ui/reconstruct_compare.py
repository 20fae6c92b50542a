"""The Reconstruct tab's work for one input: optional noise on it, one or two models, the figure,
the summary and the numbers. No Gradio here: the tab (``ui/reconstruct_tab.py``) and the agents'
``reconstruct`` tool (``ui/agent_tools.py``) both call ``explain``.

Noise is training's own (``fmae.training.corrupt``: Gaussian or masking) drawn from a generator
seeded with ``NOISE_SEED``, so the same drawing with the same setting always gets the same noisy
input, and the numbers can be reproduced. Both models see that noisy input; every error (the
model's MSE, its percentile, PCA's MSE) is measured against the clean input, which is what a
denoising autoencoder is judged on.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

from fmae.images import Answer, compare_figure
from fmae.models import Analysis, analyze
from fmae.session import ModelEntry
from fmae.training import Noise, corrupt, parse_noise
from ui.i18n import tr

NOISE_SEED = 0  # one fixed seed: reproducible noisy inputs (and numbers) for the same drawing
NOISE_KINDS = ("gaussian", "mask")  # what the tab offers: training's kinds but "none" (level 0 is off)
SCALE = 8  # 28 px -> 224 px, nearest neighbour: every model pixel stays visible
PRETTY = {"fashion": "Fashion-MNIST", "mnist": "MNIST"}


def noise_of(kind: str | None, level: float | None) -> Noise:
    """The tab's noise controls -> ``Noise`` (level 0 or None: no noise; kind None: Gaussian).

    ``level`` is the standard deviation in [0, 1] pixel units (gaussian) or the fraction of pixels
    set to 0 (mask). Raises ValueError for another kind or a level outside [0, 1] (or not a number).
    """
    if level is None or level == 0:
        return Noise()
    if isinstance(level, bool) or not isinstance(level, int | float):
        raise ValueError(f"the noise level must be a number in [0, 1], not {level!r}")
    if (kind or "gaussian") not in NOISE_KINDS:
        raise ValueError(f"the noise kind must be one of {', '.join(NOISE_KINDS)}, not {kind!r}")
    return parse_noise(f"{kind or 'gaussian'}:{float(level)!r}")


def noisy_input(x: np.ndarray, noise: Noise, seed: int = NOISE_SEED) -> np.ndarray:
    """``x`` (28, 28) float in [0, 1] corrupted by ``noise`` with a generator seeded ``seed``:
    (28, 28) float32 in [0, 1], the same for the same ``x``, ``noise`` and ``seed``."""
    t = torch.from_numpy(np.ascontiguousarray(x, dtype=np.float32)).reshape(28, 28)
    generator = torch.Generator().manual_seed(seed)
    return corrupt(t, noise, generator).numpy().copy()


def against_clean(a: Analysis, clean: np.ndarray, entry: ModelEntry) -> Analysis:
    """``a`` (the analysis of a noisy input) with its errors measured against ``clean`` instead:
    squared-error map, MSE, its percentile among the test errors, and PCA's MSE. ``a.input`` stays
    the model's (noisy) input."""
    err = (a.recon - clean) ** 2
    mse = float(err.mean())
    pct = entry.assets.percentile(mse) if entry.assets is not None else None
    pca_mse = None if a.pca_recon is None else float(((a.pca_recon - clean) ** 2).mean())
    return dataclasses.replace(a, error_map=err, mse=mse, percentile=pct, pca_mse=pca_mse)


@dataclass(frozen=True)
class Explained:
    """One input explained by one or two models."""

    clean: np.ndarray  # (28, 28) float32 in [0, 1]: the visitor's input, what errors compare with
    noise: Noise
    noisy: np.ndarray | None  # (28, 28): what the models saw when noise is on; None without noise
    models: list[tuple[ModelEntry, Analysis]]  # A (the picked model), then B if any; errors vs clean


def explain(x: np.ndarray, entry: ModelEntry, second: ModelEntry | None = None,
            noise: Noise | None = None) -> Explained:  # fmt: skip
    """``x`` (28, 28) in [0, 1] through ``entry`` (and ``second``), corrupted first by ``noise``.

    Both models see the same input (prepared for ``entry``'s dataset). Raises NonFiniteError (an
    FmaeError) when a model's code or reconstruction is not finite.
    """
    clean = np.ascontiguousarray(x, dtype=np.float32).reshape(28, 28)
    noise = noise or Noise()
    seen = noisy_input(clean, noise) if noise.active else clean
    models = []
    for e in (entry, second):
        if e is not None:
            a = analyze(e.checkpoint.model, seen, e.assets)
            models.append((e, against_clean(a, clean, e) if noise.active else a))
    return Explained(clean, noise, seen if noise.active else None, models)


def noise_label(noise: Noise) -> str:
    """The noisy tile's title in the figure (ASCII: the figure's font has no Greek)."""
    return f"noisy input, {noise.kind} {noise.level:.2f}"


def figure(r: Explained) -> np.ndarray:
    """The tab's figure (RGB uint8); with one model and no noise, ``explain_figure``'s."""
    answers = [Answer(e.name, a.recon, a.pca_recon, a.latent) for e, a in r.models]
    return compare_figure(r.clean, answers, r.noisy, noise_label(r.noise), scale=SCALE)


def _model_lines(a: Analysis, entry: ModelEntry, lang: str, letter: str = "") -> list[str]:
    dataset = PRETTY.get(entry.checkpoint.dataset, entry.checkpoint.dataset)
    lines = [(f"**{letter}:** " if letter else "") + tr(lang, "rec_mse", mse=a.mse, name=entry.name)]
    if a.percentile is not None:
        lines.append(tr(lang, "rec_percentile", p=a.percentile, dataset=dataset))
    if a.pca_mse is not None:
        better = "rec_pca_better" if a.mse < a.pca_mse else "rec_pca_worse"
        lines.append(tr(lang, better, k=a.latent.shape[0], mse=a.pca_mse))
    code = ", ".join(f"{v:+.2f}" for v in a.latent[:32]) + (", …" if a.latent.shape[0] > 32 else "")
    lines.append(tr(lang, "rec_latent", n=a.latent.shape[0], code=code))
    return lines


def summary(r: Explained, lang: str = "en") -> str:
    """The numbers under the figure, as markdown in ``lang``: the noise, the two errors side by side,
    then each model's details."""
    lines = []
    if r.noise.active:
        what = tr(lang, f"rec_noise_{r.noise.kind}", level=r.noise.level)
        lines.append(tr(lang, "rec_noise", what=what, seed=NOISE_SEED))
    if len(r.models) == 1:
        return "\n\n".join(lines + _model_lines(r.models[0][1], r.models[0][0], lang))
    (ea, a), (eb, b) = r.models
    verdict = "rec_compare_tie" if a.mse == b.mse else "rec_compare_a" if a.mse < b.mse else "rec_compare_b"
    values = {"a": ea.name, "b": eb.name, "mse_a": a.mse, "mse_b": b.mse}
    lines.append(tr(lang, "rec_compare", **values, verdict=tr(lang, verdict)))
    if eb.checkpoint.dataset != ea.checkpoint.dataset:
        other = PRETTY.get(eb.checkpoint.dataset, eb.checkpoint.dataset)
        lines.append(tr(lang, "rec_other_dataset", name=eb.name, dataset=other))
    return "\n\n".join(lines + _model_lines(a, ea, lang, "A") + _model_lines(b, eb, lang, "B"))


def grid(x: np.ndarray | None) -> list[list[float]] | None:
    """A (28, 28) image as rows of floats, 3 decimals (None stays None)."""
    return None if x is None else np.round(np.asarray(x, np.float64), 3).tolist()


def model_numbers(a: Analysis, entry: ModelEntry) -> dict[str, Any]:
    """One model's part of the numbers: its errors (against the clean input), code and images."""
    return {
        "model": entry.name, "dataset": entry.checkpoint.dataset, "mse": a.mse, "percentile": a.percentile,
        "pca_mse": a.pca_mse, "latent": [round(float(v), 4) for v in a.latent],
        "reconstruction": grid(a.recon), "pca_reconstruction": grid(a.pca_recon),
    }  # fmt: skip


def numbers(r: Explained) -> dict[str, Any]:
    """The result as JSON for API users: model A's numbers at the top level (as before noise and
    comparison existed), ``input`` the clean 28x28 input, ``noise`` ("none" or e.g. "gaussian:0.3"),
    ``noise_seed``, ``noisy_input`` (the models' input, or None) and ``second`` (B's numbers, or None).
    Every ``mse`` is the mean over the 784 pixels of (reconstruction - input)^2, pixels in [0, 1]."""
    (ea, a), *rest = r.models
    out = model_numbers(a, ea)
    out["input"] = grid(r.clean)
    out.update(noise=str(r.noise), noise_seed=NOISE_SEED, noisy_input=grid(r.noisy))
    out["second"] = model_numbers(rest[0][1], rest[0][0]) if rest else None
    return out
