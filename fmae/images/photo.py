"""A photo or scan of a drawing -> its ink map, as a person sees the drawing.

A phone photo of a sheet has what a clean image has not: light falling off across the page,
vignetting, shadows, a tinted paper, noise, JPEG blocks, specks, and the desk or the sheet's edge
along the frame. The steps (all on grey levels, see ``fmae.images.ink``):

1. polarity: Otsu's threshold splits the picture in two; the background is the part that holds
   most of the frame's border and of the area together (dark ink on paper, or white on black);
2. paper: the paper's brightness is estimated on a small copy (longest side ``WORK_SIDE``) by
   normalised convolution over the pixels that are paper, i.e. a Gaussian average that skips ink,
   at two scales (fine where paper is all around, coarse inside large filled drawings), then
   divided out at full size: ink is the fraction by which a pixel is darker than its own paper;
3. drawing: connected ink components (above ``CROP_THRESHOLD``); the drawing is every component
   with at least ``MIN_PART`` of the largest one's ink, except "edge clutter" (the desk, the
   sheet's edge, a dark corner: components that touch the frame and lie almost wholly in its outer
   band) unless nothing else is left. The components left out are cleared from the ink map.

On a clean image (paper uniform to within ``FLAT``, one drawing) every step reduces to the plain
rule of a drawing: paper = the median of the border ring, crop = every pixel above the threshold.
"""

from __future__ import annotations

import numpy as np
from PIL import Image
from scipy import ndimage

from fmae.images.ink import CROP_THRESHOLD, ink_relative_to

WORK_SIDE = 256  # the paper is estimated at this size: light varies slowly, and it is 16x cheaper
FLAT = 0.01  # paper brightness varying less than this (relative) is uniform: one level, as a drawing
SOFT = 0.05  # log brightness changing less than this per pixel (at WORK_SIDE) is no edge: light, not ink
MIN_PART = 0.015  # components with less ink than this fraction of the largest are specks
EDGE_BAND = 0.2  # outer band of the frame (fraction of each side) where the desk and page edges lie
CLUTTER = 0.8  # a component touching the frame with this share of its pixels in the band is clutter
NOISY = 0.005  # pixel noise above this (relative): grain is taken off the ink, and components are
# found on its 3x3 average
KEEP = 3  # pixels around a dropped component cleared with it (its soft edge)


def _otsu(values: np.ndarray) -> float:
    """Otsu's threshold of values in [0, 1] (a 256-bin histogram; a few lines of NumPy, not a
    scikit-image dependency)."""
    hist = np.bincount(np.clip((values * 255).astype(np.int32), 0, 255).ravel(), minlength=256)
    p = hist / hist.sum()
    w0 = np.cumsum(p)
    mu = np.cumsum(p * np.arange(256))
    between = (mu[-1] * w0 - mu) ** 2 / np.maximum(w0 * (1 - w0), 1e-12)
    return (int(np.argmax(between[:-1])) + 0.5) / 255


def _ring(a: np.ndarray) -> np.ndarray:
    return np.concatenate([a[0], a[-1], a[1:-1, 0], a[1:-1, -1]])


def light_paper(small: np.ndarray) -> bool:
    """Is the background of grey levels (H, W) the light side (dark ink on paper)? The paper is the
    histogram's mode (smoothed: the most common brightness); the ink is the longer tail away from it
    (0.1 and 99.9 percentiles). Uneven light widens the mode but does not move the ink's side."""
    hist = np.bincount(np.clip((small * 255).astype(np.int32), 0, 255).ravel(), minlength=256)
    mode = int(np.argmax(ndimage.gaussian_filter1d(hist.astype(np.float32), 2.0))) / 255
    low, high = np.percentile(small, [0.1, 99.9])
    return mode - float(low) >= float(high) - mode


def _smooth(x: np.ndarray, sigma: float) -> np.ndarray:
    return ndimage.gaussian_filter(x, sigma, mode="nearest", truncate=3.0)


def _normalised_average(p: np.ndarray, weight: np.ndarray, sigma: float) -> tuple[np.ndarray, np.ndarray]:
    """Gaussian average of ``p`` over the pixels where ``weight`` is 1 (normalised convolution):
    (average, support), support being the weighted share of the window. Where no weight is within
    reach, the mean over all weighted pixels."""
    support = _smooth(weight, sigma)
    avg = _smooth(p * weight, sigma) / np.maximum(support, 1e-6)
    if float(support.min()) < 1e-4:
        avg = np.where(support < 1e-4, np.float32(p[weight > 0].mean()), avg)
    return avg, support


