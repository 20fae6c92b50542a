"""Images in and out: uploaded files decoded safely (size, format and mode checks, EXIF
orientation), a drawing, a photo or a scan of one turned into the 28x28 input a dataset expects
(uneven light divided out, the drawing found among specks and edge clutter), and fast numpy
figures for the UI (one model's explanation, or two models and a noisy input side by side).

Uses only ``fmae.errors`` (and Pillow, NumPy, SciPy's ndimage).
"""

from fmae.images.compare import Answer, compare_figure, fit_text
from fmae.images.ink import CROP_THRESHOLD, EmptySketchError, gray_from_array, ink_bbox
from fmae.images.latent_map import PALETTE, frame_title, gif_bytes, latent_map, map_limits, steady_limits
from fmae.images.photo import ink_from_photo
from fmae.images.plots import (
    bars,
    ema,
    explain_figure,
    gray,
    grid,
    heatmap,
    label,
    labelled_row,
    loss_curve_rows,
    reconstruction_grid,
    to_uint8,
    upscale,
)
from fmae.images.sketch import (
    CONVENTIONS,
    Convention,
    convention_for,
    from_sketchpad,
    ink_from_array,
    ink_from_image,
    preprocess,
    to_model_input,
)
from fmae.images.upload import (
    ALLOWED_FORMATS,
    MAX_PIXELS,
    MAX_UPLOAD_BYTES,
    check_dimensions,
    load_upload,
    normalize_mode,
    orient,
    shrink,
)

__all__ = [
    "ALLOWED_FORMATS",
    "CONVENTIONS",
    "CROP_THRESHOLD",
    "MAX_PIXELS",
    "MAX_UPLOAD_BYTES",
    "PALETTE",
    "Answer",
    "Convention",
    "EmptySketchError",
    "bars",
    "check_dimensions",
    "compare_figure",
    "convention_for",
    "ema",
    "explain_figure",
    "fit_text",
    "frame_title",
    "from_sketchpad",
    "gif_bytes",
    "gray",
    "gray_from_array",
    "grid",
    "heatmap",
    "ink_bbox",
    "ink_from_array",
    "ink_from_image",
    "ink_from_photo",
    "label",
    "labelled_row",
    "latent_map",
    "load_upload",
    "loss_curve_rows",
    "map_limits",
    "normalize_mode",
    "orient",
    "preprocess",
    "reconstruction_grid",
    "shrink",
    "steady_limits",
    "to_model_input",
    "to_uint8",
    "upscale",
]
