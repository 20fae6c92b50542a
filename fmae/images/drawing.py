"""Find the drawing in an ink map: connected components, minus specks, grain and edge clutter.

Used by ``fmae.images.photo.ink_from_photo`` (steps 3 and 4 there). An ink map is (H, W) float32
in [0, 1], 1 = ink; boxes are (top, bottom, left, right) with exclusive ends.
"""

from __future__ import annotations

import numpy as np

from fmae.images.ink import CROP_THRESHOLD

# scipy.ndimage is imported inside the functions that use it: importing fmae.images stays light.

NOISY = 0.005  # pixel noise above this (relative to the paper), or grain above GRAIN (as ink), makes a
GRAIN = 0.02  # grainy photo: grain taken off, components found on the 3x3 average, all else cleared
FAINT = 0.6  # darkest ink under this: a faint drawing, cropped at a proportionally lower threshold
MIN_PART = 0.015  # components with less ink than this fraction of the largest are specks
KEEP = 3  # ... unless this close (pixels) to the drawing's box; also the soft edge kept around it
EDGE_BAND = 0.2  # outer band of the frame (fraction of each side) where the desk and page edges lie
CLUTTER = 0.8  # a component touching the frame with this share of its pixels in the band is clutter


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


def drawing_box(objects: list, keep: np.ndarray) -> tuple[int, int, int, int]:
    """The union (top, bottom, left, right) of the boxes of the kept components."""
    rows = [o[0] for o, k in zip(objects, keep, strict=True) if k]
    cols = [o[1] for o, k in zip(objects, keep, strict=True) if k]
    return (
        min(r.start for r in rows),
        max(r.stop for r in rows),
        min(c.start for c in cols),
        max(c.stop for c in cols),
    )


def drawing_parts(ink: np.ndarray, threshold: float = CROP_THRESHOLD) -> tuple[np.ndarray, np.ndarray, list]:
    """Connected components of the ink above ``threshold`` in an ink map (H, W) -> (labels (H, W)
    int32, keep (n,) bool, boxes).

    Component i (label i + 1, box ``boxes[i]``: a pair of slices) is part of the drawing when
    ``keep[i]``: the components with at least ``MIN_PART`` of the largest one's ink, and smaller
    ones within ``KEEP`` pixels of their box (as good as attached); edge clutter is not, unless
    there is nothing else (see the module's docstring). n is 0 when there is no ink.
    """
    from scipy import ndimage

    labels, n = ndimage.label(ink > threshold, structure=np.ones((3, 3), bool))
    objects = ndimage.find_objects(labels)
    keep = np.ones(n, bool)
    if n > 1:
        clutter = _clutter(labels, n, objects)
        if not clutter.all():
            keep &= ~clutter
        mass = np.bincount(labels.ravel(), weights=ink.ravel(), minlength=n + 1)[1:]
        core = keep & (mass >= MIN_PART * mass[keep].max())
        top, bottom, left, right = drawing_box(objects, core)
        r0, r1, c0, c1 = np.array([(r.start, r.stop, c.start, c.stop) for r, c in objects]).T
        near = (r0 < bottom + KEEP) & (r1 > top - KEEP) & (c0 < right + KEEP) & (c1 > left - KEEP)
        keep = core | (keep & near)
    return labels, keep, objects


def grain_level(ink: np.ndarray) -> float:
    """The paper's grain in an ink map (noise, fibres, JPEG ripple): the 95th percentile of the faint
    ink (below ``CROP_THRESHOLD``: mostly bare paper). 0 on a clean image."""
    faint = ink[::3, ::3]
    faint = faint[faint < CROP_THRESHOLD]
    return float(np.percentile(faint, 95)) if faint.size else 0.0


def pixel_noise(gray: np.ndarray) -> float:
    """Pixel-to-pixel noise of grey levels (H, W), relative to the median level: the robust spread of
    differences between horizontal neighbours (most pixels are paper, where only noise differs)."""
    rows = gray[:: max(1, gray.shape[0] // 128)]  # 128 rows are plenty for a median
    diff = np.abs(np.diff(rows, axis=1)) if gray.shape[1] > 1 else np.zeros(1)
    mid = float(np.median(rows))
    return 1.4826 * float(np.median(diff)) / np.sqrt(2) / max(mid, 1 - mid, 1e-6)


def only_drawing(ink: np.ndarray, labels: np.ndarray, keep: np.ndarray, box: tuple[int, ...]) -> np.ndarray:
    """Ink of the drawing's components (and ``KEEP`` pixels around them, their soft edge) only."""
    from scipy import ndimage

    h, w = ink.shape
    t, b, left, r = max(box[0] - KEEP, 0), min(box[1] + KEEP, h), max(box[2] - KEEP, 0), min(box[3] + KEEP, w)
    kept = np.concatenate([[False], keep])[labels[t:b, left:r]]
    out = np.zeros_like(ink)
    out[t:b, left:r] = ink[t:b, left:r] * ndimage.binary_dilation(kept, iterations=KEEP)
    return out