def _lit_paper(p: np.ndarray) -> tuple[np.ndarray, np.ndarray, float]:
    """(coarse level, lit paper mask, noise): a Gaussian average over a tenth of the picture, iterated
    so that what is more than a few percent darker than it (ink, and deep shadow) is left out; noise
    is the paper's robust relative spread around it."""
    paper = (p > _otsu(p)).astype(np.float32)  # the light part of the picture, to begin with
    for _ in range(4):
        coarse, _ = _normalised_average(p, paper, 0.1 * max(p.shape))
        ratio = p / np.maximum(coarse, 1e-6)
        spread = 1.4826 * float(np.median(np.abs(ratio[paper > 0] - 1)))  # robust noise of the paper
        paper = (ratio >= 1 - max(0.05, 4 * spread)).astype(np.float32)
    return coarse, paper > 0, spread


def _shaded_paper(p: np.ndarray, coarse: np.ndarray, lit: np.ndarray) -> np.ndarray:
    """Paper in shadow: edge-free regions (the log brightness changes by less than ``SOFT`` per
    pixel) that hold the most lit paper or are mostly lit paper, so a shadow joined to the lit page
    by its soft penumbra counts and a grey area inside a drawing (ringed by its sharp edge) does not."""
    grad = ndimage.gaussian_gradient_magnitude(np.log(np.maximum(p, 0.05)), 1.0)
    smooth = ndimage.binary_opening((grad < SOFT) & (p >= 0.45 * coarse), iterations=2)  # cut thin leaks
    labels, n = ndimage.label(smooth)
    area = np.bincount(labels.ravel(), minlength=n + 1)
    lit_area = np.bincount(labels[lit], minlength=n + 1)
    lit_area[0] = 0
    paper = lit_area >= 0.5 * area
    paper[np.argmax(lit_area)] = True  # the page: the region with the most lit paper, shadows and all
    paper[0] = False
    return paper[labels]


def paper_level(small: np.ndarray) -> tuple[np.ndarray, np.ndarray, float]:
    """Brightness of the paper under each pixel of ``small`` (H, W), paper bright (grey levels of a
    light page, or inverted ones of a dark board) -> (level (H, W), paper mask (H, W), noise).

    Lit paper at a coarse scale first (large filled drawings cannot pull it down), then shadowed
    paper joined to it; the level follows the paper at a fine scale where paper surrounds a pixel
    and the coarse one elsewhere (inside large drawings).
    """
    coarse, lit, noise = _lit_paper(small)
    paper = lit | _shaded_paper(small, coarse, lit)
    side = max(small.shape)
    coarse, _ = _normalised_average(small, paper.astype(np.float32), 0.1 * side)
    fine, support = _normalised_average(small, paper.astype(np.float32), 0.015 * side)
    trust = np.clip(support * 2 - 0.5, 0, 1)  # over 3/4 of the fine window is paper: trust it
    return trust * fine + (1 - trust) * coarse, paper, noise


def _shrink(gray: np.ndarray) -> np.ndarray:
    h, w = gray.shape
    if max(h, w) <= WORK_SIDE:
        return gray
    s = WORK_SIDE / max(h, w)
    size = (max(1, round(w * s)), max(1, round(h * s)))
    return np.asarray(Image.fromarray(gray).resize(size, Image.Resampling.BOX), dtype=np.float32)


def flatten(gray: np.ndarray) -> np.ndarray:
    """Grey levels (H, W) of a photo -> ink (H, W) in [0, 1] against the paper's own brightness."""
    small = _shrink(gray)
    light = light_paper(small)
    p = small if light else 1 - small  # paper bright from here on
    level, paper, noise = paper_level(p)
    low, mid, high = np.percentile(p[paper], [10, 50, 90])
    if high - low <= (FLAT + 4 * noise) * mid:  # uniform paper: one level, as for a clean drawing
        ring = _ring(gray) if light else 1 - _ring(gray)
        near = np.abs(ring - mid) <= (FLAT + 4 * noise) * mid  # the ring's paper: not the desk, not ink
        one = float(np.median(ring[near])) if near.any() else float(mid)  # a clean image: the border's median
        return ink_relative_to(gray, one if light else 1 - one, light)
    full = Image.fromarray(level).resize(gray.shape[::-1], Image.Resampling.BILINEAR)
    level = np.asarray(full, dtype=np.float32)
    return ink_relative_to(gray, level if light else 1 - level, light)


