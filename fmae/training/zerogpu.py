"""Hugging Face ZeroGPU: a Space lends a GPU only to calls wrapped with ``spaces.GPU``.

``on_zero_gpu(fn)`` wraps ``fn`` when the optional ``spaces`` package is installed (it is on Spaces) and
returns ``fn`` unchanged otherwise, so nothing breaks without it. Off ZeroGPU hardware ``spaces.GPU``
itself leaves the function as it is. Wrap the function the UI calls to train (a generator is fine).
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from typing import TypeVar

F = TypeVar("F", bound=Callable)

#: seconds of GPU one training call may hold on ZeroGPU (ZeroGPU ends a call that runs longer; the
#: default run takes a few seconds on a GPU)
GPU_SECONDS = 120


def on_zero_gpu(fn: F, duration: int = GPU_SECONDS) -> F:
    """``spaces.GPU(duration=duration)(fn)`` when ``spaces`` can be imported, else ``fn`` itself."""
    try:
        spaces = importlib.import_module("spaces")
    except ImportError:
        return fn
    return spaces.GPU(duration=duration)(fn)
