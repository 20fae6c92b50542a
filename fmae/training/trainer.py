"""Training. The trainer keeps the dataset in memory as one tensor, draws
random-permutation batches, and reports progress as events; it never prints."""

from __future__ import annotations

import math
import random
import time
from collections.abc import Callable, Iterator

import numpy as np
import torch
import torch.nn.functional as F

from fmae.data import Dataset
from fmae.errors import NonFiniteError
from fmae.models import AutoEncoder, all_finite, build_model, code_spread, model_is_finite, nonfinite_count
from fmae.training import distributed
from fmae.training.config import TrainConfig
from fmae.training.control import RunControl
from fmae.training.events import DoneEvent, EpochEvent, FrameEvent, StepEvent, TrainEvent
from fmae.training.frames import FrameRecorder
from fmae.training.metrics import test_loss_terms, test_losses
from fmae.training.steps import AutogradStep, MLPFastStep, make_step


def seed_everything(seed: int) -> torch.Generator:
    """Seed Python, NumPy and torch; return a torch Generator for batch order."""
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)
    return torch.Generator().manual_seed(seed)


def initial_model(config: TrainConfig) -> AutoEncoder:
    """The model ``train(config)`` starts from when it is given none: seeded, then built. Build
    it here to look at the untrained model first, then pass it to ``train(model=...)``."""
    seed_everything(config.seed)
    return build_model(config.model, **config.model_kwargs())


def resolve_device(device: str = "auto") -> torch.device:
    """ "auto" -> CUDA when available, else CPU."""
    if device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    return torch.device(device)


