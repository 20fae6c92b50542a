"""Fast figures as numpy arrays: images, heatmaps, bar charts, grids and loss-curve data.

Everything returns uint8 RGB arrays (H, W, 3) drawn with numpy alone (well under a millisecond
each), so an interactive UI can redraw them on every stroke; matplotlib would take ~50 ms per
figure. Model-card figures with axes and titles live in ``fmae.training.card_images``.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import lru_cache

import numpy as np
from PIL import Image, ImageDraw, ImageFont

# Anchors of a perceptually ordered black -> purple -> orange -> yellow map (like "inferno").
_ANCHORS = np.array(
    [[0, 0, 4], [40, 11, 84], [101, 21, 110], [159, 42, 99], [212, 72, 66], [245, 125, 21], [250, 193, 39],
     [252, 255, 164]],
    dtype=np.float32,
)  # fmt: skip
HEAT_LUT = (
    np.stack(
        [
            np.interp(np.linspace(0, 1, 256), np.linspace(0, 1, len(_ANCHORS)), _ANCHORS[:, c])
            for c in range(3)
        ],
        axis=1,
    )
    .round()
    .astype(np.uint8)
)  # (256, 3)
POSITIVE = np.array([31, 119, 180], dtype=np.uint8)  # bar colours: blue up, orange down
NEGATIVE = np.array([255, 127, 14], dtype=np.uint8)


def to_uint8(x: np.ndarray) -> np.ndarray:
    """Floats in [0, 1] (clipped) -> uint8 in [0, 255]."""
    return (np.clip(np.asarray(x, dtype=np.float32), 0.0, 1.0) * 255.0 + 0.5).astype(np.uint8)


def upscale(img: np.ndarray, factor: int) -> np.ndarray:
    """Nearest-neighbour enlargement by an integer ``factor`` of (H, W) or (H, W, C)."""
    if factor <= 1:
        return img
    return np.repeat(np.repeat(img, factor, axis=0), factor, axis=1)


def gray(x: np.ndarray, scale: int = 1) -> np.ndarray:
    """Image (H, W) in [0, 1] -> RGB uint8 (H*scale, W*scale, 3), shown as the dataset stores it."""
    g = to_uint8(x)
    return upscale(np.repeat(g[..., None], 3, axis=2), scale)


def heatmap(values: np.ndarray, vmax: float | None = None, scale: int = 1) -> np.ndarray:
    """Non-negative map (H, W) -> RGB uint8 with ``HEAT_LUT``; ``vmax`` (default: the max) is white-hot."""
    v = np.asarray(values, dtype=np.float32)
    top = float(v.max()) if vmax is None else float(vmax)
    idx = to_uint8(v / top) if top > 0 else np.zeros(v.shape, dtype=np.uint8)
    return upscale(HEAT_LUT[idx], scale)


def bars(values: Sequence[float] | np.ndarray, width: int | None = None, height: int = 120,
         limit: float | None = None) -> np.ndarray:  # fmt: skip
    """Bar chart of ``values`` as RGB uint8 (height, width, 3) on white, zero line in grey.

    Bars go up (blue) for positive values and down (orange) for negative ones, scaled so that
    ``limit`` (default: the largest magnitude) fills half the height. ``width`` defaults to
    18 px per bar.
    """
    v = np.asarray(values, dtype=np.float32).reshape(-1)
    n = max(v.shape[0], 1)
    width = width or 18 * n + 4
    img = np.full((height, width, 3), 255, dtype=np.uint8)
    mid = height // 2
    top = float(np.abs(v).max()) if limit is None and v.size else float(limit or 0)
    half = mid - 2
    lengths = (
        np.zeros(v.shape[0], dtype=int) if top <= 0 else np.rint(np.clip(v / top, -1, 1) * half).astype(int)
    )
    slot = width / n
    bar = max(1, int(slot * 0.75))
    for i, length in enumerate(lengths):
        x0 = int(i * slot + (slot - bar) / 2)
        if length > 0:
            img[mid - length : mid, x0 : x0 + bar] = POSITIVE
        elif length < 0:
            img[mid : mid - length, x0 : x0 + bar] = NEGATIVE
    img[mid, :] = 128
    return img


@lru_cache(maxsize=128)
def label(text: str, width: int, height: int = 24, size: int = 15) -> np.ndarray:
    """``text`` centred on a white band (height, width, 3), in Pillow's built-in font (cached)."""
    band = Image.new("RGB", (width, height), "white")
    ImageDraw.Draw(band).text((width / 2, height / 2), text, fill=(40, 40, 40), font=_font(size), anchor="mm")
    out = np.asarray(band)
    out.flags.writeable = False
    return out


@lru_cache(maxsize=4)
def _font(size: int) -> ImageFont.FreeTypeFont | ImageFont.ImageFont:
    return ImageFont.load_default(size=size)


