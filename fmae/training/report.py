"""What a finished run amounts to: its model measured on the test set (every number finite, or
NonFiniteError), and, in words for people and in metrics.json, whether it diverged (and which
weights were kept) or collapsed. The Train tab and the command line both say it this way."""

from __future__ import annotations

import math
from typing import Any

import torch

from fmae.errors import NonFiniteError
from fmae.models import COLLAPSED_SPREAD, AutoEncoder, code_spread, is_collapsed, nonfinite_count
from fmae.training.events import DoneEvent
from fmae.training.metrics import test_losses


def measure_result(model: AutoEncoder, test_images: torch.Tensor) -> dict[str, float]:
    """``test_bce``, ``test_mse`` (mean per pixel) and ``code_spread`` of ``model`` on uint8 test
    images (N >= 2, 28, 28). Raises NonFiniteError when any of them, or any code, is not finite."""
    bce, mse, codes = test_losses(model, test_images)
    if not math.isfinite(bce + mse) or nonfinite_count(codes):
        raise NonFiniteError(
            "the trained model gives numbers that are not finite (NaN or infinity) on the test images, "
            "so it was not kept; a lower learning rate usually avoids this"
        )
    return {"test_bce": bce, "test_mse": mse, "code_spread": code_spread(codes)}


def result_notes(done: DoneEvent, spread: float | None) -> list[tuple[str, str]]:
    """What went wrong in a run whose kept model has ``code_spread`` ``spread`` (None: not measured),
    as (headline, explanation) pairs for people: divergence (and which weights were kept),
    collapse. Empty for a healthy run."""
    notes = []
    if done.diverged:
        kept = (
            f"The weights after step {done.kept_step} were kept, the last ones checked finite."
            if done.kept_step
            else "Nothing had been learnt before it, so no model was kept."
        )
        advice = "A lower learning rate usually avoids this."
        notes.append((f"Training stopped: {done.diverged}", f"{kept} {advice}"))
    if spread is not None and is_collapsed(spread):
        notes.append(
            (
                "The model has collapsed",
                f"Most test images get the same code (code spread {spread:.1e}, below "
                f"{COLLAPSED_SPREAD:g}), so it reconstructs them alike and a map of its codes shows "
                "little more than one point. A lower learning rate or more hidden units usually avoid this.",
            )
        )
    return notes


def result_info(done: DoneEvent, spread: float) -> dict[str, Any]:
    """What metrics.json records about the run's outcome: ``code_spread``, ``collapsed`` and, for a
    diverged run, ``diverged`` (why) and ``kept_step`` (steps the kept weights were trained for)."""
    info: dict[str, Any] = {"code_spread": spread, "collapsed": is_collapsed(spread)}
    if done.diverged:
        info |= {"diverged": done.diverged, "kept_step": done.kept_step}
    return info
