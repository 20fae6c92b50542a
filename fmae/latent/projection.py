"""Latent codes -> 2-D maps (PCA, Kernel PCA, t-SNE, Isomap, LLE, UMAP); their scores: scores.py.

Every map is a :class:`Projection`: coordinates, the time the fit took, and the plain arrays
needed to place a *new* code on the map (PCA and Kernel PCA transform it exactly; the
neighbour-graph methods place it at the distance-weighted mean of its nearest codes' points).
Everything is NumPy arrays, so projections round-trip through ``.npz`` without pickle.

``project`` checks the codes first (``fmae.latent.checks``): unusable codes raise
UnusableCodesError saying what is wrong with the model, codes on a line get a strip, and any
exception of a method becomes a ProjectionError naming it. Native code can still crash or run
long: ``fmae.latent.worker`` runs it in a worker process. The methods live in ``methods.py``;
the cache of computed maps (memory and .npz files) in ``cache.py``.
"""

from __future__ import annotations

import importlib
import time
import warnings
from dataclasses import dataclass, field

import numpy as np

from fmae.errors import FmaeError
from fmae.latent.checks import (
    MIN_POINTS,
    ProjectionError,
    check_codes,
    is_strip,
    strip_map,
    strip_transform,
)
from fmae.latent.methods import LABELS, METHODS, NO_UMAP, Method, umap_available
from fmae.latent.scores import score

DEFAULT_N = 2000  # points in the shipped, precomputed maps
DEFAULT_METHODS = ("pca", "kpca", "tsne")  # the shipped maps, and what the Embeddings tab shows first
PLACE_K = 5  # neighbours used to place a new code on a neighbour-graph map

__all__ = [
    "DEFAULT_METHODS",
    "DEFAULT_N",
    "LABELS",
    "METHODS",
    "MIN_POINTS",
    "Method",
    "Projection",
    "map_and_score",
    "place",
    "project",
    "subsample",
    "umap_available",
]


@dataclass
class Projection:
    """A 2-D map of N latent codes and what is needed to place new codes on it."""

    method: str
    coords: np.ndarray  # (N, 2) float32, finite
    seconds: float  # time the fit took (the original fit, also when loaded from disk)
    state: dict[str, np.ndarray] = field(default_factory=dict)  # arrays for place()
    codes: np.ndarray | None = None  # (N, latent) the codes that were projected
    labels: np.ndarray | None = None  # (N,) int64 class labels of those codes
    indices: np.ndarray | None = None  # (N,) rows of the source set (e.g. the test set)
    scores: dict[str, float] = field(default_factory=dict)  # see score()
    seed: int = 0

    def __len__(self) -> int:
        return int(self.coords.shape[0])

    @property
    def is_strip(self) -> bool:
        """True when the codes lay on a line (e.g. latent size 1): x is the code, y a jitter."""
        return is_strip(self.state)


def _method(name: str) -> Method:
    """The registered method ``name`` with its modules imported (so imports are not timed)."""
    if name == "umap" and name not in METHODS:
        raise ProjectionError(NO_UMAP)
    if name not in METHODS:
        raise ProjectionError(f"unknown projection {name!r}; choose one of {list(METHODS)}")
    try:
        for module in METHODS[name].modules:
            importlib.import_module(module)
    except ImportError as exc:
        raise ProjectionError(NO_UMAP if name == "umap" else f"cannot import {exc.name}: {exc}") from None
    return METHODS[name]


def project(codes: np.ndarray, method: str, seed: int = 0) -> Projection:
    """Fit ``method`` to ``codes`` (N, latent); return finite (N, 2) float32 coordinates and the time.

    ``seed`` drives every random part (LLE's and Kernel PCA's eigensolvers, UMAP, a strip's
    jitter); t-SNE starts from PCA, so its map is the same for every seed. Codes that vary along
    one direction only (latent size 1) get a strip from every method (``Projection.is_strip``).
    Raises UnusableCodesError (a ProjectionError) when the codes cannot be mapped (see
    ``checks.check_codes``), ProjectionError naming the method when it is unknown or fails.
    """
    spec = _method(method)
    summary = check_codes(codes)
    x = np.asarray(codes, np.float64)
    start = time.perf_counter()
    if summary.on_a_line:
        coords, state = strip_map(x, summary, seed)
    else:
        coords, state = _fit(spec, x, seed)
    seconds = time.perf_counter() - start
    coords = np.asarray(coords, np.float32)
    if coords.shape != (len(x), 2) or not np.isfinite(coords).all():
        raise ProjectionError(f"{spec.label} produced no finite 2-D map for these {len(x)} codes.")
    return Projection(method, coords, seconds, state, codes=np.asarray(codes, np.float32), seed=seed)


