"""A drawing or an upload -> the exact 28x28 input a dataset expects.

Two ways in, one way out:

- a drawing: ``from_sketchpad`` (Gradio's Sketchpad value) -> ``ink_from_array`` (an ink map in
  [0, 1], ink is 1, against the border's background) -> ``to_model_input`` (crop to all ink);
- an upload (photo, scan, image file, PIL image or array): ``fmae.images.upload.load_upload``
  (bytes or path -> a checked, upright PIL image) -> ``fmae.images.photo.ink_from_photo`` (uneven
  light divided out, the drawing's box found among specks and edge clutter) -> the same conventions.
  On a clean upload (uniform paper, nothing but the drawing) both ways give the same input.

The conventions:

- ``"mnist"``: fit the longest side into 20x20 keeping the aspect ratio (antialiased), paste into
  28x28 so the intensity centre of mass lands on pixel (14, 14) (integer shift, as in MNIST).
- ``"fashion"``: longest edge of the ink's bounding box scaled to 28, box centred; one sub-pixel
  resampling keeps the aspect ratio exact (no rounding of the short edge).

Decisions: an empty *sketchpad* (None, a blank or fully transparent composite) is a normal state,
so ``from_sketchpad``/``preprocess`` return None for it; an *upload* with no ink is a user error and
raises ``EmptySketchError``. ``fmae.images.upload`` refuses animated images (GIF, APNG, WebP) and
multi-page TIFFs rather than silently reducing them to their first frame. Nothing here imports
gradio or torch.
"""

from __future__ import annotations

from math import ceil, floor
from typing import Any, Literal

import numpy as np
from PIL import Image

from fmae.errors import InputImageError
from fmae.images.ink import (
    EmptySketchError,
    border_level,
    gray_from_array,
    ink_bbox,
    ink_relative_to,
)
from fmae.images.photo import ink_from_photo
from fmae.images.upload import check_dimensions, load_upload, normalize_mode, orient, shrink

MNIST_BOX, SIDE = 20, 28
Convention = Literal["mnist", "fashion"]
NO_INK = "No ink found: draw or upload a dark shape on a light background."
CONVENTIONS: dict[str, Convention] = {"mnist": "mnist", "fashion": "fashion"}  # dataset -> convention


def ink_from_array(arr: np.ndarray) -> np.ndarray:
    """Image array (H, W) or (H, W, 1|2|3|4) -> ink (H, W) float32 in [0, 1], ink is 1.

    The rule for clean drawings (the Sketchpad): uint8, uint16 or float input, either polarity: the
    background is the median of the border ring (light when >= 0.5). Transparent pixels are
    composited onto white when the visible content is dark and onto black when it is light.
    Raises EmptySketchError for a fully transparent image. Photos go through ``ink_from_photo``.
    """
    gray = gray_from_array(arr)
    bg = border_level(gray)
    return ink_relative_to(gray, bg, bg >= 0.5)


def ink_from_image(img: Image.Image) -> np.ndarray:
    """PIL image in any mode -> ink (H, W) float32 in [0, 1]; see ``ink_from_array``."""
    return ink_from_array(np.asarray(normalize_mode(img)))


def _window(ink: np.ndarray, y0: float, x0: float, side: float) -> np.ndarray:
    """Resample the square source window at (y0, x0) of ``side`` pixels to 28x28; zeros outside."""
    r0, c0, r1, c1 = floor(y0), floor(x0), ceil(y0 + side), ceil(x0 + side)
    region = np.zeros((r1 - r0, c1 - c0), dtype=np.float32)
    ys, xs, ye, xe = max(r0, 0), max(c0, 0), min(r1, ink.shape[0]), min(c1, ink.shape[1])
    region[ys - r0 : ye - r0, xs - c0 : xe - c0] = ink[ys:ye, xs:xe]
    filt = Image.Resampling.BOX if side > SIDE else Image.Resampling.BILINEAR  # antialiased, no overshoot
    box = (x0 - c0, y0 - r0, x0 - c0 + side, y0 - r0 + side)  # sub-pixel source box
    out = Image.fromarray(region).resize((SIDE, SIDE), filt, box=box)
    return np.clip(np.asarray(out, dtype=np.float32), 0.0, 1.0)


def _fashion(ink: np.ndarray, box: tuple[int, int, int, int]) -> np.ndarray:
    """Longest edge of the ink's bounding box -> 28 pixels, box centred (aspect ratio kept exactly)."""
    top, bottom, left, right = box
    side = max(bottom - top, right - left)
    return _window(ink, (top + bottom - side) / 2, (left + right - side) / 2, side)


def _mnist(ink: np.ndarray, box: tuple[int, int, int, int]) -> np.ndarray:
    """Fit into 20x20 (aspect kept), then an integer shift puts the centre of mass at (14, 14)."""
    crop = ink[box[0] : box[1], box[2] : box[3]]
    crop = crop * np.float32(1 / crop.max())  # MNIST's digits were bilevel: full-contrast strokes
    h, w = crop.shape
    s = MNIST_BOX / max(h, w)
    filt = Image.Resampling.BOX if s < 1 else Image.Resampling.BILINEAR  # antialiased, no overshoot
    small = Image.fromarray(crop).resize((max(1, round(w * s)), max(1, round(h * s))), filt)
    small = np.clip(np.asarray(small, dtype=np.float32), 0.0, 1.0)
    h, w = small.shape
    total = float(small.sum())
    cy = float(small.sum(axis=1) @ np.arange(h, dtype=np.float32)) / total
    cx = float(small.sum(axis=0) @ np.arange(w, dtype=np.float32)) / total
    # Integer shift, as MNIST: centre of mass within half a pixel of (14, 14); clamped so no ink is lost.
    oy = min(max(round(SIDE / 2 - cy), 0), SIDE - h)
    ox = min(max(round(SIDE / 2 - cx), 0), SIDE - w)
    out = np.zeros((SIDE, SIDE), dtype=np.float32)
    out[oy : oy + h, ox : ox + w] = small
    return out


