"""How good a 2-D map of latent codes is: trustworthiness (are the map's neighbours neighbours
in latent space?) and kNN accuracy on the map next to kNN accuracy in latent space.

scikit-learn is imported inside the functions, as in ``fmae.latent.projection``.
"""

from __future__ import annotations

import numpy as np

TRUST_K = 10  # neighbours for trustworthiness
KNN_K = 5  # neighbours of the kNN classifier
CV_FOLDS = 5  # kNN accuracy is 5-fold cross-validated, folds from a fixed seed


def trustworthiness(codes: np.ndarray, coords: np.ndarray, k: int = TRUST_K) -> float:
    """sklearn.manifold.trustworthiness in O(N) memory (sklearn's holds N x N distances and ranks).

    Penalises points that are among the ``k`` nearest on the map but not in latent space by
    how far down the latent ranking they are. Same formula as sklearn's (exact ties in latent
    distance, rare with float codes, may be ranked in another order).
    """
    from sklearn.neighbors import NearestNeighbors

    x = np.asarray(codes, np.float64)
    n = len(x)
    if k >= n / 2:
        raise ValueError(f"k ({k}) must be less than N / 2 ({n / 2})")
    map_nbrs = NearestNeighbors(n_neighbors=k).fit(coords).kneighbors(return_distance=False)  # (N, k)
    sq = (x**2).sum(1)
    penalty = 0
    chunk = max(1, 2_000_000 // (n * k))  # bounds the (chunk, k, N) comparison to ~2e6 cells
    for start in range(0, n, chunk):
        rows = np.arange(start, min(start + chunk, n))
        d = sq[rows, None] - 2 * x[rows] @ x.T + sq[None]  # (B, N) squared distances
        d[np.arange(len(rows)), rows] = np.inf
        dj = np.take_along_axis(d, map_nbrs[rows], 1)  # (B, k)
        ranks = (d[:, None, :] < dj[:, :, None]).sum(-1) + 1  # rank of each map neighbour
        penalty += int(np.maximum(ranks - k, 0).sum())
    return 1.0 - penalty * 2.0 / (n * k * (2.0 * n - 3.0 * k - 1.0))


def knn_accuracy(features: np.ndarray, labels: np.ndarray, k: int = KNN_K) -> float:
    """kNN(k) accuracy by 5-fold cross-validation (shuffled folds, fixed seed 0: deterministic).

    Every point is predicted once by a classifier fitted on the other four folds.
    """
    from sklearn.model_selection import KFold, cross_val_predict
    from sklearn.neighbors import KNeighborsClassifier

    folds = KFold(CV_FOLDS, shuffle=True, random_state=0)
    pred = cross_val_predict(KNeighborsClassifier(k), features, labels, cv=folds)
    return float(np.mean(pred == np.asarray(labels)))


def score(codes: np.ndarray, coords: np.ndarray, labels: np.ndarray) -> dict[str, float]:
    """Quality of a map: trustworthiness (k=10), kNN(5) accuracy on the map and in latent space."""
    return {
        "trustworthiness": trustworthiness(codes, coords, TRUST_K),
        "knn2d_acc": knn_accuracy(coords, labels),
        "knn_latent_acc": knn_accuracy(codes, labels),
    }
