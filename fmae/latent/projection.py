"""Latent codes -> 2-D maps (PCA, Kernel PCA, t-SNE, Isomap, LLE, UMAP); their scores: embed_score.

Every method returns a :class:`Projection`: coordinates, the time the fit took, and the plain
arrays needed to place a *new* code on the map (PCA and Kernel PCA transform it exactly; the
neighbour-graph methods place it at the distance-weighted mean of its nearest codes' points).
Everything is NumPy arrays, so projections round-trip through ``.npz`` without pickle.

scikit-learn and umap are imported inside functions: loading a cached map stays cheap.
The cache of computed maps (memory and .npz files) lives in ``fmae.latent.cache``.
"""

from __future__ import annotations

import importlib.util
import time
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cache

import numpy as np

from fmae.errors import FmaeError

DEFAULT_N = 2000  # points in the shipped, precomputed maps
DEFAULT_METHODS = ("pca", "kpca", "tsne")  # the shipped maps, and what the Embeddings tab shows first
MIN_POINTS = 30  # below this the scores (k=10 neighbours, 5-fold kNN) mean little
PLACE_K = 5  # neighbours used to place a new code on a neighbour-graph map

# Fast t-SNE schedule (see benchmarks/embed_speed.py): 100 early-exaggeration iterations
# instead of 250, 350 in all instead of 1000, a learning rate of N/12 (4x sklearn's "auto",
# which is N/48; the gains adapt it) and a coarser Barnes-Hut angle. Same trustworthiness.
TSNE_EXAGGERATION_ITERS = 100
TSNE_MAX_ITER = 350
TSNE_ANGLE = 0.7
# Up to this N, t-SNE runs on one OpenMP thread: its per-iteration work is small and the
# threads' barriers cost more than they save, badly so on a busy 2-core machine (N=2000 here:
# 3.7 s on one thread vs 9.5 s on two). Larger N keep sklearn's default thread count.
TSNE_ONE_THREAD_MAX_N = 2500


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


@dataclass(frozen=True)
class Method:
    """A registered projection: ``fit(codes, seed) -> (coords, state)``; ``transform`` or None."""

    name: str
    label: str
    fit: Callable[[np.ndarray, int], tuple[np.ndarray, dict[str, np.ndarray]]]
    transform: Callable[[dict[str, np.ndarray], np.ndarray], np.ndarray] | None = None
    modules: tuple[str, ...] = ("sklearn.manifold",)  # imported before the clock starts


def _fit_pca(codes: np.ndarray, seed: int) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    from sklearn.decomposition import PCA

    pca = PCA(2, random_state=seed).fit(codes)
    state = {"mean": pca.mean_.astype(np.float64), "components": pca.components_.astype(np.float64)}
    return _pca_transform(state, codes), state


def _pca_transform(state: dict[str, np.ndarray], codes: np.ndarray) -> np.ndarray:
    return (np.asarray(codes, np.float64) - state["mean"]) @ state["components"].T


def _fit_kpca(codes: np.ndarray, seed: int) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    from sklearn.decomposition import KernelPCA

    x = np.asarray(codes, np.float64)
    # sklearn's default gamma = 1/n_features ignores the codes' scale (std ~5 here) and makes
    # the kernel almost diagonal (trustworthiness 0.81); the "scale" rule of SVC fits (0.89).
    gamma = 1.0 / (x.shape[1] * max(float(x.var()), 1e-12))
    kpca = KernelPCA(2, kernel="rbf", gamma=gamma, random_state=seed).fit(x)
    vals, vecs = kpca.eigenvalues_, kpca.eigenvectors_
    alphas = np.zeros_like(vecs)
    nonzero = vals > 0
    alphas[:, nonzero] = vecs[:, nonzero] / np.sqrt(vals[nonzero])
    k_fit_rows = np.concatenate([_rbf(x[i : i + 1000], x, gamma).mean(1) for i in range(0, len(x), 1000)])
    state = {
        "fit_codes": x,
        "alphas": alphas,
        "gamma": np.float64(gamma),
        "k_fit_rows": k_fit_rows,  # column means of the training kernel (it is symmetric)
        "k_fit_all": np.float64(k_fit_rows.mean()),
    }
    return _kpca_transform(state, x), state


def _rbf(a: np.ndarray, b: np.ndarray, gamma: float) -> np.ndarray:
    sq = (a**2).sum(1)[:, None] - 2 * a @ b.T + (b**2).sum(1)[None, :]
    return np.exp(-gamma * np.maximum(sq, 0.0))


def _kpca_transform(state: dict[str, np.ndarray], codes: np.ndarray) -> np.ndarray:
    """KernelPCA.transform from plain arrays: centred rbf kernel times scaled eigenvectors."""
    k = _rbf(np.asarray(codes, np.float64), state["fit_codes"], float(state["gamma"]))  # (M, N)
    k = k - state["k_fit_rows"][None, :] - k.mean(1, keepdims=True) + float(state["k_fit_all"])
    return k @ state["alphas"]