def _clutter(labels: np.ndarray, n: int, objects: list) -> np.ndarray:
    """Per component (1..n): does it touch the frame and lie almost wholly in the outer band?"""
    h, w = labels.shape
    by, bx = max(1, round(EDGE_BAND * h)), max(1, round(EDGE_BAND * w))
    band = np.ones((h, w), bool)
    band[by : h - by, bx : w - bx] = False
    in_band = np.bincount(labels[band], minlength=n + 1)[1:]
    area = np.bincount(labels.ravel(), minlength=n + 1)[1:]
    touches = np.array([min(r.start, c.start) == 0 or r.stop == h or c.stop == w for r, c in objects])
    return touches & (in_band >= CLUTTER * area)


def _box(objects: list, keep: np.ndarray) -> tuple[int, int, int, int]:
    """The union (top, bottom, left, right) of the boxes of the kept components."""
    rows = [o[0] for o, k in zip(objects, keep, strict=True) if k]
    cols = [o[1] for o, k in zip(objects, keep, strict=True) if k]
    return (
        min(r.start for r in rows),
        max(r.stop for r in rows),
        min(c.start for c in cols),
        max(c.stop for c in cols),
    )


def drawing_parts(ink: np.ndarray) -> tuple[np.ndarray, np.ndarray, list]:
    """Connected ink components of an ink map (H, W) -> (labels (H, W) int32, keep (n,) bool, boxes).

    Component i (label i + 1, box ``boxes[i]``: a pair of slices) is part of the drawing when
    ``keep[i]``: the components with at least ``MIN_PART`` of the largest one's ink, and smaller
    ones within ``KEEP`` pixels of their box (as good as attached);
    edge clutter is not (see the module's docstring). n is 0 when there is no ink.
    """
    labels, n = ndimage.label(ink > CROP_THRESHOLD, structure=np.ones((3, 3), bool))
    objects = ndimage.find_objects(labels)
    keep = np.ones(n, bool)
    if n > 1:
        clutter = _clutter(labels, n, objects)
        if not clutter.all():
            keep &= ~clutter
        mass = ndimage.sum_labels(ink, labels, np.arange(1, n + 1))
        core = keep & (mass >= MIN_PART * mass[keep].max())
        top, bottom, left, right = _box(objects, core)
        r0, r1, c0, c1 = np.array([(r.start, r.stop, c.start, c.stop) for r, c in objects]).T
        near = (r0 < bottom + KEEP) & (r1 > top - KEEP) & (c0 < right + KEEP) & (c1 > left - KEEP)
        keep = core | (keep & near)
    return labels, keep, objects


def _above_grain(ink: np.ndarray) -> np.ndarray:
    """Ink minus the paper's grain (noise, fibres, JPEG ripple), rescaled to keep full ink at 1. The
    grain is the 95th percentile of the faint ink (below ``CROP_THRESHOLD``: mostly bare paper)."""
    faint = ink[::2, ::2]
    faint = faint[faint < CROP_THRESHOLD]
    grain = float(np.percentile(faint, 95)) if faint.size else 0.0
    if grain <= 0:
        return ink
    return np.clip((ink - grain) * np.float32(1 / (1 - grain)), 0, 1)


def pixel_noise(gray: np.ndarray) -> float:
    """Pixel-to-pixel noise of grey levels (H, W), relative to the median level: the robust spread of
    differences between horizontal neighbours (most pixels are paper, where only noise differs)."""
    diff = np.abs(np.diff(gray[:, ::2], axis=1)) if gray.shape[1] > 2 else np.zeros(1)
    mid = float(np.median(gray))
    return 1.4826 * float(np.median(diff)) / np.sqrt(2) / max(mid, 1 - mid, 1e-6)


def ink_from_photo(gray: np.ndarray) -> tuple[np.ndarray, tuple[int, int, int, int] | None]:
    """Grey levels (H, W) float32 in [0, 1] of a photo or scan -> (ink, box).

    ink: (H, W) float32 in [0, 1], 1 = ink, against the paper's own brightness, with what is not the
    drawing (and ``KEEP`` pixels around it) cleared outside the drawing's box; box: the drawing's
    (top, bottom, left, right) with exclusive ends, or None when there is no ink.
    """
    ink, seen = flatten(gray), None
    if pixel_noise(gray) > NOISY:  # a grainy photo: the grain is no ink, and no speck is a drawing
        ink = _above_grain(ink)
        seen = ndimage.uniform_filter(ink, 3)
    labels, keep, objects = drawing_parts(ink if seen is None else seen)
    if not keep.any():
        return ink, None
    box = _box(objects, keep)
    if not keep.all():  # specks, the desk: cleared where the crop could see them, outside the box
        dropped = ndimage.binary_dilation(np.concatenate([[False], ~keep])[labels], iterations=KEEP)
        dropped[box[0] : box[1], box[2] : box[3]] = False
        ink[dropped] = 0
    return ink, box
