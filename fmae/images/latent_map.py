"""The latent map as a picture, fast enough to redraw every frame of a training run: probe points
coloured by class with a legend and the step counter in the title, drawn with NumPy and Pillow
(a few milliseconds; matplotlib needs ~50-100 ms per figure), and a run's frames as an animated GIF
(Pillow's encoder).

Axis limits are given by the caller, so a sequence of frames keeps one scale: ``map_limits`` of a
frame, ``steady_limits`` to follow a map that grows while it trains without redrawing the scale
every frame.
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from functools import lru_cache

import numpy as np
from PIL import Image, ImageDraw, ImageFont

#: ten distinct class colours (matplotlib's "tab10"), RGB uint8
PALETTE = np.array(
    [[31, 119, 180], [255, 127, 14], [44, 160, 44], [214, 39, 40], [148, 103, 189], [140, 86, 75],
     [227, 119, 194], [127, 127, 127], [188, 189, 34], [23, 190, 207]],
    dtype=np.uint8,
)  # fmt: skip
MAP_SIZE = (600, 440)  # (width, height) in pixels
TITLE_H = 30  # title band
LEGEND_W = 135  # legend column on the right
PAD = 10
Limits = tuple[float, float, float, float]  # (x_min, x_max, y_min, y_max)


@lru_cache(maxsize=4)
def _font(size: int) -> ImageFont.FreeTypeFont | ImageFont.ImageFont:
    return ImageFont.load_default(size=size)


def map_limits(xy: np.ndarray, margin: float = 0.08) -> Limits:
    """Limits (x_min, x_max, y_min, y_max) holding every finite point of ``xy`` (n, 2), widened by
    ``margin`` of their span on each side; a zero span becomes 1. Raises ValueError when ``xy`` is
    not (n, 2) or holds no finite point."""
    xy = np.asarray(xy, np.float64)
    if xy.ndim != 2 or xy.shape[1] != 2:
        raise ValueError(f"xy must be (n, 2), not {xy.shape}")
    ok = xy[np.isfinite(xy).all(axis=1)]
    if ok.shape[0] == 0:
        raise ValueError("xy holds no finite point")
    lo, hi = ok.min(axis=0), ok.max(axis=0)
    span = np.where(hi - lo > 1e-12, hi - lo, 1.0)
    lo, hi = lo - margin * span, hi + margin * span
    return float(lo[0]), float(hi[0]), float(lo[1]), float(hi[1])


def steady_limits(previous: Limits | None, xy: np.ndarray, shrink: float = 0.4) -> Limits:
    """Limits for the next live frame: ``previous`` while they still hold every point of ``xy`` and
    the points fill more than ``shrink`` of their width or height; otherwise new ``map_limits(xy)``.
    So the scale holds still between frames and changes only when the map outgrows it (or shrinks
    into a corner of it)."""
    fresh = map_limits(xy)
    if previous is None:
        return fresh
    x0, x1, y0, y1 = previous
    inside = fresh[0] >= x0 and fresh[1] <= x1 and fresh[2] >= y0 and fresh[3] <= y1
    filled = max((fresh[1] - fresh[0]) / (x1 - x0), (fresh[3] - fresh[2]) / (y1 - y0))
    return previous if inside and filled > shrink else fresh


def _disc(radius: int) -> tuple[np.ndarray, np.ndarray]:
    r = np.arange(-radius, radius + 1)
    dy, dx = np.meshgrid(r, r, indexing="ij")
    keep = dx**2 + dy**2 <= radius**2 + radius  # a round dot, not a diamond
    return dy[keep], dx[keep]


def latent_map(
    xy: np.ndarray,
    labels: np.ndarray,
    title: str,
    limits: Limits | None = None,
    names: Sequence[str] | None = None,
    size: tuple[int, int] = MAP_SIZE,
    radius: int = 2,
) -> np.ndarray:
    """The map as an RGB uint8 image (height, width, 3): each point of ``xy`` (n, 2) a dot coloured
    by its class in ``labels`` (n,) ints (``PALETTE`` by class index, cycling past 10), ``title``
    (e.g. the step counter) above, a legend of ``names`` (class index -> name; default the indices)
    on the right. ``limits`` (default ``map_limits(xy)``) map to the plot's edges; points outside
    them or not finite are left out. Points are drawn in a fixed shuffled order, so no class always
    lies on top. Raises ValueError when ``xy`` and ``labels`` do not match."""
    xy = np.asarray(xy, np.float64)
    labels = np.asarray(labels).astype(np.int64).reshape(-1)
    if xy.ndim != 2 or xy.shape[1] != 2 or xy.shape[0] != labels.shape[0]:
        raise ValueError(f"xy (n, 2) and labels (n,) must match, got {xy.shape} and {labels.shape}")
    width, height = size
    x0, x1, y0, y1 = limits if limits is not None else map_limits(xy)
    img = np.full((height, width, 3), 255, np.uint8)
    left, top = PAD, TITLE_H
    right, bottom = width - LEGEND_W, height - PAD
    img[top:bottom, left:right] = 250  # the plot area, a shade off white
    pw, ph = right - left - 2 * radius - 2, bottom - top - 2 * radius - 2
    with np.errstate(invalid="ignore"):
        px = np.rint(left + radius + 1 + (xy[:, 0] - x0) / (x1 - x0) * pw)
        py = np.rint(bottom - radius - 1 - (xy[:, 1] - y0) / (y1 - y0) * ph)  # y up
    ok = np.isfinite(px) & np.isfinite(py)
    ok &= (px >= left + radius) & (px < right - radius) & (py >= top + radius) & (py < bottom - radius)
    order = np.random.default_rng(0).permutation(xy.shape[0])
    order = order[ok[order]]
    dy, dx = _disc(radius)
    rows = (py[order].astype(np.int64)[:, None] + dy[None, :]).reshape(-1)
    cols = (px[order].astype(np.int64)[:, None] + dx[None, :]).reshape(-1)
    colours = np.repeat(PALETTE[labels[order] % len(PALETTE)], dy.shape[0], axis=0)
    img[rows, cols] = colours  # later points overwrite earlier ones: the shuffled order decides
    _frame(img, left, top, right, bottom)
    return _annotate(img, title, labels, names, right)


def _frame(img: np.ndarray, left: int, top: int, right: int, bottom: int) -> None:
    grey = 200
    img[top, left:right] = img[bottom - 1, left:right] = grey
    img[top:bottom, left] = img[top:bottom, right - 1] = grey


def _annotate(
    img: np.ndarray, title: str, labels: np.ndarray, names: Sequence[str] | None, right: int
) -> np.ndarray:
    pic = Image.fromarray(img)
    draw = ImageDraw.Draw(pic)
    draw.text((PAD, TITLE_H // 2), title, fill=(30, 30, 30), font=_font(18), anchor="lm")
    classes = np.unique(labels) if names is None else np.arange(len(names))
    line = 22
    y = TITLE_H + 6
    for c in classes:
        colour = tuple(int(v) for v in PALETTE[int(c) % len(PALETTE)])
        draw.rectangle((right + 10, y + 4, right + 21, y + 15), fill=colour)
        name = str(names[int(c)]) if names is not None else str(int(c))
        draw.text((right + 27, y + 10), name, fill=(40, 40, 40), font=_font(14), anchor="lm")
        y += line
    return np.asarray(pic).copy()


def frame_title(step: int, epoch: float, loss: float | None = None) -> str:
    """The step counter a map shows: "step 1,234 · epoch 1.45 · loss 0.2871" (no loss when
    ``loss`` is None or not finite, e.g. before the first step)."""
    text = f"step {step:,} · epoch {epoch:.2f}"
    if loss is not None and np.isfinite(loss):
        text += f" · loss {loss:.4f}"
    return text


def gif_bytes(images: Sequence[np.ndarray], frame_ms: int = 120, last_ms: int = 2000) -> bytes:
    """Animated GIF (looping) of RGB uint8 images (h, w, 3), all one size: ``frame_ms`` per frame,
    the last held ``last_ms``. Encoded by Pillow; every frame uses one 128-colour palette made from
    the last image (the map's classes and text are all in it), without dithering, so colours do not
    flicker between frames (~2 ms a frame to quantize, ~20 ms to encode). Raises ValueError for no
    images or images that are not (h, w, 3) of one size."""
    if not images:
        raise ValueError("a GIF needs at least one image")
    shape = np.shape(images[0])
    if len(shape) != 3 or shape[2] != 3 or any(np.shape(im) != shape for im in images):
        raise ValueError("the GIF's images must all be (h, w, 3) of one size")
    rgb = [Image.fromarray(np.asarray(im, np.uint8)) for im in images]
    palette = rgb[-1].convert("P", palette=Image.Palette.ADAPTIVE, colors=128)
    frames = [im.quantize(palette=palette, dither=Image.Dither.NONE) for im in rgb]
    durations = [frame_ms] * (len(frames) - 1) + [last_ms]
    buf = io.BytesIO()
    frames[0].save(buf, format="GIF", save_all=True, append_images=frames[1:], duration=durations, loop=0)
    return buf.getvalue()
