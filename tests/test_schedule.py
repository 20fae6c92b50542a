"""Learning-rate schedules: their shapes, and that both training steps follow the same one."""

from __future__ import annotations

import itertools
import math

import pytest
import torch

from fmae.training import TrainConfig
from fmae.training.schedule import ONECYCLE_END, ONECYCLE_START, SCHEDULES, lr_factor, make_scheduler


def _rates(schedule: str, total: int) -> list[float]:
    param = torch.nn.Parameter(torch.zeros(1))
    optimizer = torch.optim.SGD([param], lr=0.5)
    scheduler = make_scheduler(optimizer, schedule, total)
    rates = []
    for _ in range(total):
        rates.append(optimizer.param_groups[0]["lr"])
        optimizer.step()
        if scheduler is not None:
            scheduler.step()
    return rates


@pytest.mark.parametrize("schedule", SCHEDULES)
def test_the_scheduler_follows_the_closed_form(schedule):
    total = 40
    expected = [0.5 * lr_factor(schedule, step, total) for step in range(total)]
    assert _rates(schedule, total) == pytest.approx(expected, rel=1e-6, abs=1e-12)


def test_onecycle_warms_up_then_anneals():
    total = 100
    f = [lr_factor("onecycle", s, total) for s in range(total + 1)]
    peak = max(range(total + 1), key=f.__getitem__)
    assert f[0] == pytest.approx(ONECYCLE_START) and f[peak] == pytest.approx(1.0) and peak == 25
    assert all(a < b for a, b in itertools.pairwise(f[: peak + 1]))  # up, then down
    assert all(a > b for a, b in itertools.pairwise(f[peak:]))
    assert f[-1] == pytest.approx(ONECYCLE_END)
    assert lr_factor("cosine", 50, 100) == pytest.approx(0.5) and lr_factor("constant", 7, 10) == 1.0
    assert all(math.isfinite(lr_factor("onecycle", s, 1)) for s in range(3))  # tiny runs


def test_schedules_are_checked():
    assert TrainConfig(schedule="onecycle").validate().schedule == "onecycle"
    with pytest.raises(ValueError, match="schedule"):
        TrainConfig(schedule="linear").validate()
    with pytest.raises(ValueError, match="schedule"):
        lr_factor("linear", 0, 10)