@cache
def _fast_tsne_class() -> type:
    from sklearn.manifold import TSNE

    class FastTSNE(TSNE):
        # Class attribute sklearn (1.2-1.9 at least) reads as the length of the early
        # exaggeration phase (250 there); were it ignored, t-SNE would only get slower.
        _EXPLORATION_MAX_ITER = TSNE_EXAGGERATION_ITERS

    return FastTSNE


def _fit_tsne(codes: np.ndarray, seed: int) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    from threadpoolctl import threadpool_limits  # a scikit-learn dependency

    n = len(codes)
    tsne = _fast_tsne_class()(
        2,
        perplexity=min(30.0, (n - 1) / 3.0 - 1.0),
        learning_rate=max(n / 12.0, 50.0),
        max_iter=TSNE_MAX_ITER,
        angle=TSNE_ANGLE,
        init="pca",
        random_state=seed,
    )
    with threadpool_limits(limits=1 if n <= TSNE_ONE_THREAD_MAX_N else None, user_api="openmp"):
        return tsne.fit_transform(np.asarray(codes, np.float32)), {}


def _fit_isomap(codes: np.ndarray, seed: int) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    from sklearn.manifold import Isomap

    return Isomap(n_neighbors=5, n_components=2).fit_transform(codes), {}


def _fit_lle(codes: np.ndarray, seed: int) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    from sklearn.manifold import LocallyLinearEmbedding

    lle = LocallyLinearEmbedding(n_neighbors=5, n_components=2, random_state=seed)
    return lle.fit_transform(codes), {}


def _fit_umap(codes: np.ndarray, seed: int) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    import umap

    return umap.UMAP(n_components=2, random_state=seed).fit_transform(codes), {}


_NO_UMAP = "UMAP needs the optional package umap-learn: pip install umap-learn"


def umap_available() -> bool:
    """True when the optional ``umap-learn`` package can be imported."""
    return importlib.util.find_spec("umap") is not None


_ALL_METHODS = (
    Method("pca", "PCA", _fit_pca, _pca_transform, ("sklearn.decomposition",)),
    Method("kpca", "Kernel PCA (rbf)", _fit_kpca, _kpca_transform, ("sklearn.decomposition",)),
    Method("tsne", "t-SNE", _fit_tsne),
    Method("isomap", "Isomap", _fit_isomap),
    Method("lle", "LLE", _fit_lle),
    Method("umap", "UMAP", _fit_umap, modules=("umap",)),
)
#: name -> Method, in display order; "umap" only when umap-learn is installed
METHODS: dict[str, Method] = {m.name: m for m in _ALL_METHODS if m.name != "umap" or umap_available()}
LABELS: dict[str, str] = {m.name: m.label for m in _ALL_METHODS}


def _check_codes(codes: np.ndarray) -> np.ndarray:
    codes = np.asarray(codes)
    if codes.ndim != 2 or codes.shape[0] < MIN_POINTS or not np.isfinite(codes).all():
        raise FmaeError(f"need a finite (N, latent) array of codes with N >= {MIN_POINTS}, got {codes.shape}")
    return codes


def _method(name: str) -> Method:
    """The registered method ``name`` with its modules imported (so imports are not timed)."""
    if name == "umap" and name not in METHODS:
        raise FmaeError(_NO_UMAP)
    if name not in METHODS:
        raise FmaeError(f"unknown projection {name!r}; choose one of {list(METHODS)}")
    try:
        for module in METHODS[name].modules:
            importlib.import_module(module)
    except ImportError as exc:
        raise FmaeError(_NO_UMAP if name == "umap" else f"cannot import {exc.name}: {exc}") from None
    return METHODS[name]


def project(codes: np.ndarray, method: str, seed: int = 0) -> Projection:
    """Fit ``method`` to ``codes`` (N, latent); return finite (N, 2) coordinates and the time.

    ``seed`` drives every random part (LLE's and Kernel PCA's eigensolvers, UMAP); t-SNE starts
    from PCA, so its map is the same for every seed. Raises FmaeError on a bad input or method.
    """
    codes = _check_codes(codes)
    spec = _method(method)
    start = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # sklearn's chatter (disconnected graphs, convergence)
        coords, state = spec.fit(codes, seed)
    seconds = time.perf_counter() - start
    coords = np.asarray(coords, np.float32)
    if coords.shape != (len(codes), 2) or not np.isfinite(coords).all():
        raise FmaeError(f"{spec.label} produced no finite 2-D map for these {len(codes)} codes")
    return Projection(method, coords, seconds, state, codes=np.asarray(codes, np.float32), seed=seed)


def place(projection: Projection, codes_all: np.ndarray | None, new_codes: np.ndarray) -> np.ndarray:
    """Coordinates (M, 2) of ``new_codes`` (M, latent) or (latent,) on ``projection``'s map.

    PCA and Kernel PCA transform exactly. The other maps have no transform: a new code goes to
    the distance-weighted mean of the map points of its ``PLACE_K`` nearest codes among
    ``codes_all`` (the N projected codes, row-aligned with the coordinates; None: the ones the
    projection stored). A code equal to a projected one lands on that point.
    """
    new = np.atleast_2d(np.asarray(new_codes, np.float64))
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
