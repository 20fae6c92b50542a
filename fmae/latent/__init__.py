"""The latent space: 2-D maps of latent codes (PCA, Kernel PCA, t-SNE, Isomap, LLE, UMAP),
the checks codes must pass first, a worker process for the native fits, their quality scores
(trustworthiness, kNN accuracy), the cache of computed maps, moving through the space (encode,
decode, interpolate, principal directions, nearest neighbours), sampling new images (and how far
they land from real ones) and the figures of a map.

Uses ``fmae.models``; scikit-learn and matplotlib are imported only inside the functions
that need them, and the explorers (which need torch) when one of them is first used: the
projection worker process imports this package without paying for torch (~2 s, ~500 MB).
"""

import importlib
from typing import TYPE_CHECKING, Any

from fmae.latent.cache import (
    CacheKey,
    EmbeddingCache,
    LRUCache,
    checkpoint_id,
    compute,
    embedding_path,
    load_points,
    load_projection,
    points_path,
    precompute,
    save_projection,
    weights_id,
)
from fmae.latent.checks import (
    MIN_DISTINCT,
    CodeSummary,
    ProjectionError,
    UnusableCodesError,
    check_codes,
)
from fmae.latent.figures import (
    DRAWING_LABEL,
    embedding_figure,
    projection_title,
    scatter_frame,
    scatter_records,
)
from fmae.latent.projection import (
    DEFAULT_METHODS,
    DEFAULT_N,
    LABELS,
    METHODS,
    MIN_POINTS,
    Method,
    Projection,
    map_and_score,
    place,
    project,
    subsample,
    umap_available,
)
from fmae.latent.scores import knn_accuracy, score, trustworthiness
from fmae.latent.worker import TIME_LIMIT_S, ProjectionWorker, worker_pids

if TYPE_CHECKING:
    from fmae.latent.explore import (
        as_batch,
        decode,
        encode,
        interpolate,
        model_fingerprint,
        nearest,
        principal_directions,
        walk,
    )
    from fmae.latent.netspec import DecoderSpec, UnsupportedDecoderError, decoder_spec, run_spec
    from fmae.latent.pad import GRID_N, Plane, decode_point, grid_points, manifold_grid, pad_plane
    from fmae.latent.sampling import (
        MAX_SAMPLES,
        Samples,
        fitted_gaussian,
        is_variational,
        nearest_image_mse,
        sample,
    )

_EXPLORE = ("as_batch", "decode", "encode", "interpolate", "model_fingerprint", "nearest")
_LAZY = dict.fromkeys((*_EXPLORE, "principal_directions", "walk"), "fmae.latent.explore")
_LAZY.update(
    dict.fromkeys(
        ("DecoderSpec", "UnsupportedDecoderError", "decoder_spec", "run_spec"), "fmae.latent.netspec"
    )
)
_PAD = ("GRID_N", "Plane", "decode_point", "grid_points", "manifold_grid", "pad_plane")
_LAZY.update(dict.fromkeys(_PAD, "fmae.latent.pad"))
_SAMPLING = ("MAX_SAMPLES", "Samples", "fitted_gaussian", "is_variational", "nearest_image_mse", "sample")
_LAZY.update(dict.fromkeys(_SAMPLING, "fmae.latent.sampling"))


def __getattr__(name: str) -> Any:
    """The explorers and the latent pad's parts, imported on first use (they import torch)."""
    if name in _LAZY:
        value = getattr(importlib.import_module(_LAZY[name]), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted({*globals(), *_LAZY})


__all__ = [
    "DEFAULT_METHODS",
    "DEFAULT_N",
    "DRAWING_LABEL",
    "GRID_N",
    "LABELS",
    "MAX_SAMPLES",
    "METHODS",
    "MIN_DISTINCT",
    "MIN_POINTS",
    "TIME_LIMIT_S",
    "CacheKey",
    "CodeSummary",
    "DecoderSpec",
    "EmbeddingCache",
    "LRUCache",
    "Method",
    "Plane",
    "Projection",
    "ProjectionError",
    "ProjectionWorker",
    "Samples",
    "UnsupportedDecoderError",
    "UnusableCodesError",
    "as_batch",
    "check_codes",
    "checkpoint_id",
    "compute",
    "decode",
    "decode_point",
    "decoder_spec",
    "embedding_figure",
    "embedding_path",
    "encode",
    "fitted_gaussian",
    "grid_points",
    "interpolate",
    "is_variational",
    "knn_accuracy",
    "load_points",
    "load_projection",
    "manifold_grid",
    "map_and_score",
    "model_fingerprint",
    "nearest",
    "nearest_image_mse",
    "pad_plane",
    "place",
    "points_path",
    "precompute",
    "principal_directions",
    "project",
    "projection_title",
    "run_spec",
    "sample",
    "save_projection",
    "scatter_frame",
    "scatter_records",
    "score",
    "subsample",
    "trustworthiness",
    "umap_available",
    "walk",
    "weights_id",
    "worker_pids",
]
