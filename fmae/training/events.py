"""What ``train()`` yields: a ``StepEvent`` every few steps, an ``EpochEvent`` per epoch and one
``DoneEvent`` at the end. The UI turns them into log lines and plots, the CLI into a progress bar;
the library itself never prints."""

from __future__ import annotations

from dataclasses import dataclass, field

from fmae.models import AutoEncoder


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
    """At each epoch end, with test-set BCE and MSE. ``model`` is the live model."""

    epoch: int
    epochs: int
    train_loss: float  # mean train BCE over the epoch
    test_bce: float
    test_mse: float
    elapsed: float
    model: AutoEncoder = field(repr=False)

    def log_line(self) -> str:
        return (
            f"Epoch [{self.epoch}/{self.epochs}] done: train BCE {self.train_loss:.4f}, "
            f"test BCE {self.test_bce:.4f}, test MSE {self.test_mse:.4f}, Time: {self.elapsed:.2f} secs"
        )


@dataclass
class DoneEvent:
    """Last event of a run. ``stopped`` is True when ``should_stop`` ended it early."""

    model: AutoEncoder = field(repr=False)
    history: dict[str, list[float]] = field(repr=False)
    stopped: bool
    elapsed: float


TrainEvent = StepEvent | EpochEvent | DoneEvent
