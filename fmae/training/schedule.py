"""Learning-rate schedules, as a factor of the configured rate at each step (one closed form for the
autograd step and the MLP's own step).

- ``constant``: 1 throughout.
- ``cosine``: from 1 down to 0 over the run (``CosineAnnealingLR`` with ``eta_min=0``).
- ``onecycle``: a warm-up from 1/25 to 1 over the first ``ONECYCLE_WARMUP`` of the steps, then a
  cosine down to ~0 (Smith's one-cycle, as ``torch.optim.lr_scheduler.OneCycleLR`` shapes it, with
  Adam's betas left alone). The warm-up lets the conv model take a learning rate about 3x larger
  than it survives from the first step, which is what makes its short runs good.
"""

from __future__ import annotations

import math

import torch

SCHEDULES = ("constant", "cosine", "onecycle")
ONECYCLE_WARMUP = 0.25  # share of the steps spent warming up
ONECYCLE_START = 1 / 25  # first factor (OneCycleLR's div_factor 25)
ONECYCLE_END = 1e-4  # last factor


def lr_factor(schedule: str, step: int, total: int) -> float:
    """The learning rate of step ``step`` (0-based) of ``total``, as a factor of the configured one."""
    if schedule == "constant":
        return 1.0
    if schedule == "cosine":
        return (1 + math.cos(math.pi * min(step, total) / max(total, 1))) / 2
    if schedule != "onecycle":
        raise ValueError(f"schedule must be one of {SCHEDULES}, not {schedule!r}")
    warm = max(1, round(ONECYCLE_WARMUP * total))
    if step < warm:
        return ONECYCLE_START + (1 - ONECYCLE_START) * (1 - math.cos(math.pi * step / warm)) / 2
    done = min(step - warm, total - warm) / max(total - warm, 1)
    return ONECYCLE_END + (1 - ONECYCLE_END) * (1 + math.cos(math.pi * done)) / 2


def make_scheduler(
    optimizer: torch.optim.Optimizer, schedule: str, total: int
) -> torch.optim.lr_scheduler.LRScheduler | None:
    """A scheduler to ``step()`` after each optimizer step, or None for a constant rate."""
    if schedule == "constant":
        return None
    if schedule == "cosine":  # as before schedules had their own module: same numbers
        return torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=total)
    return torch.optim.lr_scheduler.LambdaLR(optimizer, lambda step: lr_factor(schedule, step, total))
