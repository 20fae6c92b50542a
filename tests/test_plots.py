"""fmae.images.plots (numpy figures) and fmae.models.analyze: right pixels, fast enough to redraw
per stroke."""

from __future__ import annotations

import time

import numpy as np
import torch

from fmae.images import plots, preprocess
from fmae.models import ConvAutoEncoder, ModelAssets, analyze
from fmae.training import fit_pca


def test_gray_and_upscale_keep_every_model_pixel():
    x = np.zeros((28, 28), np.float32)
    x[3, 5] = 1.0
    img = plots.gray(x, scale=8)
    assert img.shape == (224, 224, 3) and img.dtype == np.uint8
    assert (img[24:32, 40:48] == 255).all() and img.sum() == 255 * 3 * 64


def test_heatmap_uses_fixed_scale_and_lut_ends():
    v = np.array([[0.0, 0.5], [1.0, 2.0]], np.float32)
    img = plots.heatmap(v, vmax=1.0)
    assert (img[0, 0] == plots.HEAT_LUT[0]).all() and (img[1, 0] == plots.HEAT_LUT[255]).all()
    assert (img[1, 1] == plots.HEAT_LUT[255]).all()  # clipped at vmax
    assert (plots.heatmap(np.zeros((2, 2))) == plots.HEAT_LUT[0]).all()  # all-zero: no division by zero


def test_bars_go_up_for_positive_and_down_for_negative():
    img = plots.bars([1.0, -0.5, 0.0], width=90, height=100)
    mid = 50
    col = lambda i: img[:, int(i * 30 + 15)]  # noqa: E731 - centre column of bar i
    assert (col(0)[mid - 48 : mid] == plots.POSITIVE).all() and (col(0)[mid + 1 :] == 255).all()
    assert (col(1)[mid + 1 : mid + 24] == plots.NEGATIVE).all() and (col(1)[: mid - 1] == 255).all()
    assert (col(2)[mid] == 128).all() and (np.delete(col(2), mid, axis=0) == 255).all()


def test_ema_is_bias_corrected_and_loss_rows_are_thinned():
    assert np.allclose(plots.ema([2.0] * 5, alpha=0.1), 2.0)  # a constant stays constant from the start
    rows = plots.loss_curve_rows(
        list(np.linspace(1, 0, 1000)), [0.5, 0.4], steps_per_epoch=500, max_points=100
    )
    train = [r for r in rows if r[2] == "train (smoothed)"]
    assert len(train) == 100 and train[0][0] == 1 and train[-1][0] == 1000
    assert [r for r in rows if r[2] == "test"] == [(500, 0.5, "test"), (1000, 0.4, "test")]
    first = plots.loss_curve_rows([0.6, 0.5], [0.45], steps_per_epoch=2, initial_test=0.69)
    assert [r for r in first if r[2] == "test"] == [(0, 0.69, "test"), (2, 0.45, "test")]  # 2 points: a line


def test_grid_tiles_row_by_row():
    a, b = np.zeros((2, 3, 3), np.uint8), np.full((2, 3, 3), 9, np.uint8)
    g = plots.grid([a, b, b], cols=2, pad=1, fill=255)
    assert g.shape == (2 * 3 + 1, 2 * 4 + 1, 3)
    assert (g[1:3, 1:4] == 0).all() and (g[1:3, 5:8] == 9).all() and (g[4:6, 1:4] == 9).all()


def test_analyze_numbers_are_consistent():
    torch.manual_seed(0)
    model = ConvAutoEncoder(latent_dim=4, channels=8, hidden_dim=32).eval()
    images = torch.randint(0, 256, (300, 28, 28), dtype=torch.uint8)
    mean, axes = fit_pca(images)
    assets = ModelAssets(np.sort(np.random.default_rng(0).random(100).astype(np.float32)), mean, axes[:4])
    x = images[0].numpy().astype(np.float32) / 255
    a = analyze(model, x, assets)
    assert np.isclose(a.mse, float(((a.recon - x) ** 2).mean())) and np.allclose(
        a.error_map, (a.recon - x) ** 2
    )
    assert a.latent.shape == (4,) and a.pca_recon.shape == (28, 28) and 0 <= a.percentile <= 100
    assert analyze(model, x, None).pca_recon is None


def test_model_side_work_per_sketch_is_fast():
    """Preprocess + forward + figure for a 280x280 drawing: the issue's budget is 30 ms."""
    torch.manual_seed(0)
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        model = ConvAutoEncoder().eval()  # the shipped conv models' size
        rng = np.random.default_rng(0)
        comps = np.linalg.qr(rng.normal(size=(784, 10)))[0].T.astype(np.float32)
        assets = ModelAssets(np.sort(rng.random(10000).astype(np.float32)), np.zeros(784, np.float32), comps)
        pad = np.full((280, 280, 4), 255, np.uint8)
        pad[60:220, 100:180, :3] = 0
        value = {"composite": pad, "background": None, "layers": []}
        times = []
        for _ in range(40):
            t0 = time.perf_counter()
            a = analyze(model, preprocess(value, "fashion"), assets)
            plots.explain_figure(a.input, a.recon, a.pca_recon, a.latent)
            times.append(time.perf_counter() - t0)
    finally:
        torch.set_num_threads(threads)
    assert np.median(times[5:]) < 0.030, f"median {np.median(times[5:]) * 1e3:.1f} ms"