def reconstruction_loss(logits: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """Mean per-pixel binary cross-entropy, computed from logits (the tutorial's BCELoss)."""
    return F.binary_cross_entropy_with_logits(logits, target)


#: steps between two checks of the weights: the last good weights a diverged run keeps are at most
#: this many steps old. A check copies the weights once and scans them once (about 60 us for the
#: tutorial's MLP, against ~1 ms per step): about 0.1% of a run.
GOOD_EVERY = 50
_NOT_FINITE = "not finite (NaN or infinity)"


class _LastGood:
    """The last weights known good: finite, and giving a finite loss on the batch that followed.

    ``offer(step)`` copies the live weights before a step as a candidate; ``confirm()``, after that
    step's loss came out finite, keeps the candidate if its numbers are all finite; an epoch's end
    that passed its checks keeps the live weights directly (``keep_live``). ``restore()`` copies the
    kept weights back into the live ones.
    """

    def __init__(self, live: list[torch.Tensor]):
        self.live = live
        self.kept = [t.detach().clone() for t in live]
        self.candidate = [t.detach().clone() for t in live]
        self.step = 0  # steps done when the kept weights were current
        self.pending: int | None = None

    @torch.no_grad()
    def offer(self, step: int) -> None:
        for c, t in zip(self.candidate, self.live, strict=True):
            c.copy_(t)
        self.pending = step

    def confirm(self) -> None:
        if self.pending is not None and all(all_finite(c) for c in self.candidate):
            self.kept, self.candidate, self.step = self.candidate, self.kept, self.pending
        self.pending = None

    @torch.no_grad()
    def keep_live(self, step: int) -> None:
        for k, t in zip(self.kept, self.live, strict=True):
            k.copy_(t)
        self.step, self.pending = step, None

    @torch.no_grad()
    def restore(self) -> None:
        for k, t in zip(self.kept, self.live, strict=True):
            t.copy_(k)


def train(
    config: TrainConfig,
    train_data: Dataset,
    test_data: Dataset,
    should_stop: Callable[[], bool] | None = None,
    model: AutoEncoder | None = None,
    frames: FrameRecorder | None = None,
    control: RunControl | None = None,
) -> Iterator[TrainEvent]:
    """Train an autoencoder; yield StepEvent, EpochEvent, FrameEvent and finally one DoneEvent.

    ``should_stop`` is polled between steps; when it returns True the run ends after the
    current step with ``DoneEvent(stopped=True)``. ``frames``: a ``FrameRecorder`` that takes a
    FrameEvent of the latent map before the first step, every ``frames.every_s`` seconds and at each
    epoch end (its frames stay in it for replay). ``control``: a ``RunControl`` whose pause, step,
    resume and stop act between steps; a run paused past its idle time ends with
    ``DoneEvent(stopped=True, timed_out=True)`` keeping its model. Neither changes the weights a
    seed gives. A denoising run (``config.noise``) corrupts each batch's inputs, not its targets.
    The MLP on the CPU without noise trains through ``fmae.training.fastmlp`` (same maths, no
    autograd); other runs through autograd. The model's parameters are current at every EpochEvent,
    FrameEvent and DoneEvent, not in between.

    A run whose training loss, test loss or weights stop being finite numbers ends at once with
    ``DoneEvent(diverged="...")`` holding the last good weights (see ``DoneEvent``, ``GOOD_EVERY``).
    Raises ValueError for a bad config, NonFiniteError for a given ``model`` that is not finite.
    """
    config.validate()
    ctx = distributed.context()  # under torchrun: this rank's share of each batch, its device
    device = ctx.device if ctx is not None else resolve_device(config.device)
    loud = distributed.is_main()  # progress events come from rank 0 only
    model = (model or initial_model(config)).to(device)
    if not model_is_finite(model):
        raise NonFiniteError(f"the model to train holds numbers {_NOT_FINITE}: start from finite ones")
    gen = seed_everything(config.seed)  # batch order: the same whether or not a model was given
    images = train_data.images[: config.train_limit] if config.train_limit else train_data.images
    n = images.shape[0]
    bs = min(config.batch_size, n)
    steps = n // bs  # drop_last, as in the tutorial
    step_fn = make_step(config, model, images, device, bs, config.epochs * steps)
    good = _LastGood(step_fn.live)
    history: dict[str, list[float]] = {"step_loss": [], "epoch_train_bce": [], "test_bce": [], "test_mse": []}
    start, done_steps = time.perf_counter(), 0

    def end(stopped: bool = False, why: str = "") -> DoneEvent:
        timed_out = control is not None and control.timed_out
        elapsed = time.perf_counter() - start
        return _end(model, step_fn, good, history, elapsed, done_steps, stopped, why, timed_out)

    shown: list[FrameEvent] = []  # the last FrameEvent yielded

    def frame(epoch_done: float, loss: float, epoch_end: bool = False) -> FrameEvent:
        """A frame now (``paused``: the run holds after it); the same frame again, not a new one,
        when one was already taken after this many steps."""
        held = control is not None and control.holding
        if shown and shown[0].frame.step == done_steps and not epoch_end:
            event = shown[0]
            event = FrameEvent(event.frame, event.codes, event.labels, held)
        else:
            step_fn.finish()  # the fast MLP's weights live in a flat buffer: current in the model now
            elapsed = time.perf_counter() - start
            shot, codes = frames.capture(model, done_steps, epoch_done, loss, elapsed, epoch_end)
            event = FrameEvent(shot, codes, frames.labels, held)
        shown[:] = [event]
        return event

    def show_hold() -> bool:
        """A pause or a used-up step budget: show where the run holds, unless that was just shown."""
        wanted = control is not None and control.take_show() and frames is not None and loud
        return wanted and not (shown and shown[0].frame.step == done_steps and shown[0].paused)

    value = float("nan")  # the last step's loss
    if frames is not None and loud:
        yield frame(0.0, value)
    for epoch in range(1, config.epochs + 1):
        model.train()
        perm = torch.randperm(n, generator=gen).to(device)
        epoch_sum, t_log, seen = 0.0, time.perf_counter(), 0
        terms_sum: dict[str, float] = {}
        for step in range(1, steps + 1):
            if should_stop is not None and should_stop():
                yield end(stopped=True)
                return
            if show_hold():
                yield frame(epoch - 1 + (step - 1) / steps, value)
            if control is not None and not control.gate(should_stop):
                yield end(stopped=True)
                return
            if control is not None and control.waited and frames is not None:
                frames.restart_clock()  # time spent paused is not training time between frames
            if done_steps % GOOD_EVERY == 0:
                good.offer(done_steps)
            value = step_fn(perm[(step - 1) * bs : step * bs])
            if not math.isfinite(value):
                yield end(why=f"the training loss was {_NOT_FINITE} at epoch {epoch}, step {step}")
                return
            good.confirm()
            done_steps += 1
            history["step_loss"].append(value)
            epoch_sum += value
            for key, term in step_fn.terms.items():
                terms_sum[key] = terms_sum.get(key, 0.0) + term
            seen += bs
            if step % config.log_every == 0 or step == steps:
                now = time.perf_counter()
                rate = seen / max(now - t_log, 1e-9)
                t_log, seen = now, 0
                if loud:
                    terms = step_fn.terms
                    yield StepEvent(epoch, config.epochs, step, steps, value, now - start, rate, terms)
            if frames is not None and loud and step < steps and (show_hold() or frames.due()):
                yield frame(epoch - 1 + step / steps, value)
        step_fn.finish()
        measured = distributed.on_main(lambda: _measure(model, test_data, device))  # the others wait
        if measured is None:
            yield end(why=f"the test loss or the weights were {_NOT_FINITE} after epoch {epoch}")
            return
        good.keep_live(done_steps)
        model.train()
        test_bce, test_mse, spread, test_terms = measured
        history["epoch_train_bce"].append(epoch_sum / steps)
        history["test_bce"].append(test_bce)
        history["test_mse"].append(test_mse)
        elapsed = time.perf_counter() - start
        if loud:
            terms = {k: v / steps for k, v in terms_sum.items()}
            yield EpochEvent(
                epoch, config.epochs, epoch_sum / steps, test_bce, test_mse, elapsed, model, spread, terms,
                test_terms,
            )  # fmt: skip
            if frames is not None:
                yield frame(float(epoch), value, epoch_end=True)
    yield end()


def _measure(
    model: AutoEncoder, test: Dataset, device: torch.device
) -> tuple[float, float, float | None, dict[str, float]] | None:
    """Test BCE, MSE, code spread and (a VAE's) loss terms at an epoch's end; None when a loss, a code
    or a weight is not finite."""
    bce, mse, codes = test_losses(model, test.images, device)
    if not (math.isfinite(bce + mse) and model_is_finite(model) and nonfinite_count(codes) == 0):
        return None
    terms = test_loss_terms(model, test.images, device) if hasattr(model, "posterior") else {}
    return bce, mse, code_spread(codes) if codes.shape[0] >= 2 else None, terms


def _end(
    model: AutoEncoder, step_fn: AutogradStep | MLPFastStep, good: _LastGood,
    history: dict[str, list[float]], elapsed: float, done_steps: int, stopped: bool, why: str,
    timed_out: bool = False,
) -> DoneEvent:  # fmt: skip
    """The run's DoneEvent: the model as it is, or (``why`` given, or its weights not finite) the
    last good weights, saying why."""
    step_fn.finish()
    if not why and model_is_finite(model):
        return DoneEvent(model.eval(), history, stopped, elapsed, "", done_steps, timed_out)
    good.restore()
    step_fn.finish()
    why = why or f"the weights were {_NOT_FINITE} when the run ended"
    return DoneEvent(model.eval(), history, False, elapsed, why, good.step)


def train_to_end(config: TrainConfig, train_data: Dataset, test_data: Dataset) -> DoneEvent:
    """Run ``train`` to completion and return its DoneEvent (scripts and tests)."""
    done = None
    for event in train(config, train_data, test_data):
        if isinstance(event, DoneEvent):
            done = event
    assert done is not None
    return done
