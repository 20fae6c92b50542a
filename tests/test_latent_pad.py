"""The latent pad's library half (fmae.latent.pad, fmae.latent.netspec): the plane's maths, the
decoder as data (JSON round trip, the NumPy reference against ``decode``), the manifold grid."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from fmae.latent import (
    DecoderSpec,
    UnsupportedDecoderError,
    UnusableCodesError,
    decode,
    decode_point,
    decoder_spec,
    grid_points,
    manifold_grid,
    pad_plane,
    run_spec,
)
from fmae.models import MLPVAE, ConvAutoEncoder, ConvVAE, MLPAutoEncoder


def codes_with_structure(n: int = 300, dim: int = 6, seed: int = 0) -> np.ndarray:
    """Codes spread most along two known directions (variance 9 and 4), little along the others."""
    rng = np.random.default_rng(seed)
    basis = np.linalg.qr(rng.normal(size=(dim, dim)))[0]  # orthonormal columns
    scales = np.array([3.0, 2.0] + [0.1] * (dim - 2))
    return (rng.normal(size=(n, dim)) * scales) @ basis.T + rng.normal(size=dim)


def test_the_pca_plane_is_the_codes_first_two_principal_components():
    codes = codes_with_structure()
    plane = pad_plane(codes, np.arange(len(codes)) % 10)
    assert not plane.is_latent and plane.axes.shape == (2, 6)
    np.testing.assert_allclose(plane.mean, codes.mean(0), atol=1e-5)
    np.testing.assert_allclose(plane.axes @ plane.axes.T, np.eye(2), atol=1e-5)  # orthonormal
    # the same plane as sklearn-free PCA by SVD: the axes span the top-2 right singular vectors
    _, _, vt = np.linalg.svd(codes - codes.mean(0), full_matrices=False)
    np.testing.assert_allclose(np.abs(plane.axes @ vt[:2].T), np.eye(2), atol=1e-4)
    # code = mean + x * pc1 + y * pc2 reproduces the rank-2 PCA reconstruction of every code
    xy = plane.place(codes)
    np.testing.assert_allclose(xy, plane.xy, atol=1e-4)
    rebuilt = plane.code(xy[:, 0], xy[:, 1])
    centred = codes - codes.mean(0)
    pca2 = codes.mean(0) + centred @ vt[:2].T @ vt[:2]
    np.testing.assert_allclose(rebuilt, pca2, atol=1e-4)
    # x carries the most variance, y the next: about 9 and 4
    assert xy[:, 0].var() > xy[:, 1].var() > 1.0
    x0, x1, y0, y1 = plane.extent
    inside = (xy[:, 0] >= x0) & (xy[:, 0] <= x1) & (xy[:, 1] >= y0) & (xy[:, 1] <= y1)
    assert inside.mean() > 0.98


@pytest.mark.parametrize("dim", [1, 2])
def test_small_latent_spaces_are_the_plane_itself(dim):
    codes = np.random.default_rng(1).normal(size=(50, dim)).astype(np.float32) + 5.0
    plane = pad_plane(codes)
    assert plane.is_latent and plane.latent_dim == dim
    np.testing.assert_array_equal(plane.mean, np.zeros(dim))
    np.testing.assert_allclose(plane.code(0.5, -1.5), [0.5, -1.5][:dim])
    np.testing.assert_allclose(plane.xy[:, :dim], codes)  # no centring: the axes are the latent axes
    if dim == 1:
        np.testing.assert_array_equal(plane.xy[:, 1], 0.0)


def test_bad_codes_are_refused():
    with pytest.raises(UnusableCodesError):
        pad_plane(np.array([[0.0, np.nan, 1.0], [1.0, 2.0, 3.0], [0.0, 0.0, 1.0]]))
    with pytest.raises(ValueError, match="N >= 2"):
        pad_plane(np.zeros((1, 4)))
    with pytest.raises(ValueError, match="labels"):
        pad_plane(np.zeros((5, 4)), labels=np.zeros(3))


def models() -> list[torch.nn.Module]:
    torch.manual_seed(0)
    return [
        MLPAutoEncoder(hidden_dim=32, latent_dim=3),
        ConvAutoEncoder(latent_dim=4, channels=4, hidden_dim=16, arch=2),
        ConvAutoEncoder(latent_dim=2, channels=4, hidden_dim=16, arch=1),
        ConvVAE(latent_dim=3, channels=4, hidden_dim=16),
        MLPVAE(hidden_dim=32, latent_dim=2),
    ]


@pytest.mark.parametrize("model", models(), ids=lambda m: f"{type(m).__name__}-{getattr(m, 'arch', '')}")
def test_the_decoder_spec_runs_like_decode_and_survives_json(model):
    model.eval()
    spec = decoder_spec(model)
    assert spec.weights.dtype == np.float32 and spec.macs > 0
    assert spec.weights.size == sum(p.numel() for p in model.decoder.parameters())
    back = json.loads(json.dumps(spec.layers))
    assert back == spec.layers
    again = DecoderSpec(back, np.frombuffer(spec.weights.astype("<f4").tobytes(), "<f4"), spec.latent_dim)
    z = np.random.default_rng(2).normal(scale=2.0, size=(6, model.latent_dim)).astype(np.float32)
    np.testing.assert_allclose(run_spec(again, z), decode(model, z), atol=1e-5)
    with pytest.raises(ValueError, match="codes need"):
        run_spec(spec, np.zeros((1, model.latent_dim + 1)))


def test_a_decoder_the_spec_cannot_describe_is_refused():
    odd = MLPAutoEncoder(hidden_dim=16, latent_dim=2)
    odd.decoder[1] = torch.nn.Tanh()
    with pytest.raises(UnsupportedDecoderError, match="Tanh"):
        decoder_spec(odd)

    class Shifted(MLPAutoEncoder):  # decode_logits is not its decoder's layers
        def decode_logits(self, z: torch.Tensor) -> torch.Tensor:
            return super().decode_logits(z) + 1.0

    with pytest.raises(UnsupportedDecoderError, match="not its decoder"):
        decoder_spec(Shifted(hidden_dim=16, latent_dim=2))


def test_the_manifold_grid_tiles_decoded_images_over_the_extent():
    model = models()[0].eval()
    plane = pad_plane(codes_with_structure(dim=3))
    grid = manifold_grid(model, plane, n=5)
    assert grid.shape == (140, 140) and grid.dtype == np.uint8
    xs, ys = grid_points(plane, 5)
    assert np.all(np.diff(xs) > 0) and np.all(np.diff(ys) < 0)  # left to right, top to bottom
    cell = grid[28:56, 84:112]  # row 1, column 3
    want = decode_point(model, plane, float(xs[3]), float(ys[1]))
    np.testing.assert_array_equal(cell, np.round(want * 255).astype(np.uint8))
    with pytest.raises(ValueError):
        manifold_grid(model, plane, n=0)
    with pytest.raises(ValueError, match="finite"):
        decode_point(model, plane, float("nan"), 0.0)


BAD_POINTS = [(1e38, 0.0), (0.0, float("nan")), ("a", 1.0), (None, None), (-10_001, 0)]


@pytest.mark.parametrize(("x", "y"), BAD_POINTS)
def test_pad_points_are_checked_before_decoding(x, y):
    """/latent_pad_decode and the pad's server fallback: a non-number or a far-away point is refused
    (a tester got NaN images back, which are not JSON, for x = 1e38)."""
    from ui.latent_pad import check_point

    with pytest.raises(ValueError, match="x and y must be"):
        check_point(x, y)
    assert check_point("1.5", -2) == (1.5, -2.0)