def labelled_row(tiles: Sequence[np.ndarray | None], labels: Sequence[str], gap: int = 12,
                 missing: int = 235) -> np.ndarray:  # fmt: skip
    """RGB tiles of one height side by side, ``gap`` px apart, each under its label.

    A ``None`` tile is drawn as a plain grey square (e.g. a comparison that is not available).
    """
    h = next(t.shape[0] for t in tiles if t is not None)
    filled = [t if t is not None else np.full((h, h, 3), missing, dtype=np.uint8) for t in tiles]
    width = sum(t.shape[1] for t in filled) + gap * (len(filled) - 1)
    lab = 24
    out = np.full((lab + h, width, 3), 255, dtype=np.uint8)
    x = 0
    for tile, text in zip(filled, labels, strict=True):
        w = tile.shape[1]
        out[:lab, x : x + w] = label(text, w, lab)
        out[lab:, x : x + w] = tile
        x += w + gap
    return out


def grid(images: Sequence[np.ndarray] | np.ndarray, cols: int, pad: int = 2, fill: int = 255) -> np.ndarray:
    """Tile same-sized RGB uint8 images (H, W, 3) row by row into one array, ``pad`` pixels apart."""
    items = list(images)
    if not items:
        raise ValueError("grid needs at least one image")
    h, w = items[0].shape[:2]
    rows = -(-len(items) // cols)
    out = np.full((rows * (h + pad) + pad, cols * (w + pad) + pad, 3), fill, dtype=np.uint8)
    for i, img in enumerate(items):
        r, c = divmod(i, cols)
        out[pad + r * (h + pad) : pad + r * (h + pad) + h, pad + c * (w + pad) : pad + c * (w + pad) + w] = (
            img
        )
    return out


def explain_figure(
    x: np.ndarray, recon: np.ndarray, pca: np.ndarray | None, latent: np.ndarray, scale: int = 8
) -> np.ndarray:
    """One figure for one input: model input, reconstruction, |error| heatmap and PCA's
    reconstruction in a row (28x28 each, enlarged ``scale`` times), the latent code as bars below."""
    k = latent.shape[0]
    tiles = [gray(x, scale), gray(recon, scale), heatmap(np.abs(recon - x), vmax=1.0, scale=scale)]
    tiles.append(None if pca is None else gray(pca, scale))
    names = ["model input (28x28)", "reconstruction", "|error| per pixel"]
    names.append(f"PCA, {k} components" if pca is not None else "PCA: not available")
    top = labelled_row(tiles, names)
    bottom = labelled_row([bars(latent, width=top.shape[1], height=100)], [f"latent code ({k} numbers)"])
    gap = np.full((8, top.shape[1], 3), 255, dtype=np.uint8)
    return np.concatenate([top, gap, bottom], axis=0)


def reconstruction_grid(originals: np.ndarray, recons: np.ndarray, scale: int = 3) -> np.ndarray:
    """Originals (N, 28, 28) on the top row, their reconstructions below, as one RGB image."""
    n = originals.shape[0]
    tiles = [gray(x, scale) for x in originals] + [gray(x, scale) for x in recons]
    return grid(tiles, cols=n)


def ema(values: Sequence[float] | np.ndarray, alpha: float = 0.05) -> np.ndarray:
    """Exponential moving average (bias-corrected, so the first points are not pulled to 0)."""
    v = np.asarray(values, dtype=np.float64).reshape(-1)
    out = np.empty_like(v)
    acc, weight = 0.0, 0.0
    for i, x in enumerate(v):
        acc = (1 - alpha) * acc + alpha * x
        weight = (1 - alpha) * weight + alpha
        out[i] = acc / weight
    return out


def loss_curve_rows(
    step_losses: Sequence[float], test_losses: Sequence[float], steps_per_epoch: int, max_points: int = 400,
    alpha: float = 0.05, initial_test: float | None = None,
) -> list[tuple[int, float, str]]:  # fmt: skip
    """Rows ``(step, loss, series)`` of a loss curve: the train loss per step, smoothed with ``ema``
    and thinned to at most ``max_points``, and the test loss at the end of each epoch.

    ``initial_test``, the untrained model's test loss, is drawn at step 0: with it the test
    series has two points after the first epoch (a line plot draws nothing for one point).
    """
    rows: list[tuple[int, float, str]] = []
    if len(step_losses):
        smooth = ema(step_losses, alpha)
        keep = np.unique(np.linspace(0, len(smooth) - 1, min(max_points, len(smooth))).round().astype(int))
        rows += [(int(i) + 1, float(smooth[i]), "train (smoothed)") for i in keep]
    if initial_test is not None:
        rows.append((0, float(initial_test), "test"))
    rows += [((e + 1) * steps_per_epoch, float(v), "test") for e, v in enumerate(test_losses)]
    return rows
