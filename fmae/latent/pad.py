"""The latent pad's plane: a 2-D slice through the latent space that a pointer can move on.

For a model with a 2-D latent space the plane is that space itself (code = (x, y)); for a 1-D one it
is the code's line (y does nothing). For larger latent spaces it is the plane of the first two
principal components of test codes: code = mean + x * pc1 + y * pc2, where pc1 and pc2 are unit
vectors, so x and y are distances in latent units along them. ``manifold_grid`` decodes a grid of
points tiled over the plane's extent (the Keras VAE example's "manifold" figure), ``decode_point``
one point.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from fmae.latent.checks import UnusableCodesError
from fmae.latent.explore import decode, principal_directions
from fmae.models import AutoEncoder

GRID_N = 15  # images per side of the manifold grid
MARGIN = 0.08  # the extent goes this fraction of its width beyond the bulk of the points


@dataclass(frozen=True)
class Plane:
    """A plane in latent space and the test points on it.

    ``mean`` (latent,) and ``axes`` (2, latent) float32: code = mean + x * axes[0] + y * axes[1].
    ``extent`` (x0, x1, y0, y1): the rectangle the pad shows, in plane units. ``xy`` (N, 2) float32:
    the points' places; ``labels`` (N,) int64 and ``indices`` (N,) their classes and test-image
    numbers (None when unknown). ``is_latent``: True when the plane is the latent space itself
    (latent size <= 2), False for the principal-component plane.
    """

    mean: np.ndarray
    axes: np.ndarray
    extent: tuple[float, float, float, float]
    xy: np.ndarray
    labels: np.ndarray | None = None
    indices: np.ndarray | None = None
    is_latent: bool = False

    @property
    def latent_dim(self) -> int:
        return int(self.mean.shape[0])

    def code(self, x: float | np.ndarray, y: float | np.ndarray) -> np.ndarray:
        """The code(s) at plane point(s) (x, y): (latent,) for scalars, (N, latent) for arrays (N,)."""
        xs, ys = np.asarray(x, np.float32), np.asarray(y, np.float32)
        z = self.mean + xs[..., None] * self.axes[0] + ys[..., None] * self.axes[1]
        return z.astype(np.float32)

    def place(self, codes: np.ndarray) -> np.ndarray:
        """Codes (N, latent) or (latent,) -> their orthogonal projections onto the plane, (N, 2) or (2,)."""
        z = np.asarray(codes, np.float32)
        return ((z - self.mean) @ self.axes.T).astype(np.float32)


def _extent(xy: np.ndarray) -> tuple[float, float, float, float]:
    """The points' bulk (0.5% to 99.5% quantiles: a few outliers do not squash the rest) plus a margin."""
    lo, hi = np.quantile(xy.astype(np.float64), [0.005, 0.995], axis=0)
    width = np.maximum(hi - lo, 1e-3)
    lo, hi = lo - MARGIN * width, hi + MARGIN * width
    return float(lo[0]), float(hi[0]), float(lo[1]), float(hi[1])


def pad_plane(
    codes: np.ndarray, labels: np.ndarray | None = None, indices: np.ndarray | None = None
) -> Plane:
    """The pad's plane for test ``codes`` (N, latent), N >= 2, with their ``labels`` and ``indices``
    (N,) if known. Latent size 1 or 2: the latent space itself (mean 0, axes the identity; for size 1
    the second axis is zero). Larger: the plane of the codes' first two principal components through
    their mean (signs fixed as in ``principal_directions``). Raises UnusableCodesError for NaN or
    infinite codes, ValueError for fewer than 2 codes or mismatched lengths."""
    z = np.asarray(codes, np.float32)
    if z.ndim != 2 or len(z) < 2:
        raise ValueError(f"need codes of shape (N >= 2, latent), got {z.shape}")
    for extra in (labels, indices):
        if extra is not None and len(extra) != len(z):
            raise ValueError(f"labels and indices need {len(z)} entries, got {len(extra)}")
    if not np.isfinite(z).all():
        raise UnusableCodesError("The model's codes contain NaN or infinite values: its weights diverged.")
    dim = z.shape[1]
    if dim <= 2:
        mean, axes = np.zeros(dim, np.float32), np.eye(2, dim, dtype=np.float32)
    else:
        mean, axes, _ = principal_directions(z, 2)
    xy = ((z - mean) @ axes.T).astype(np.float32)  # (N, 2)
    return Plane(
        mean=mean.astype(np.float32),
        axes=axes.astype(np.float32),
        extent=_extent(xy),
        xy=xy,
        labels=None if labels is None else np.asarray(labels, np.int64),
        indices=None if indices is None else np.asarray(indices, np.int64),
        is_latent=dim <= 2,
    )


def grid_points(plane: Plane, n: int = GRID_N) -> tuple[np.ndarray, np.ndarray]:
    """The centres of an n x n grid of cells tiling ``plane.extent``: x (n,) left to right and y (n,)
    top to bottom (decreasing), so row r, column c of an image is the point (x[c], y[r])."""
    x0, x1, y0, y1 = plane.extent
    t = (np.arange(n, dtype=np.float64) + 0.5) / n
    return (x0 + t * (x1 - x0)).astype(np.float32), (y1 - t * (y1 - y0)).astype(np.float32)


def manifold_grid(model: AutoEncoder, plane: Plane, n: int = GRID_N) -> np.ndarray:
    """The images decoded at ``grid_points(plane, n)``, tiled: (n * 28, n * 28) uint8, 0 black to 255
    white (bright ink on black, as in the datasets); cell (r, c) is the image at (x[c], y[r]).
    Raises ValueError unless 1 <= n <= 40."""
    if isinstance(n, bool) or not isinstance(n, int) or not 1 <= n <= 40:
        raise ValueError(f"n must be an integer from 1 to 40, not {n!r}")
    xs, ys = grid_points(plane, n)
    gx, gy = np.meshgrid(xs, ys)  # (n, n): row r holds y[r]
    images = decode(model, plane.code(gx.ravel(), gy.ravel()))  # (n * n, 28, 28)
    tiles = images.reshape(n, n, 28, 28).transpose(0, 2, 1, 3).reshape(n * 28, n * 28)
    return np.round(np.clip(tiles, 0.0, 1.0) * 255.0).astype(np.uint8)


def decode_point(model: AutoEncoder, plane: Plane, x: float, y: float) -> np.ndarray:
    """The image decoded at plane point (x, y): (28, 28) float32 in [0, 1]. Raises ValueError for a
    point that is not finite."""
    if not (np.isfinite(x) and np.isfinite(y)):
        raise ValueError(f"the point must be finite, not ({x}, {y})")
    return decode(model, plane.code(float(x), float(y))[None])[0]
