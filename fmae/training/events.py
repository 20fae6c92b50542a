"""What ``train()`` yields: a ``StepEvent`` every few steps, an ``EpochEvent`` per epoch and one
``DoneEvent`` at the end. The UI turns them into log lines and plots, the CLI into a progress bar;
the library itself never prints."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from fmae.models import COLLAPSED_SPREAD, AutoEncoder, is_collapsed
from fmae.training.frames import LatentFrame


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
    terms: dict[str, float] = field(default_factory=dict)  # the loss's named terms (a VAE: bce, kl)

    def log_line(self) -> str:
        """The tutorial's log line (a VAE's adds its terms)."""
        return (
            f"Epoch [{self.epoch}/{self.epochs}], Step [{self.step}/{self.steps}], "
            f"Loss: {self.loss:.4f}, Time: {self.elapsed:.2f} secs" + _terms_text(self.terms)
        )


def _terms_text(terms: dict[str, float]) -> str:
    """ ", BCE 0.2712, KL 25.10" for a loss with more terms than its BCE; "" otherwise."""
    if set(terms) <= {"bce"}:
        return ""
    return "".join(f", {k.upper() if len(k) <= 4 else k} {v:.4f}" for k, v in terms.items())


@dataclass
class FrameEvent:
    """A frame of the latent map (see ``fmae.training.frames``): every ``FrameRecorder.every_s``
    seconds, at step 0, at every epoch end, and when a paused run has taken the steps asked for.
    ``codes`` (n, latent) float32: the probe images' codes; ``frame.xy`` their 2-D positions;
    ``labels`` (n,) their classes."""

    frame: LatentFrame
    codes: np.ndarray = field(repr=False)
    labels: np.ndarray = field(repr=False)
    paused: bool = False  # True when the run holds after this frame (pause or step)


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
    terms: dict[str, float] = field(default_factory=dict)  # epoch means of the loss's named terms
    test_terms: dict[str, float] = field(default_factory=dict)  # a VAE's: test bce, kl, elbo (nats/image)

    @property
    def collapsed(self) -> bool:
        """True when the test-set codes have (nearly) no spread: see ``fmae.models.COLLAPSED_SPREAD``."""
        return self.code_spread is not None and is_collapsed(self.code_spread)

    def log_line(self) -> str:
        line = (
            f"Epoch [{self.epoch}/{self.epochs}] done: train BCE {self.train_loss:.4f}, "
            f"test BCE {self.test_bce:.4f}, test MSE {self.test_mse:.4f}, Time: {self.elapsed:.2f} secs"
        )
        if "kl" in self.terms:
            line += f", train KL {self.terms['kl']:.4f}"
        if "elbo" in self.test_terms:
            line += f", test KL {self.test_terms['kl']:.4f}, test ELBO {self.test_terms['elbo']:.2f} nats"
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
    timed_out: bool = False  # stopped because it stayed paused past ``RunControl.idle_s``


TrainEvent = StepEvent | EpochEvent | FrameEvent | DoneEvent
