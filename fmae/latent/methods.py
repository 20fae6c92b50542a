"""The projection methods: codes (N, latent) -> coordinates (N, 2), each a registered ``Method``.

Each ``fit(codes, seed)`` gets float64 codes that ``fmae.latent.checks`` has passed (finite,
spread out, at least MIN_DISTINCT different codes, not on a line) and returns the coordinates
and the plain arrays its ``transform`` needs (PCA and Kernel PCA) to place new codes.
The neighbour-graph methods fit centred codes: distances between codes far from the origin
would otherwise lose their digits in float32 (t-SNE computes in float32).

scikit-learn and umap are imported inside the functions: importing fmae.latent stays cheap.
"""

from __future__ import annotations

import importlib.util
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache

import numpy as np

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
TSNE_INIT_STD = 1e-4  # sklearn's scale of a t-SNE start layout (its PC1 std, issue #18018)

Fit = Callable[[np.ndarray, int], tuple[np.ndarray, dict[str, np.ndarray]]]
Transform = Callable[[dict[str, np.ndarray], np.ndarray], np.ndarray]


@dataclass(frozen=True)
class Method:
    """A registered projection: ``fit(codes, seed) -> (coords, state)``; ``transform`` or None."""

    name: str
    label: str
    fit: Fit
    transform: Transform | None = None
    modules: tuple[str, ...] = ("sklearn.manifold",)  # imported before the clock starts


def _centred(codes: np.ndarray) -> np.ndarray:
    x = np.asarray(codes, np.float64)
    return x - x.mean(0)


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
    # The checks guarantee a variance far above zero; tiny only keeps the division defined.
    gamma = 1.0 / (x.shape[1] * max(float(x.var()), np.finfo(np.float64).tiny))
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


def tsne_init(codes: np.ndarray, seed: int) -> np.ndarray:
    """t-SNE's start layout (N, 2) float32, always finite: sklearn's ``init="pca"`` (the first two
    principal components, scaled so PC1 has std 1e-4) when that is finite, else its ``"random"``.

    sklearn divides by PC1's std itself; for constant codes that is 0 and its native code then
    segfaults on the NaN layout (sklearn 1.9.1). Passing the layout keeps that division here.
    """
    from sklearn.decomposition import PCA

    x = np.asarray(codes, np.float32)
    layout = PCA(2, random_state=np.random.RandomState(seed)).fit_transform(x).astype(np.float32)
    std = float(np.std(layout[:, 0]))
    if std > 0 and np.isfinite(layout).all():
        layout = layout / std * TSNE_INIT_STD
        if np.isfinite(layout).all():
            return layout
    return (TSNE_INIT_STD * np.random.RandomState(seed).standard_normal((len(x), 2))).astype(np.float32)


def _fit_tsne(codes: np.ndarray, seed: int) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    from threadpoolctl import threadpool_limits  # a scikit-learn dependency

    n = len(codes)
    x = _centred(codes).astype(np.float32)
    tsne = _fast_tsne_class()(
        2,
        perplexity=min(30.0, (n - 1) / 3.0 - 1.0),
        learning_rate=max(n / 12.0, 50.0),
        max_iter=TSNE_MAX_ITER,
        angle=TSNE_ANGLE,
        init=tsne_init(x, seed),
        random_state=seed,
    )
    with threadpool_limits(limits=1 if n <= TSNE_ONE_THREAD_MAX_N else None, user_api="openmp"):
        return tsne.fit_transform(x), {}


def _fit_isomap(codes: np.ndarray, seed: int) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    from sklearn.manifold import Isomap

    return Isomap(n_neighbors=5, n_components=2).fit_transform(_centred(codes)), {}


def _fit_lle(codes: np.ndarray, seed: int) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    from sklearn.manifold import LocallyLinearEmbedding

    lle = LocallyLinearEmbedding(n_neighbors=5, n_components=2, random_state=seed)
    return lle.fit_transform(_centred(codes)), {}


def _fit_umap(codes: np.ndarray, seed: int) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    import umap

    return umap.UMAP(n_components=2, random_state=seed).fit_transform(_centred(codes)), {}


NO_UMAP = "UMAP needs the optional package umap-learn: pip install umap-learn"


def umap_available() -> bool:
    """True when the optional ``umap-learn`` package can be imported."""
    return importlib.util.find_spec("umap") is not None


_ALL_METHODS = (
    Method("pca", "PCA", _fit_pca, _pca_transform, ("sklearn.decomposition",)),
    Method("kpca", "Kernel PCA (rbf)", _fit_kpca, _kpca_transform, ("sklearn.decomposition",)),
    Method("tsne", "t-SNE", _fit_tsne, modules=("sklearn.manifold", "sklearn.decomposition")),
    Method("isomap", "Isomap", _fit_isomap),
    Method("lle", "LLE", _fit_lle),
    Method("umap", "UMAP", _fit_umap, modules=("umap",)),
)
#: name -> Method, in display order; "umap" only when umap-learn is installed
METHODS: dict[str, Method] = {m.name: m for m in _ALL_METHODS if m.name != "umap" or umap_available()}
LABELS: dict[str, str] = {m.name: m.label for m in _ALL_METHODS}
