"""What ``train()`` yields: a ``StepEvent`` every few steps, an ``EpochEvent`` per epoch and one
``DoneEvent`` at the end. The UI turns them into log lines and plots, the CLI into a progress bar;
the library itself never prints."""

from __future__ import annotations

from dataclasses import dataclass, field

from fmae.models import COLLAPSED_SPREAD, AutoEncoder, is_collapsed


@dataclass
class StepEvent:
    """Every ``log_every`` steps. ``loss`` is this step's train BCE."""

    epoch: int  # 1-based
    epochs: int
    step: int  # 1-based within the epoch
    steps: int
    loss: float
    elapsed: float  # seconds since training started
    samples_per_s: float

    def log_line(self) -> str:
        """The tutorial's log line."""
        return (
            f"Epoch [{self.epoch}/{self.epochs}], Step [{self.step}/{self.steps}], "
            f"Loss: {self.loss:.4f}, Time: {self.elapsed:.2f} secs"
        )


@dataclass
class EpochEvent:
    """At each epoch end, with test-set BCE and MSE (finite: a run whose numbers are not ends with
    a diverged DoneEvent instead). ``model`` is the live model. ``code_spread`` is
    ``fmae.models.code_spread`` of the test-set codes (None with fewer than two test images)."""

    epoch: int
    epochs: int
    train_loss: float  # mean train BCE over the epoch
    test_bce: float
    test_mse: float
    elapsed: float
    model: AutoEncoder = field(repr=False)
    code_spread: float | None = None

    @property
    def collapsed(self) -> bool:
        """True when the test-set codes have (nearly) no spread: see ``fmae.models.COLLAPSED_SPREAD``."""
        return self.code_spread is not None and is_collapsed(self.code_spread)

    def log_line(self) -> str:
        line = (
            f"Epoch [{self.epoch}/{self.epochs}] done: train BCE {self.train_loss:.4f}, "
            f"test BCE {self.test_bce:.4f}, test MSE {self.test_mse:.4f}, Time: {self.elapsed:.2f} secs"
        )
        if self.collapsed:
            line += f" - the codes have collapsed (spread {self.code_spread:.1e} < {COLLAPSED_SPREAD:g})"
        return line


@dataclass
class DoneEvent:
    """Last event of a run. ``stopped`` is True when ``should_stop`` ended it early.

    ``diverged`` is "" unless the loss or the weights stopped being finite numbers: then it says
    what and when, the run ended there, and ``model`` holds the last good weights (finite, and
    giving a finite loss on the next batch) instead: those after ``kept_step`` steps, at most
    ``fmae.training.GOOD_EVERY`` steps before the failure (or the last epoch's end; 0: the
    untrained model). ``history`` holds every finite loss seen, also those after ``kept_step``.
    The model is in eval mode.
    """

    model: AutoEncoder = field(repr=False)
    history: dict[str, list[float]] = field(repr=False)
    stopped: bool
    elapsed: float
    diverged: str = ""
    kept_step: int = 0  # steps the returned weights have been trained for


TrainEvent = StepEvent | EpochEvent | DoneEvent