def _fit(spec: Method, codes: np.ndarray, seed: int) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    """``spec.fit``, with any exception of the method (ArpackError, ValueError...) as ProjectionError."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # sklearn's chatter (disconnected graphs, convergence)
            return spec.fit(codes, seed)
    except FmaeError:
        raise
    except MemoryError:
        raise ProjectionError(f"{spec.label} ran out of memory on {len(codes)} codes; use fewer.") from None
    except Exception as exc:  # noqa: BLE001 - native libraries raise anything; visitors get one clear type
        reason = f"{type(exc).__name__}: {exc}"[:300]
        raise ProjectionError(f"{spec.label} failed on these {len(codes)} codes ({reason}).") from None


def map_and_score(codes: np.ndarray, labels: np.ndarray, method: str, seed: int = 0) -> Projection:
    """``project`` the codes (N, latent), then score the map against their labels (N,) int."""
    projection = project(codes, method, seed)
    projection.labels = np.asarray(labels, np.int64)
    try:
        projection.scores = score(projection.codes, projection.coords, projection.labels)
    except Exception as exc:  # noqa: BLE001 - sklearn's neighbours; the checks make this unlikely
        reason = f"{type(exc).__name__}: {exc}"[:300]
        raise ProjectionError(f"Scoring the {LABELS[method]} map failed ({reason}).") from None
    return projection


def place(projection: Projection, codes_all: np.ndarray | None, new_codes: np.ndarray) -> np.ndarray:
    """Coordinates (M, 2) float32 of ``new_codes`` (M, latent) or (latent,) on ``projection``'s map.

    PCA and Kernel PCA transform exactly; a strip puts the code on its line at y = 0. The other
    maps have no transform: a new code goes to the distance-weighted mean of the map points of
    its ``PLACE_K`` nearest codes among ``codes_all`` (the N projected codes, row-aligned with the
    coordinates; None: the ones the projection stored). A code equal to a projected one lands on
    that point. Non-finite codes give non-finite coordinates. Raises ValueError when
    ``codes_all`` does not match the map.
    """
    new = np.atleast_2d(np.asarray(new_codes, np.float64))
    if projection.is_strip:
        return strip_transform(projection.state, new).astype(np.float32)
    spec = METHODS.get(projection.method)
    if spec is not None and spec.transform is not None and projection.state:
        return spec.transform(projection.state, new).astype(np.float32)
    base = projection.codes if codes_all is None else codes_all
    if base is None or len(base) != len(projection):
        raise ValueError("codes_all must hold the projected codes, one row per map point")
    base = np.asarray(base, np.float64)
    k = min(PLACE_K, len(base))
    dist = np.sqrt(np.maximum((new**2).sum(1)[:, None] - 2 * new @ base.T + (base**2).sum(1)[None], 0.0))
    nbrs = np.argpartition(dist, k - 1, axis=1)[:, :k]  # (M, k)
    weights = 1.0 / (np.take_along_axis(dist, nbrs, 1) + 1e-9)
    weights /= weights.sum(1, keepdims=True)
    return np.einsum("mk,mkc->mc", weights, projection.coords[nbrs].astype(np.float64)).astype(np.float32)


def subsample(labels: np.ndarray, n: int, seed: int = 0) -> np.ndarray:
    """Sorted indices of ``n`` rows, class proportions kept (a seeded permutation per class).

    Deterministic for (labels, n, seed), and nested: a smaller n picks a subset of a larger n.
    Raises FmaeError when ``n`` is not in [1, len(labels)].
    """
    labels = np.asarray(labels)
    total = len(labels)
    if not 0 < n <= total:
        raise FmaeError(f"number of points must be between 1 and {total}, not {n}")
    order = np.random.default_rng(seed).permutation(total)
    rank = np.empty(total)
    for c in np.unique(labels):
        members = order[labels[order] == c]  # this class in permuted order
        rank[members] = (np.arange(len(members)) + 0.5) / len(members)
    return np.sort(np.argsort(rank, kind="stable")[:n])