def to_model_input(ink: np.ndarray, convention: Convention) -> np.ndarray:
    """Ink map (H, W) in [0, 1] -> (28, 28) float32 in [0, 1] in the dataset's convention.

    Crops to the pixels above CROP_THRESHOLD; raises EmptySketchError when there are none.
    The MNIST convention also stretches the ink to full contrast (a pencil stroke becomes a pen
    stroke, as MNIST's bilevel originals); the Fashion-MNIST convention keeps intensities.
    """
    if convention not in ("mnist", "fashion"):
        raise ValueError(f"convention must be 'mnist' or 'fashion', not {convention!r}")
    ink = np.asarray(ink, dtype=np.float32)
    if ink.ndim != 2:
        raise ValueError(f"ink must be a 2-D array, got shape {ink.shape}")
    box = ink_bbox(ink)
    if box is None:
        raise EmptySketchError(NO_INK)
    return _fit(ink, box, convention)


def _fit(ink: np.ndarray, box: tuple[int, int, int, int], convention: Convention) -> np.ndarray:
    return _mnist(ink, box) if convention == "mnist" else _fashion(ink, box)


def _as_array(image: Any) -> np.ndarray | None:
    if image is None:
        return None
    if isinstance(image, np.ndarray):
        if image.ndim >= 2:  # a Sketchpad canvas is 280x280; a 12000x12000 API "drawing" is refused here
            check_dimensions(image.shape[1], image.shape[0])
        return image
    if not isinstance(image, Image.Image):
        image = load_upload(image)
    check_dimensions(*image.size)
    return np.asarray(normalize_mode(image).convert("RGBA"))


def _flatten(background: Any, layers: list[Any]) -> np.ndarray | None:
    """Composite Sketchpad layers over the background (used when no composite is given)."""
    parts = [p for p in (_as_array(x) for x in [background, *layers]) if p is not None]
    if not parts:
        return None
    images = [Image.fromarray(np.ascontiguousarray(p).astype(np.uint8)).convert("RGBA") for p in parts]
    out = images[0]
    for layer in images[1:]:
        if layer.size != out.size:
            raise InputImageError(f"Sketch layers differ in size: {layer.size} vs {out.size}.")
        out = Image.alpha_composite(out, layer)
    return np.asarray(out)


def from_sketchpad(value: Any) -> np.ndarray | None:
    """Gradio Sketchpad value -> ink (H, W) float32 in [0, 1], or None when nothing is drawn.

    ``value`` is the Sketchpad's dict (``"composite"``: (H, W, 4) uint8 RGBA, else
    ``"background"`` + ``"layers"``; entries may also be PIL images or file paths), a bare image
    array or PIL image, or None. None, a blank composite and a fully transparent one give None.
    """
    if value is None:
        return None
    if isinstance(value, dict):
        image = _as_array(value.get("composite"))
        if image is None:
            image = _flatten(value.get("background"), list(value.get("layers") or []))
    else:
        image = _as_array(value)
    if image is None:
        return None
    try:
        ink = ink_from_array(image)
    except EmptySketchError:
        return None
    return ink if ink_bbox(ink) is not None else None


def convention_for(dataset: str) -> Convention:
    """Dataset name ("mnist" or "fashion") -> its input convention."""
    if dataset not in CONVENTIONS:
        raise ValueError(f"unknown dataset {dataset!r}; choose one of {sorted(CONVENTIONS)}")
    return CONVENTIONS[dataset]


def preprocess(value: Any, dataset: str) -> np.ndarray | None:
    """A sketch or an upload -> the (28, 28) float32 input in [0, 1] that ``dataset`` expects.

    ``value``: a Sketchpad dict or None (None returned when nothing is drawn), a PIL image, an
    image array, or an upload (path, bytes, binary file). Uploads are read as photos of a drawing
    (``fmae.images.photo``): EXIF orientation applied, uneven light divided out, the drawing
    cropped without specks or the desk; a clean upload gives what a clean drawing gives. Raises
    InputImageError (the message is for the user) for bad uploads, EmptySketchError for an upload
    without ink (a blank sheet, even in uneven light). ValueError for an unknown dataset.
    """
    convention = convention_for(dataset)
    if value is None or isinstance(value, dict):
        ink = from_sketchpad(value)
        return None if ink is None else to_model_input(ink, convention)
    ink, box = ink_from_photo(_upload_gray(value))
    if box is None:
        raise EmptySketchError(NO_INK)
    return _fit(ink, box, convention)


def _upload_gray(value: Any) -> np.ndarray:
    """An upload (PIL image, array, path, bytes, file) -> grey levels (H, W), longest side <= 1024,
    upright (EXIF orientation applied)."""
    if (
        isinstance(value, np.ndarray)
        and value.dtype == np.uint8
        and value.shape[2:] in ((), (1,), (2,), (3,), (4,))
    ):
        value = Image.fromarray(np.ascontiguousarray(value[..., 0] if value.shape[2:] == (1,) else value))
    if isinstance(value, np.ndarray):  # uint16 or float arrays: converted by gray_from_array
        if value.ndim >= 2:
            check_dimensions(value.shape[1], value.shape[0])
        return np.asarray(shrink(Image.fromarray(gray_from_array(value))), dtype=np.float32)
    if isinstance(value, Image.Image):
        check_dimensions(*value.size)
        image = shrink(normalize_mode(orient(value)))
    else:
        image = load_upload(value)
    return gray_from_array(np.asarray(image))
