"""A photo or scan of a drawing -> its ink map and the drawing's box, as a person sees them.

A phone photo of a sheet has what a clean image has not: light falling off across the page,
vignetting, shadows, a tinted paper, noise and paper grain, JPEG ripple, specks, faint pencil, and
the desk or the sheet's edge along the frame. The steps, on grey levels (see ``fmae.images.ink``):

0. a clean image (``clean_frame``: the border ring one flat tone) keeps the rule of a clean drawing
   (paper = the ring's median, light when >= 0.5), so clean uploads give what they always gave;
1. polarity (``light_paper``): the paper is the histogram's mode, the ink the longer tail away from
   it, so dark ink on paper and white chalk on a board both work, under uneven light too;
2. paper (``paper_level``, on a copy of at most ``WORK_SIDE`` pixels): normalised convolution, i.e.
   a Gaussian average over the paper pixels only, first coarse over the lit paper (large filled
   drawings cannot pull it down), then over shadowed paper too (edge-free regions reaching the
   frame); fine where paper surrounds a pixel, coarse inside large drawings. It is divided out:
   ink is the fraction by which a pixel is darker than its own paper;
3. grain (``fmae.images.drawing``: ``grain_level``, ``pixel_noise``): on a grainy photo the
   paper's grain is taken off the ink, and components are found on a 3x3 average (noise makes
   specks, not drawings); a photo whose darkest ink is under ``MIN_INK`` holds no drawing;
4. drawing (``fmae.images.drawing.drawing_parts``): connected components above ``CROP_THRESHOLD``
   (lower for a faint pencil drawing, see ``FAINT``); the drawing is every component but specks
   (in a photo) and "edge clutter" (the desk, the sheet's edge, a dark corner: components that
   touch the frame and lie almost wholly in its outer band), and what touches it. What is not the
   drawing is cleared where the crop could see it.

scikit-image is not needed: Otsu's threshold is a few lines of NumPy, the rest is scipy.ndimage.
"""

from __future__ import annotations

import numpy as np
from PIL import Image

from fmae.images.drawing import (
    FAINT,
    GRAIN,
    NOISY,
    drawing_box,
    drawing_parts,
    grain_level,
    only_drawing,
    pixel_noise,
)
from fmae.images.ink import CROP_THRESHOLD, border_level, ink_relative_to

# scipy.ndimage (filters, labels, morphology) is imported inside the functions that use it, so that
# importing fmae.images stays light (it costs ~0.25 s, and the CLI and the app's start do not need it).

WORK_SIDE = 256  # the paper is estimated at this size: light varies slowly, and it is 16x cheaper
COARSE_SIDE = 64  # ... and its coarse level at this one
MIN_INK = 0.2  # a photo whose darkest ink (after grain) is fainter holds no drawing: light, shadow, grain
FLAT = 0.01  # paper brightness varying less than this (relative) is uniform: one level, as a drawing
LIT = 0.03  # paper at most this much (relative) darker than the coarse level, or 4 noise widths, is lit
SOFT = 0.05  # log brightness changing less than this per pixel (at WORK_SIDE) is no edge: light, not ink


def _otsu(values: np.ndarray) -> float:
    """Otsu's threshold of values in [0, 1] (256-bin histogram; maximises the between-class variance)."""
    hist = np.bincount(np.clip((values * 255).astype(np.int32), 0, 255).ravel(), minlength=256)
    p = hist / hist.sum()
    w0 = np.cumsum(p)
    mu = np.cumsum(p * np.arange(256))
    between = (mu[-1] * w0 - mu) ** 2 / np.maximum(w0 * (1 - w0), 1e-12)
    return (int(np.argmax(between[:-1])) + 0.5) / 255


def _ring(a: np.ndarray) -> np.ndarray:
    return np.concatenate([a[0], a[-1], a[1:-1, 0], a[1:-1, -1]])


def clean_frame(gray: np.ndarray) -> bool:
    """Is grey levels (H, W) a clean image (a drawing, a dataset image, a rendering), not a photo?
    3/4 of the border ring within 2/255 of its median (a photo's paper has noise or uneven light),
    or, in an image of at most ``COARSE_SIDE`` pixels (no photo is that small), over half of it."""
    ring = _ring(gray)
    flat = float(np.mean(np.abs(ring - np.median(ring)) <= 2 / 255))
    return flat >= 0.75 or (flat > 0.5 and max(gray.shape) <= COARSE_SIDE)


