"""What a 2-D map needs of latent codes, checked before any projection method sees them.

A map of N codes needs finite codes of a sane size that differ: a collapsed encoder (every image
gets the same code, or a handful of codes) makes scikit-learn's eigensolvers fail (ArpackError)
and its t-SNE divide by a zero standard deviation and segfault. ``check_codes`` refuses such
codes with :class:`UnusableCodesError`, whose message says what is wrong with the *model*.

Codes that vary along one direction only (latent size 1, or all but one direction dead) are
fine, but a 2-D method has nothing to lay out: every method then draws a *strip*, the code along
that direction against a small seeded jitter (``strip_map``), instead of failing on n_components.

Only NumPy here: the checks run in the server process before any native code is called.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from fmae.errors import FmaeError

MIN_POINTS = 30  # below this the scores (k=10 neighbours, 5-fold kNN) mean little
MIN_DISTINCT = 10  # fewer different codes cannot even tell Fashion-MNIST's 10 classes apart
MAX_ABS_CODE = 1e8  # beyond this, squared distances lose float32 precision or overflow
MIN_SPREAD = 1e-6  # codes closer than this to their mean (RMS) are one code for any decoder
MIN_RELATIVE_SPREAD = 1e-6  # ... or closer than this fraction of their size (float32 keeps ~7 digits)
DISTINCT_RESOLUTION = 1e-6  # codes closer than this fraction of the spread count as the same code
LINE_TOLERANCE = 1e-4  # second direction's std below this fraction of the first's: the codes lie on a line
STRIP_JITTER = 0.05  # a strip's y: uniform in +- this fraction of the code's std
_ADVICE = "Retrain it with a lower learning rate (e.g. 1e-3) or more data."


class ProjectionError(FmaeError):
    """A 2-D map cannot be made: a method failed, crashed or ran out of time (the message names
    the method), or the codes cannot be mapped at all (:class:`UnusableCodesError`)."""


class UnusableCodesError(ProjectionError):
    """The model's codes cannot be mapped by any method: not finite, too large, collapsed to one or
    a few codes, too few, or not an (N, latent) array. The message says what is wrong."""


@dataclass(frozen=True)
class CodeSummary:
    """What ``check_codes`` learnt about N codes (float64 statistics)."""

    n: int
    latent: int
    distinct: int  # different codes, at DISTINCT_RESOLUTION of the spread
    spread: float  # RMS distance of the codes to their mean
    mean: np.ndarray  # (latent,)
    axis: np.ndarray | None  # (latent,) unit direction when the codes lie on a line, else None

    @property
    def on_a_line(self) -> bool:
        """True when the codes vary along one direction only: they get a strip, not a 2-D layout."""
        return self.axis is not None


def check_codes(codes: np.ndarray, min_points: int = MIN_POINTS) -> CodeSummary:
    """Check that ``codes`` (N, latent) can be mapped; return what was measured.

    Raises UnusableCodesError (its message says what is wrong with the model) when the array is
    not (N, latent) with N >= ``min_points``, holds NaN or infinite values, values beyond
    ``MAX_ABS_CODE``, codes (nearly) all the same, or fewer than ``MIN_DISTINCT`` different codes.
    """
    codes = np.asarray(codes)
    if codes.ndim != 2 or codes.shape[1] < 1 or not np.issubdtype(codes.dtype, np.number):
        raise UnusableCodesError(f"Codes must be an (N, latent) array of numbers, not shape {codes.shape}.")
    n = len(codes)
    if n < min_points:
        raise UnusableCodesError(f"A map needs at least {min_points} codes; got {n}.")
    if bad := int((~np.isfinite(codes)).any(axis=1).sum()):
        raise UnusableCodesError(
            f"{bad} of the {n} codes contain NaN or infinite values: the model's weights have diverged "
            f"or are broken, so its codes cannot be mapped. {_ADVICE}"
        )
    x = codes.astype(np.float64)
    if (biggest := float(np.abs(x).max())) > MAX_ABS_CODE:
        raise UnusableCodesError(
            f"The codes reach {biggest:.3g} (beyond {MAX_ABS_CODE:.0e}): the model has diverged, and "
            f"distances between such codes cannot be computed reliably. {_ADVICE}"
        )
    mean = x.mean(0)
    centred = x - mean
    spread = float(np.sqrt((centred**2).sum(1).mean()))
    size = float(np.sqrt((x**2).sum(1).mean()))
    if spread == 0 or spread < MIN_SPREAD or spread < MIN_RELATIVE_SPREAD * size:
        same = "all {n} codes are the same" if spread == 0 else "all {n} codes are the same up to {d:.1e}"
        raise UnusableCodesError(
            f"The encoder has collapsed: {same.format(n=n, d=float(np.abs(centred).max()))}, so every "
            f"image lands on one point and there is nothing to map. {_ADVICE}"
        )
    distinct = _count_distinct(centred, spread * DISTINCT_RESOLUTION)
    if distinct < MIN_DISTINCT:
        raise UnusableCodesError(
            f"The encoder has (nearly) collapsed: only {distinct} different codes among {n} images "
            f"(a map needs at least {MIN_DISTINCT}). {_ADVICE}"
        )
    return CodeSummary(n, codes.shape[1], distinct, spread, mean, _line_axis(centred))


def _count_distinct(centred: np.ndarray, resolution: float) -> int:
    """Rows that differ by more than ``resolution`` (on a grid of that step; neighbours across a
    grid line may count twice, which only matters near MIN_DISTINCT)."""
    grid = np.floor(centred / resolution + 0.5).astype(np.int64)
    return len(np.unique(grid, axis=0))


def _line_axis(centred: np.ndarray) -> np.ndarray | None:
    """The codes' main direction (sign: largest component positive) if they vary along it only."""
    if centred.shape[1] == 1:
        return np.ones(1)
    values, vectors = np.linalg.eigh(centred.T @ centred)  # ascending
    if values[-2] > (LINE_TOLERANCE**2) * values[-1]:
        return None
    axis = vectors[:, -1]
    return axis * np.sign(axis[np.argmax(np.abs(axis))])


def strip_map(codes: np.ndarray, summary: CodeSummary, seed: int) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    """Codes on a line -> a strip (N, 2): x the code along its line (centred, in code units),
    y a uniform jitter of +- ``STRIP_JITTER`` of x's std from ``seed``; and the state ``place`` needs."""
    assert summary.axis is not None
    state = {"strip_mean": summary.mean, "strip_axis": summary.axis}
    x = strip_transform(state, codes)[:, 0]
    jitter = np.random.default_rng(seed).uniform(-1.0, 1.0, len(x)) * STRIP_JITTER * x.std()
    return np.stack([x, jitter], 1), state


def strip_transform(state: dict[str, np.ndarray], codes: np.ndarray) -> np.ndarray:
    """Where codes (M, latent) land on a strip: (M, 2), x along the line and y = 0 (the jitter's centre)."""
    x = (np.asarray(codes, np.float64) - state["strip_mean"]) @ state["strip_axis"]
    return np.stack([x, np.zeros_like(x)], 1)


def is_strip(state: dict[str, np.ndarray]) -> bool:
    """True for the state of a map made by ``strip_map``."""
    return "strip_axis" in state
