"""Uploaded image files -> a checked PIL image, safely.

Sizes are checked from the header before any pixel is decoded, decompression bombs and
animated or multi-page images are refused, only the formats in ``ALLOWED_FORMATS`` are
opened, and every failure is an ``InputImageError`` whose message is meant for the user.
"""

from __future__ import annotations

import io
import os
import warnings
from pathlib import Path
from typing import IO

import numpy as np
from PIL import ExifTags, Image, ImageOps, UnidentifiedImageError

from fmae.errors import InputImageError

MAX_UPLOAD_BYTES = 10 * 1024 * 1024  # 10 MiB
MAX_PIXELS = 36_000_000  # 6000x6000; far below Pillow's own bomb limit (~89 MP)
MIN_SIDE = 8  # smaller images hold no drawing worth reading
WORK_SIDE = 1024  # larger uploads are shrunk first: 28x28 is the goal, speed matters
ALLOWED_FORMATS = ("PNG", "JPEG", "GIF", "BMP", "WEBP", "TIFF", "PPM")  # never EPS (Ghostscript)
Source = str | os.PathLike | bytes | bytearray | memoryview | IO[bytes]


def _read_bytes(source: Source, max_bytes: int) -> bytes:
    """Read at most ``max_bytes + 1`` bytes, so an oversized file is detected without reading it all."""
    if isinstance(source, (bytes, bytearray, memoryview)):
        data = bytes(source)
    elif isinstance(source, (str, os.PathLike)):
        name = Path(source).name
        try:
            with open(source, "rb") as f:
                data = f.read(max_bytes + 1)
        except FileNotFoundError:
            raise InputImageError(f"The file {name!r} does not exist.") from None
        except OSError as exc:
            raise InputImageError(f"The file {name!r} cannot be read: {exc.strerror or exc}.") from None
    elif hasattr(source, "read"):
        data = source.read(max_bytes + 1)
    else:
        raise TypeError(f"expected a path, bytes or a binary file, not {type(source).__name__}")
    if not data:
        raise InputImageError("The file is empty (0 bytes): upload a PNG or JPEG image.")
    if len(data) > max_bytes:
        limit = f"{max_bytes / 2**20:.0f} MB" if max_bytes >= 2**20 else f"{max_bytes} bytes"
        raise InputImageError(f"The file is larger than {limit}: upload a smaller image.")
    return data


def check_dimensions(width: int, height: int) -> None:
    """Raise InputImageError for images too small to hold a drawing or too large to decode safely."""
    size = f"The image is {width}x{height} pixels"
    if width * height > MAX_PIXELS:
        raise InputImageError(f"{size}; the limit is {MAX_PIXELS // 10**6} megapixels: upload a smaller one.")
    if min(width, height) < MIN_SIDE:
        raise InputImageError(f"{size}; it must be at least {MIN_SIDE}x{MIN_SIDE}.")


def _open_checked(data: bytes) -> Image.Image:
    """Decode ``data``: size is checked from the header before any pixel is decoded."""
    try:
        # A DecompressionBombWarning is an error here. (catch_warnings is process-wide; the worst
        # a concurrent thread can see is this same "error" filter, which is what we want anyway.)
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            img = Image.open(io.BytesIO(data), formats=ALLOWED_FORMATS)
            check_dimensions(*img.size)
            if getattr(img, "is_animated", False) and img.format != "MPO":  # MPO: camera JPEG + preview
                raise InputImageError(f"The {img.format} has several frames: upload a single still image.")
            if img.format == "JPEG":
                img.draft(img.mode, (WORK_SIDE, WORK_SIDE))  # decode at 1/2..1/8 scale: much faster
            img.load()
    except InputImageError:
        raise
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise InputImageError("Too many pixels to decode safely (a decompression bomb?).") from None
    except UnidentifiedImageError:
        raise InputImageError(
            f"The file is not an image we can read ({', '.join(ALLOWED_FORMATS)})."
        ) from None
    except Exception as exc:  # noqa: BLE001 - any decoder failure on untrusted bytes is a bad file
        raise InputImageError(f"The image is corrupt or truncated and cannot be decoded ({exc}).") from None
    return img


def _scale_high_depth(img: Image.Image) -> Image.Image:
    """16/32-bit integer or float greyscale -> 8-bit "L", scaled (Pillow's convert would clip)."""
    arr = np.asarray(img, dtype=np.float32)
    peak = float(arr.max()) if arr.size else 0.0
    scale = 255.0 if peak <= 255 else 65535.0 if peak <= 65535 else peak
    if img.mode.startswith("I;16") or (img.mode == "F" and peak <= 1.0):
        scale = 65535.0 if img.mode.startswith("I;16") else 1.0
    return Image.fromarray(np.clip(arr * (255.0 / scale), 0, 255).round().astype(np.uint8))


def normalize_mode(img: Image.Image) -> Image.Image:
    """Any Pillow mode -> "L", "LA", "RGB" or "RGBA" (palette transparency becomes alpha)."""
    mode = img.mode
    if mode in ("L", "RGB") and "transparency" in img.info:
        return img.convert("RGBA")
    if mode in ("L", "LA", "RGB", "RGBA"):
        return img
    if mode == "1":
        return img.convert("L")
    if mode in ("P", "PA"):
        return img.convert("RGBA" if mode == "PA" or "transparency" in img.info else "RGB")
    if mode.startswith("I") or mode == "F":
        return _scale_high_depth(img)
    if mode in ("La", "RGBa"):  # premultiplied alpha
        return img.convert(mode.upper())
    try:
        return img.convert("RGB")  # CMYK, YCbCr, LAB, HSV
    except ValueError:
        raise InputImageError(f"Images in colour mode {mode!r} are not supported.") from None


def shrink(img: Image.Image) -> Image.Image:
    """Longest side down to WORK_SIDE (area filter; Pillow premultiplies alpha while resizing)."""
    w, h = img.size
    if max(w, h) <= WORK_SIDE:
        return img
    s = WORK_SIDE / max(w, h)
    size = (max(1, round(w * s)), max(1, round(h * s)))
    return img.resize(size, Image.Resampling.BOX, reducing_gap=2.0)


def orient(img: Image.Image) -> Image.Image:
    """The image as a person sees it: a phone stores a photo's pixels as the sensor read them and
    says in the EXIF Orientation tag (2-8) how to turn them; Pillow's ``exif_transpose`` applies it.

    Returns ``img`` itself when there is no such tag. A broken EXIF block is ignored (the pixels
    are still a picture); nothing is raised.
    """
    try:
        if img.getexif().get(ExifTags.Base.Orientation, 1) in range(2, 9):
            return ImageOps.exif_transpose(img)
    except Exception:  # noqa: BLE001 - malformed EXIF in an untrusted file: keep the pixels as stored
        pass
    return img


def load_upload(source: Source, max_bytes: int = MAX_UPLOAD_BYTES) -> Image.Image:
    """Load an uploaded image safely; return it upright (EXIF orientation applied) in mode L, LA,
    RGB or RGBA, longest side <= 1024.

    ``source`` is a path, the file's bytes, or a binary file object. Raises InputImageError
    with a message for the user on: empty or oversized files, non-images and unsupported formats,
    corrupt or truncated data, images under 8x8 or over 36 MP (checked from the header, before
    decoding), decompression bombs, and animated or multi-page images.
    """
    img = _open_checked(_read_bytes(source, max_bytes))
    return shrink(normalize_mode(orient(img)))
