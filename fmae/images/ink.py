"""Image arrays -> grey levels -> ink: the steps a drawing and a photo share.

Grey levels are float32 in [0, 1] (0 black), ink is float32 in [0, 1] (1 full ink, 0 paper).
"""

from __future__ import annotations

import numpy as np

from fmae.errors import InputImageError

CROP_THRESHOLD = 0.1  # ink below this is faint noise: it neither defines the crop nor counts as ink
LUMA = np.array([0.299, 0.587, 0.114], dtype=np.float32)  # ITU-R 601, what Pillow's "L" uses


class EmptySketchError(InputImageError):
    """The image holds no ink: a uniform picture, a fully transparent one, a blank drawing."""


def _unit_float(arr: np.ndarray) -> np.ndarray:
    if arr.dtype == np.uint8:
        return arr.astype(np.float32) * np.float32(1 / 255)
    if arr.dtype == np.uint16:
        return arr.astype(np.float32) * np.float32(1 / 65535)
    out = arr.astype(np.float32)
    if not np.isfinite(out).all():  # float arrays come from the API, not from decoded files
        raise InputImageError("The image holds NaN or infinite pixel values: send 0-255 or 0-1 values.")
    peak = float(out.max()) if out.size else 0.0
    return out if peak <= 1.0 else out * np.float32(1 / 255 if peak <= 255 else 1 / peak)


def gray_from_array(arr: np.ndarray) -> np.ndarray:
    """Image array (H, W) or (H, W, 1|2|3|4), uint8, uint16 or float -> grey (H, W) float32 in [0, 1].

    Colour becomes luma (ITU-R 601). Transparent pixels are composited onto white when the visible
    content is dark (black ink on transparent = black ink on white) and onto black when it is light.
    Raises EmptySketchError for a fully transparent image, InputImageError for other shapes.
    """
    a = _unit_float(np.asarray(arr))
    if a.ndim == 3 and a.shape[2] == 1:
        a = a[..., 0]
    if a.ndim == 2:
        gray, alpha = a, None
    elif a.ndim == 3 and a.shape[2] in (2, 3, 4):
        gray = a[..., 0] if a.shape[2] == 2 else a[..., :3] @ LUMA
        alpha = a[..., -1] if a.shape[2] in (2, 4) else None
    else:
        raise InputImageError(f"Expected an image array (H, W) or (H, W, C), got shape {a.shape}.")
    if alpha is not None and float(alpha.min()) < 1.0:
        total = float(alpha.sum())
        if total <= 0.01 * alpha.size / 255:
            raise EmptySketchError("The image is fully transparent: there is nothing to read.")
        backdrop = 0.0 if float((gray * alpha).sum()) / total > 0.5 else 1.0
        gray = alpha * gray + (1.0 - alpha) * np.float32(backdrop)
    return np.ascontiguousarray(gray, dtype=np.float32)


def border_level(gray: np.ndarray) -> float:
    """The median of the outermost pixel ring of ``gray`` (H, W): the background of a clean image."""
    border = np.concatenate([gray[0], gray[-1], gray[1:-1, 0], gray[1:-1, -1]])
    return float(np.median(border))


def ink_relative_to(gray: np.ndarray, background: float | np.ndarray, light_paper: bool) -> np.ndarray:
    """Ink (H, W) in [0, 1]: how much darker (``light_paper``) or lighter than ``background`` each pixel
    is, as a fraction of the background's distance to black (or to white).

    ``background`` is one level or a per-pixel map (H, W) (uneven light); both in [0, 1].
    """
    if np.ndim(background) == 0:  # one level: the exact arithmetic the Sketchpad path has always used
        bg = float(background)
        ink = (bg - gray) * np.float32(1 / bg) if light_paper else (gray - bg) * np.float32(1 / (1 - bg))
    elif light_paper:
        ink = (background - gray) / np.maximum(background, np.float32(1e-3))
    else:
        ink = (gray - background) / np.maximum(1 - background, np.float32(1e-3))
    return np.clip(ink, 0.0, 1.0, out=ink)


def ink_bbox(ink: np.ndarray, threshold: float = CROP_THRESHOLD) -> tuple[int, int, int, int] | None:
    """(top, bottom, left, right) bounds (exclusive ends) of pixels above ``threshold``; None if none."""
    mask = ink > threshold
    rows, cols = np.flatnonzero(mask.any(axis=1)), np.flatnonzero(mask.any(axis=0))
    if rows.size == 0:
        return None
    return int(rows[0]), int(rows[-1]) + 1, int(cols[0]), int(cols[-1]) + 1
