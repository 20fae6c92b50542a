"""Numbers a model may be trusted with: finiteness checks for weights and reference data, and
``code_spread``, which tells a working encoder from a collapsed one.

Collapse. An encoder has collapsed when (nearly) every image gets the same code: its decoder
then draws the same picture for every input and a map of the codes is one dot. ``code_spread``
measures it without a scale (the decoder can undo any rescaling of the codes)::

    spread = median_i ||z_i - m|| / sqrt(mean_i ||z_i||^2),   m = the coordinate-wise median code

It is 0 exactly when more than half the codes coincide (then m is that code), and close to 1
for codes spread around the origin. ``COLLAPSED_SPREAD`` = 1e-3 is the threshold. Where it comes
from (the Fashion-MNIST test set, 10,000 images; ``tests/test_train_guard.py`` reruns the first):

- the issue's run (MLP, hidden 16, lr 0.1, batch 16, 1,000 images, 1 epoch, seed 0): exactly
  0.0 (every ReLU of a hidden layer dead, so every code is the last layer's bias); 7 of 8 seeds
  of that run give 0.0, the eighth 0.57;
- every working model: the shipped ones 0.61 (fashion-mlp), 0.89-0.90 (conv); untrained ones
  0.13-0.35; the same small MLP at lr 0.01 and 0.05, 8 seeds each: 0.14-0.65, except one run at
  0.0027 in which about half the images share one code while the others still get their own
  (its reconstructions vary: not collapsed, and the measure says so, if narrowly).

1e-3 sits two orders of magnitude below every working model but that half-collapsed one, and
four above float32's relative resolution (1.2e-7), so rounding noise between codes that are truly
equal stays below it. The median makes a minority of odd images count for nothing.
"""

from __future__ import annotations

import math
import os
from collections.abc import Mapping
from typing import Any

import numpy as np
import torch

from fmae.errors import CheckpointError, NonFiniteError

COLLAPSED_SPREAD = 1e-3


def nonfinite_count(values: torch.Tensor | np.ndarray) -> int:
    """How many entries of ``values`` are NaN or infinite (0 for integer tensors)."""
    if isinstance(values, torch.Tensor):
        if not (values.is_floating_point() or values.is_complex()):
            return 0
        return int((~torch.isfinite(values)).sum())
    arr = np.asarray(values)
    if not np.issubdtype(arr.dtype, np.inexact):
        return 0
    return int((~np.isfinite(arr)).sum())


def all_finite(values: torch.Tensor) -> bool:
    """True when every entry of ``values`` is finite. One min/max pass (NaN and infinities show in
    it) and no temporaries: about 12x faster than ``isfinite(values).all()`` here, which matters
    in the training loop."""
    if values.numel() == 0 or not values.is_floating_point():
        return True
    lo, hi = torch.aminmax(values.detach())
    return math.isfinite(lo.item()) and math.isfinite(hi.item())


def check_finite(
    tensors: Mapping[str, torch.Tensor | np.ndarray],
    where: str,
    error: type[Exception] = CheckpointError,
) -> None:
    """Raise ``error`` naming the first tensor of ``tensors`` that holds a NaN or an infinity.

    ``where`` starts the message (a file, a model). One min/max pass over each tensor (the count of
    bad values only when there are some).
    """
    for key, values in tensors.items():
        if isinstance(values, torch.Tensor) and all_finite(values):
            continue
        bad = nonfinite_count(values)
        if bad:
            plural = "value" if bad == 1 else "values"
            raise error(
                f"{where}: {key} holds {bad} non-finite {plural} (NaN or infinity); "
                "fmae refuses numbers that are not finite"
            )


def model_is_finite(model: torch.nn.Module) -> bool:
    """True when every parameter and buffer of ``model`` is a finite number."""
    return all(all_finite(t) for t in model.state_dict().values())


def code_spread(codes: np.ndarray | torch.Tensor) -> float:
    """How spread out latent codes (N, latent) are, relative to their size; see the module docstring.

    Returns a float >= 0: 0.0 when more than half the codes coincide (or all are zero), around 1
    for codes spread around the origin. Raises ValueError unless ``codes`` is 2-D with at least two
    rows, NonFiniteError when it holds NaN or infinity.
    """
    z = np.asarray(codes.detach().cpu() if isinstance(codes, torch.Tensor) else codes, dtype=np.float64)
    if z.ndim != 2 or z.shape[0] < 2 or z.shape[1] < 1:
        raise ValueError(f"codes must be an array (N >= 2, latent >= 1), not of shape {z.shape}")
    if not np.isfinite(z).all():
        raise NonFiniteError("the codes hold NaN or infinity: the model's output is not finite")
    size = math.sqrt(float((z**2).sum(axis=1).mean()))
    if size == 0.0:
        return 0.0
    distance = np.linalg.norm(z - np.median(z, axis=0), axis=1)  # (N,)
    return float(np.median(distance)) / size


def is_collapsed(spread: float) -> bool:
    """True when a ``code_spread`` value says the encoder has collapsed (below ``COLLAPSED_SPREAD``)."""
    return spread < COLLAPSED_SPREAD


#: the datasets a checkpoint may name (the keys of ``fmae.data.DATASETS``; fmae.models does not import
#: fmae.data, so tests/test_model_integrity.py checks that the two agree)
KNOWN_DATASETS = ("fashion", "mnist")


def _finite_json(value: Any) -> bool:
    """True when every number in a parsed JSON value is finite (``1e999`` parses to inf)."""
    if isinstance(value, float):
        return math.isfinite(value)
    if isinstance(value, dict):
        return all(_finite_json(v) for v in value.values())
    if isinstance(value, list):
        return all(_finite_json(v) for v in value)
    return True


def check_info(info: dict[str, Any], path: str | os.PathLike) -> None:
    """Refuse a metrics.json the app cannot use: a non-finite number anywhere, a ``dataset`` fmae does
    not know, or ``metrics`` that are not a JSON object of numbers. Raises CheckpointError."""
    if not _finite_json(info):
        raise CheckpointError(f"{path} holds a number too large to be finite")
    dataset = info.get("dataset", "fashion")
    if dataset not in KNOWN_DATASETS:
        raise CheckpointError(f"{path} names the dataset {dataset!r}; fmae knows {', '.join(KNOWN_DATASETS)}")
    metrics = info.get("metrics", {})
    if not isinstance(metrics, dict) or not all(
        isinstance(v, int | float) and not isinstance(v, bool) for v in metrics.values()
    ):
        raise CheckpointError(f"{path}: 'metrics' must be a JSON object of numbers")
