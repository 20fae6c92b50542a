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
MIN_PART = 0.015  # in a photo, components with less ink than this fraction of the largest are specks
KEEP = 3  # ... unless this close (pixels) to the drawing's box; also the soft edge kept around it
EDGE_BAND = 0.2  # outer band of the frame (fraction of each side) where the desk and page edges lie
FRAME = 4  # rows and columns along each side where the paper's grain and noise are measured
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


def _touching(labels: np.ndarray, keep: np.ndarray, box: tuple[int, int, int, int]) -> np.ndarray:
    """Per component: is it within ``KEEP`` pixels of a kept one? (Looked for in the kept box only.)"""
    from scipy import ndimage

    h, w = labels.shape
    t, b = max(box[0] - KEEP, 0), min(box[1] + KEEP, h)
    left, r = max(box[2] - KEEP, 0), min(box[3] + KEEP, w)
    window = labels[t:b, left:r]
    near = ndimage.binary_dilation(np.concatenate([[False], keep])[window], iterations=KEEP)
    out = np.zeros(len(keep) + 1, bool)
    out[window[near]] = True
    return out[1:]


def drawing_parts(
    ink: np.ndarray, threshold: float = CROP_THRESHOLD, specks: bool = True
) -> tuple[np.ndarray, np.ndarray, list]:
    """Connected components of the ink above ``threshold`` in an ink map (H, W) -> (labels (H, W)
    int32, keep (n,) bool, boxes).

    Component i (label i + 1, box ``boxes[i]``: a pair of slices) is part of the drawing when
    ``keep[i]``: the components with at least ``MIN_PART`` of the largest one's ink, except edge
    clutter (unless there is nothing else), and then, in turn, any component whose box comes within
    ``KEEP`` pixels of their box (a faint piece), or clutter within ``KEEP`` pixels of their pixels
    (a part of the drawing along the frame). n is 0 without ink. With ``specks=False`` (a clean
    image: every mark is meant) only edge clutter is left out.
    """
    from scipy import ndimage

    labels, n = ndimage.label(ink > threshold, structure=np.ones((3, 3), bool))
    objects = ndimage.find_objects(labels)
    keep = np.ones(n, bool)
    if n > 1:
        clutter = _clutter(labels, n, objects)
        candidates = ~clutter if not clutter.all() else keep
        mass = np.bincount(labels.ravel(), weights=ink.ravel(), minlength=n + 1)[1:]
        keep = candidates & (mass >= MIN_PART * mass[candidates].max()) if specks else candidates
        r0, r1, c0, c1 = np.array([(r.start, r.stop, c.start, c.stop) for r, c in objects]).T
        while True:  # what touches the drawing (a faint piece, a part along the frame) joins it
            top, bottom, left, right = drawing_box(objects, keep)
            near = (r0 < bottom + KEEP) & (r1 > top - KEEP) & (c0 < right + KEEP) & (c1 > left - KEEP)
            joined = (near & ~clutter) | _touching(labels, keep, (top, bottom, left, right))
            if not (joined & ~keep).any():
                break
            keep |= joined
    return labels, keep, objects


def _frame(a: np.ndarray) -> list[np.ndarray]:
    """The outermost rows and columns of a map (H, W) as strips running along each side: bare paper
    in a photo of a drawing (``FRAME`` deep, 1 in images under 64 pixels: the drawing comes close)."""
    k = max(1, min(FRAME, min(a.shape) // 32))
    return [a[:k], a[-k:], a[k:-k, :k].T, a[k:-k, -k:].T]


def grain_level(ink: np.ndarray) -> float:
    """The paper's grain in an ink map (noise, fibres, JPEG ripple): the 95th percentile of the faint
    ink (below ``CROP_THRESHOLD``) along the frame. 0 on a clean image."""
    faint = np.concatenate([s.ravel() for s in _frame(ink)])
    faint = faint[faint < CROP_THRESHOLD]
    return float(np.percentile(faint, 95)) if faint.size else 0.0


def pixel_noise(gray: np.ndarray, ink: np.ndarray) -> float:
    """Pixel-to-pixel noise of grey levels (H, W) on the paper along the frame (neighbours both with
    ink below ``CROP_THRESHOLD``), relative to the paper's level: the robust spread of the
    differences between neighbours. 0 on a clean image."""
    pairs = [
        (np.abs(np.diff(g, axis=1)), (i[:, 1:] < CROP_THRESHOLD) & (i[:, :-1] < CROP_THRESHOLD), g)
        for g, i in zip(_frame(gray), _frame(ink), strict=True)
        if g.shape[1] > 1
    ]
    diff = np.concatenate([d[m] for d, m, _ in pairs]) if pairs else np.zeros(0)
    if diff.size < 16:
        return 0.0
    mid = float(np.median(np.concatenate([g.ravel() for _, _, g in pairs])))
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
