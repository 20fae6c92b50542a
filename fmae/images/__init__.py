"""Images in and out: uploaded files decoded safely (size, format and mode checks), a drawing
or an upload turned into the 28x28 input a dataset expects, and fast numpy figures for the UI.

Uses only ``fmae.errors`` (and Pillow, NumPy).
"""

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
    CROP_THRESHOLD,
    Convention,
    EmptySketchError,
    convention_for,
    from_sketchpad,
    ink_bbox,
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
    shrink,
)

__all__ = [
    "ALLOWED_FORMATS",
    "CONVENTIONS",
    "CROP_THRESHOLD",
    "MAX_PIXELS",
    "MAX_UPLOAD_BYTES",
    "Convention",
    "EmptySketchError",
    "bars",
    "check_dimensions",
    "convention_for",
    "ema",
    "explain_figure",
    "from_sketchpad",
    "gray",
    "grid",
    "heatmap",
    "ink_bbox",
    "ink_from_array",
    "ink_from_image",
    "label",
    "labelled_row",
    "load_upload",
    "loss_curve_rows",
    "normalize_mode",
    "preprocess",
    "reconstruction_grid",
    "shrink",
    "to_model_input",
    "to_uint8",
    "upscale",
]
