"""Images handed to Gradio as files: written once, atomically, under a name taken from their
content (see ``png_file``). Every tab and the agent tools use this, never a bare array."""

from __future__ import annotations

import hashlib
import io
import os
import tempfile
from pathlib import Path

import numpy as np
from PIL import Image


def png_file(image: np.ndarray, folder: str | Path, name: str = "image") -> str:
    """An image array (grey or RGB uint8) as a PNG file under ``folder`` (Gradio's cache), at a path
    named by its content: written once, atomically, and never rewritten.

    Handing Gradio the array instead makes it write the same file again, in place, at every paint
    (the walk at its start is the same image for every visitor; a stroke's last figure comes from
    two events): a browser fetching that file meanwhile gets a short body and keeps a broken image
    (issue 14; CI's "naturalWidth 0"). A path already in the cache is served as it is."""
    buf = io.BytesIO()
    Image.fromarray(np.asarray(image, np.uint8)).save(buf, format="PNG")
    data = buf.getvalue()
    target = Path(folder).resolve() / hashlib.sha256(data).hexdigest() / f"{name}.png"
    if target.exists():
        os.utime(target)  # still in use: Gradio's delete_cache ages files by their ctime
        return str(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, staging = tempfile.mkstemp(dir=target.parent, prefix=f".{name}.", suffix=".part")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
        Path(staging).replace(target)  # readers see no file or the whole file, never part of one
    except BaseException:
        Path(staging).unlink(missing_ok=True)
        raise
    return str(target)