def light_paper(small: np.ndarray) -> bool:
    """Is the background of a photo's grey levels (H, W) the light side (dark ink on paper)? The
    paper is the histogram's mode (smoothed: the most common brightness): light when the mode is,
    or else when the ink, the longer tail away from it (0.1 and 99.9 percentiles), is the dark one.
    Uneven light widens the mode but does not move the ink's side; with no clear tail, light."""
    from scipy import ndimage

    hist = np.bincount(np.clip((small * 255).astype(np.int32), 0, 255).ravel(), minlength=256)
    mode = int(np.argmax(ndimage.gaussian_filter1d(hist.astype(np.float32), 2.0))) / 255
    low, high = np.percentile(small, [0.1, 99.9])
    return mode >= 0.5 or mode - float(low) >= float(high) - mode


def _smooth(x: np.ndarray, sigma: float) -> np.ndarray:
    from scipy import ndimage

    return ndimage.gaussian_filter(x, sigma, mode="nearest", truncate=3.0)


def _normalised_average(p: np.ndarray, weight: np.ndarray, sigma: float) -> tuple[np.ndarray, np.ndarray]:
    """Gaussian average of ``p`` weighted by ``weight`` in [0, 1] (normalised convolution: ink has
    weight 0): (average, support), support being the weighted share of the window. Where no weight
    is within reach, the weighted mean of the whole picture."""
    support = _smooth(weight, sigma)
    avg = _smooth(p * weight, sigma) / np.maximum(support, 1e-6)
    if float(support.min()) < 1e-4:
        total = float(weight.sum())
        fill = float((p * weight).sum()) / total if total > 0 else float(p.max())
        avg = np.where(support < 1e-4, np.float32(fill), avg)
    return avg, support


def _resize(a: np.ndarray, shape: tuple[int, ...], box: bool = False) -> np.ndarray:
    """Resample a float32 map (H, W) to ``shape`` (BOX: area average; else bilinear)."""
    if a.shape == shape:
        return a
    f = Image.Resampling.BOX if box else Image.Resampling.BILINEAR
    return np.asarray(Image.fromarray(a).resize(shape[::-1], f), dtype=np.float32)


def _coarse(p: np.ndarray, weight: np.ndarray) -> np.ndarray:
    """The coarse level: a normalised Gaussian average over a tenth of the picture, computed on a
    ``COARSE_SIDE`` copy (light varies slowly; 16x fewer pixels), returned at the size of ``p``."""
    tiny_shape = _shrunk_shape(p.shape, COARSE_SIDE)
    w = _resize(weight, tiny_shape, box=True)
    avg, _ = _normalised_average(
        _resize(p * weight, tiny_shape, box=True) / np.maximum(w, 1e-6), w, 0.1 * max(tiny_shape)
    )
    return _resize(avg, p.shape)


def _lit_paper(p: np.ndarray) -> tuple[np.ndarray, np.ndarray, float]:
    """(coarse level, lit paper mask, noise): the coarse level, iterated so that what is more than
    a few percent darker than it (ink, and deep shadow) is left out; noise is the paper's robust
    relative spread around it."""
    lit = p > _otsu(p)  # the light part of the picture, to begin with
    spread = 0.0
    for _ in range(4):
        if not lit.any():
            break
        coarse = _coarse(p, lit.astype(np.float32))
        ratio = p / np.maximum(coarse, 1e-6)
        spread = 1.4826 * float(np.median(np.abs(ratio[lit][::4] - 1)))  # robust noise of the paper
        lit = ratio >= 1 - max(LIT, 4 * spread)
    else:
        return coarse, lit, spread
    return np.full_like(p, max(float(p.max()), 1e-3)), p >= p.max(), 0.0  # nothing lit: a uniform picture


def _shaded_paper(p: np.ndarray, coarse: np.ndarray, lit: np.ndarray) -> np.ndarray:
    """Paper in shadow: large edge-free regions (the log brightness changes by less than ``SOFT``
    per pixel) darker than the lit paper (at most 55% darker) that reach the frame, as a shadow cast
    from outside the sheet does, and that meet the lit paper softly (a quarter of their rim is lit
    paper: a penumbra, no edge). A grey area of a drawing is ringed by the drawing's edge."""
    from scipy import ndimage

    grad = ndimage.gaussian_gradient_magnitude(np.log(np.maximum(p, 0.05)), 1.0)
    shade = (grad < SOFT) & (p >= 0.45 * coarse) & ~lit
    labels, n = ndimage.label(ndimage.binary_opening(shade, iterations=2))  # opening: cut thin leaks
    grown = ndimage.grey_dilation(labels, size=3)
    rim = (labels == 0) & (grown > 0)  # the pixels just outside each region
    rim_area = np.bincount(grown[rim], minlength=n + 1)
    rim_lit = np.bincount(grown[rim & lit], minlength=n + 1)
    area = np.bincount(labels.ravel(), minlength=n + 1)
    shadow = (area >= 0.01 * p.size) & (rim_lit >= 0.25 * rim_area)
    shadow[np.setdiff1d(np.arange(n + 1), _ring(labels))] = False  # only regions that reach the frame
    shadow[0] = False
    return shadow[labels]


