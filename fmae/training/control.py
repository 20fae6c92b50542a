"""Pause, step, resume and stop a run from another thread (the app's buttons), between optimizer
steps. ``train(..., control=RunControl())`` asks ``gate`` before every step.

Nothing about the run changes while it waits: the weights, the optimizer's moments, the batch order
and every random generator are where the last step left them, so a run paused, stepped and resumed
ends with the same weights as one never paused (``tests/test_watch.py`` checks this).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

#: seconds between two looks at ``should_stop`` while paused
POLL_S = 0.2


class RunControl:
    """Thread-safe run state: running, paused (optionally with steps to take), or stopped.

    ``idle_s``: a run paused that long with no ``resume``, ``step`` or ``pause`` call is stopped
    (``timed_out`` becomes True), so a forgotten pause cannot hold the training slot for ever.
    """

    def __init__(self, idle_s: float = 600.0):
        if idle_s <= 0:
            raise ValueError("idle_s must be positive")
        self.idle_s = idle_s
        self._cond = threading.Condition()
        self._paused = False
        self._budget = 0  # steps still to take while paused
        self._stopped = False
        self._show = False  # the trainer should yield a frame after the step it is about to take
        self._last_action = time.monotonic()
        self.timed_out = False
        self.waited = False  # the last ``gate`` call held the run for a while

    @property
    def paused(self) -> bool:
        return self._paused

    @property
    def holding(self) -> bool:
        """True when the run will hold before its next step (paused, no steps left to take)."""
        return self._paused and self._budget == 0 and not self._stopped

    @property
    def stopped(self) -> bool:
        return self._stopped

    def pause(self) -> None:
        """Hold the run before its next step (the trainer shows a frame of where it stopped)."""
        with self._cond:
            self._paused, self._budget, self._show = True, 0, True
            self._touch()

    def resume(self) -> None:
        """Continue the run."""
        with self._cond:
            self._paused, self._budget = False, 0
            self._touch()

    def step(self, n: int) -> None:
        """Take ``n`` more steps (1 <= n <= 100,000) and hold again, showing a frame after them;
        pauses a running run first. Raises ValueError for any other n."""
        if isinstance(n, bool) or not isinstance(n, int) or not 1 <= n <= 100_000:
            raise ValueError(f"the number of steps must be an integer in [1, 100000], not {n!r}")
        with self._cond:
            self._paused = True
            self._budget += n
            self._touch()

    def stop(self) -> None:
        """End the run before its next step (also while paused)."""
        with self._cond:
            self._stopped = True
            self._touch()

    def _touch(self) -> None:
        self._last_action = time.monotonic()
        self._cond.notify_all()

    def gate(self, should_stop: Callable[[], bool] | None = None) -> bool:
        """Called by the trainer before each step: True to take it, False to end the run. Blocks
        while paused with no steps to take, looking at ``stop``, ``should_stop`` and the idle time
        every ``POLL_S`` seconds."""
        with self._cond:
            self.waited = False
            while True:
                if self._stopped or (should_stop is not None and should_stop()):
                    return False
                if not self._paused:
                    return True
                if self._budget > 0:
                    self._budget -= 1
                    self._show = self._show or self._budget == 0
                    return True
                if time.monotonic() - self._last_action >= self.idle_s:
                    self.timed_out = self._stopped = True
                    return False
                self.waited = True
                self._cond.wait(POLL_S)

    def take_show(self) -> bool:
        """True once after a ``pause`` or after the step that used up a ``step`` budget: the trainer
        then yields a frame before it holds, so the page shows where the run holds."""
        with self._cond:
            show, self._show = self._show, False
            return show