def paper_level(small: np.ndarray) -> tuple[np.ndarray, np.ndarray, float]:
    """Brightness of the paper under each pixel of ``small`` (H, W), paper bright (grey levels of a
    light page, or inverted ones of a dark board) -> (level (H, W), paper mask (H, W), noise).

    Lit paper at a coarse scale first (large filled drawings cannot pull it down), then shadowed
    paper joined to it; the level follows the paper at a fine scale where paper surrounds a pixel
    and the coarse one elsewhere (inside large drawings).
    """
    coarse, lit, noise = _lit_paper(small)
    paper = lit | _shaded_paper(small, coarse, lit)
    weight = paper.astype(np.float32)
    coarse = _coarse(small, weight)
    fine, support = _normalised_average(small, weight, 0.015 * max(small.shape))
    trust = np.clip(support * 2 - 0.5, 0, 1)  # over 3/4 of the fine window is paper: trust it
    return trust * fine + (1 - trust) * coarse, paper, noise


def _shrunk_shape(shape: tuple[int, ...], side: int) -> tuple[int, int]:
    h, w = shape
    if max(h, w) <= side:
        return h, w
    s = side / max(h, w)
    return max(1, round(h * s)), max(1, round(w * s))


def flatten(gray: np.ndarray) -> tuple[np.ndarray, bool]:
    """Grey levels (H, W) of a photo -> (ink (H, W) in [0, 1] against the paper's own brightness,
    whether the paper is one level: a clean image, or a photo with uniform light).

    A clean frame (``clean_frame``) gets the rule of a clean drawing: the paper is the median of the
    border ring, light when >= 0.5; so every clean upload gives exactly what it always gave.
    """
    if clean_frame(gray):
        bg = border_level(gray)
        return ink_relative_to(gray, bg, bg >= 0.5), True
    small = _resize(gray, _shrunk_shape(gray.shape, WORK_SIDE), box=True)
    light = light_paper(small)
    p = small if light else 1 - small  # paper bright from here on
    level, paper, noise = paper_level(p)
    low, mid, high = np.percentile(p[paper], [10, 50, 90])
    if high - low <= (FLAT + 4 * noise) * mid:
        ring = _ring(gray) if light else 1 - _ring(gray)
        near = np.abs(ring - mid) <= (FLAT + 4 * noise) * mid  # the ring's paper: not the desk, not ink
        one = float(np.median(ring[near])) if near.any() else float(mid)
        return ink_relative_to(gray, one if light else 1 - one, light), True
    level = _resize(level, gray.shape)
    return ink_relative_to(gray, level if light else 1 - level, light), False


def ink_from_photo(gray: np.ndarray) -> tuple[np.ndarray, tuple[int, int, int, int] | None]:
    """Grey levels (H, W) float32 in [0, 1] of a photo or scan -> (ink, box).

    ink: (H, W) float32 in [0, 1], 1 = ink, against the paper's own brightness, with what is not the
    drawing cleared (outside the drawing's box; on a grainy photo, everything but the drawing);
    box: the drawing's (top, bottom, left, right) with exclusive ends, or None when there is no ink.
    """
    from scipy import ndimage

    ink, uniform = flatten(gray)
    grain, clean = grain_level(ink), clean_frame(gray)
    grainy = pixel_noise(gray, ink) > NOISY or (grain > GRAIN and not clean)
    if grainy:  # the grain is no ink (taken off, full ink stays 1), and no speck of it is a drawing
        ink = np.clip((ink - grain) * np.float32(1 / (1 - grain)), 0, 1)
    seen = ndimage.uniform_filter(ink, 3) if grainy else ink
    peak = float(np.percentile(seen[::2, ::2], 99.9))  # the darkest ink: under FAINT, a pencil drawing
    if peak < MIN_INK and (grainy or not uniform):  # what is left of light, shadow and grain
        return ink, None
    threshold = CROP_THRESHOLD * min(1.0, max(peak / FAINT, 0.3))  # its faint parts are part of it too
    labels, keep, objects = drawing_parts(seen, threshold, specks=grainy or not clean)
    if not keep.any():
        return ink, None
    box = drawing_box(objects, keep)
    if grainy:
        return only_drawing(ink, labels, keep, box), box
    if not keep.all():  # specks, the desk: cleared where the crop could see them, outside the box
        dropped = np.concatenate([[False], ~keep])[labels]
        dropped[box[0] : box[1], box[2] : box[3]] = False
        ink[dropped] = 0
    return ink, box
