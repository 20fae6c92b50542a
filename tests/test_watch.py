"""Training you can watch (issue 15), the library side: input noise against its definitions, the
latent-map frames (probe, cadence, alignment), and pause/step/resume leaving the weights a seed gives."""

from __future__ import annotations

import threading
import time

import numpy as np
import pytest
import torch
from scipy.stats import ortho_group

from fmae.data import load_dataset
from fmae.models import ConvAutoEncoder
from fmae.training import (
    DoneEvent,
    EpochEvent,
    FrameEvent,
    FrameRecorder,
    RunControl,
    TrainConfig,
    corrupt,
    frame_drift,
    make_probe,
    parse_noise,
    plane_positions,
    train,
)


@pytest.fixture(scope="module")
def fashion():
    return load_dataset("fashion", "train"), load_dataset("fashion", "test")


# --- noise ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text", ["gaussian", "gaussian:", "gauss:0.3", "mask:1.5", "gaussian:-0.1", "mask:nan", 3]
)
def test_bad_noise_is_refused_with_the_forms(text):
    with pytest.raises(ValueError, match="gaussian:SIGMA"):
        parse_noise(text)


def test_noise_forms_parse():
    assert not parse_noise("none").active and not parse_noise("").active and not parse_noise(None).active
    assert (parse_noise("Gaussian:0.3").kind, parse_noise("Gaussian:0.3").level) == ("gaussian", 0.3)
    assert str(parse_noise("mask:0.5")) == "mask:0.5"


def test_gaussian_noise_matches_its_definition():
    x = torch.full((200, 1, 28, 28), 0.5)
    gen = torch.Generator().manual_seed(3)
    noisy = corrupt(x, "gaussian:0.1", gen)
    delta = noisy - x
    assert (
        abs(delta.mean().item()) < 2e-3 and abs(delta.std().item() - 0.1) < 2e-3
    )  # N(0, 0.1^2), no clipping here
    assert torch.equal(x, torch.full_like(x, 0.5))  # the input is not changed
    # the same generator seed, the same noise; clipping to [0, 1]
    assert torch.equal(noisy, corrupt(x, "gaussian:0.1", torch.Generator().manual_seed(3)))
    edge = corrupt(torch.ones(100, 784), "gaussian:0.3", gen)
    assert edge.max().item() == 1.0 and edge.min().item() >= 0.0 and (edge < 1).float().mean() > 0.4


def test_mask_noise_zeroes_the_given_fraction():
    x = torch.rand(100, 1, 28, 28) * 0.9 + 0.1  # no zeros to begin with
    noisy = corrupt(x, "mask:0.25", torch.Generator().manual_seed(0))
    zeroed = noisy == 0
    assert abs(zeroed.float().mean().item() - 0.25) < 0.01
    assert torch.equal(noisy[~zeroed], x[~zeroed])  # the rest untouched
    assert corrupt(x, "none") is x


class _Spy(ConvAutoEncoder):
    """Records what the trainer hands to ``loss_terms``."""

    seen: list[tuple[torch.Tensor, torch.Tensor]]

    def loss_terms(self, x, target):
        self.seen.append((x.detach().clone(), target.detach().clone()))
        return super().loss_terms(x, target)


def test_a_denoising_run_corrupts_the_input_and_keeps_the_target_clean(fashion):
    train_ds, test_ds = fashion
    cfg = TrainConfig(model="conv", epochs=1, train_limit=256, batch_size=128, noise="mask:0.5", channels=4)
    model = _Spy(latent_dim=10, channels=4, hidden_dim=128, arch=2)
    model.seen = []
    list(train(cfg, train_ds, test_ds, model=model))
    assert len(model.seen) == 2
    for x, target in model.seen:
        clean = target > 0
        assert torch.equal(x[x > 0], target[x > 0])  # masking only sets pixels to 0
        assert 0.4 < (x[clean] == 0).float().mean().item() < 0.6  # about half the ink is gone
        assert target.mul(255).round().sub(target * 255).abs().max() < 1e-3  # the target: real uint8 pixels


# --- frames ----------------------------------------------------------------------------------------


def test_the_probe_is_balanced_and_fixed(fashion):
    _, test_ds = fashion
    probe = make_probe(test_ds, 1000, seed=0)
    assert probe.images.shape == (1000, 1, 28, 28) and np.bincount(probe.labels).tolist() == [100] * 10
    assert np.array_equal(probe.index, make_probe(test_ds, 1000, seed=0).index)
    assert torch.equal(probe.images[0, 0], test_ds.images[probe.index[0]].float() / 255)


def test_alignment_undoes_rotations_and_reflections_exactly():
    rng = np.random.default_rng(0)
    codes = rng.normal(size=(500, 10)) * np.linspace(3, 0.3, 10)
    labels = np.zeros(500, np.int64)
    first = plane_positions(codes, labels, None)
    for seed in range(5):  # the same cloud turned and mirrored in 10-D: a fresh PCA may flip its axes
        turned = codes @ ortho_group.rvs(10, random_state=seed)
        fresh = plane_positions(turned, labels, None)
        aligned = plane_positions(turned, labels, first)
        assert frame_drift(aligned, first) < 1e-5
        assert frame_drift(fresh, first) <= 2.01  # what the alignment removes (up to 2: a full flip)
    assert np.array_equal(plane_positions(codes[:, :2], labels, None), codes[:, :2].astype(np.float32))


def _counting_clock(tick: float):
    """A clock that advances ``tick`` seconds each time it is read (the trainer reads it once per step)."""
    state = {"t": 0.0}

    def clock() -> float:
        state["t"] += tick
        return state["t"]

    return clock


def test_frames_come_at_the_interval_and_at_every_epoch_end(fashion):
    train_ds, test_ds = fashion
    cfg = TrainConfig(epochs=2, train_limit=64 * 50)  # 50 steps an epoch
    rec = FrameRecorder(make_probe(test_ds, 200), every_s=1.0, clock=_counting_clock(0.1))
    events = list(train(cfg, train_ds, test_ds, frames=rec))
    frames = [e.frame for e in events if isinstance(e, FrameEvent)]
    assert frames == rec.frames and frames[0].step == 0
    assert [f.step for f in frames if f.epoch_end] == [50, 100]
    kinds = [type(e).__name__ for e in events]
    for i, kind in enumerate(kinds):  # each epoch's end: its EpochEvent, then its frame
        if kind == "EpochEvent":
            assert kinds[i + 1] == "FrameEvent" and events[i + 1].frame.epoch_end
    steps = np.array([f.step for f in frames])
    gaps = np.diff(steps)
    timed = np.array([not f.epoch_end for f in frames[1:]])
    assert timed.sum() >= 8 and gaps.max() <= 11  # never longer than 1.0 s at 0.1 s a step...
    assert gaps[timed].min() >= 9  # ...and a timed frame not before the interval is up
    xy = frames[-1].xy
    assert xy.shape == (200, 2) and xy.dtype == np.float32 and frames[-1].recon.shape == (8, 28, 28)


def test_a_real_run_s_frames_stay_close(fashion):
    """The bound asserted: over a real run, the median drift between consecutive frames (RMS point
    movement over the map's RMS spread) stays under 0.15; without alignment sign flips make it up to 2."""
    train_ds, test_ds = fashion
    rec = FrameRecorder(make_probe(test_ds, 500), every_s=1.0, clock=_counting_clock(0.1))
    list(train(TrainConfig(epochs=2, train_limit=10_000), train_ds, test_ds, frames=rec))
    drifts = [frame_drift(b.xy, a.xy) for a, b in zip(rec.frames[2:], rec.frames[3:], strict=False)]
    assert len(drifts) > 20 and float(np.median(drifts)) < 0.15


def test_frames_are_bounded(fashion):
    train_ds, test_ds = fashion
    rec = FrameRecorder(make_probe(test_ds, 100), every_s=0.1, max_frames=8, clock=_counting_clock(0.1))
    list(train(TrainConfig(epochs=2, train_limit=64 * 30), train_ds, test_ds, frames=rec))
    steps = [f.step for f in rec.frames]
    assert len(rec.frames) <= 8 and steps == sorted(steps) and steps[0] == 0
    assert [f.step for f in rec.frames if f.epoch_end] == [30, 60]  # epoch ends survive thinning


# --- pause, step, resume ---------------------------------------------------------------------------


def _final_weights(done: DoneEvent) -> dict[str, torch.Tensor]:
    return {k: v.clone() for k, v in done.model.state_dict().items()}


@pytest.mark.parametrize("model", ["mlp", "conv"])
def test_pause_step_resume_gives_the_same_weights_as_an_uninterrupted_run(fashion, model):
    train_ds, test_ds = fashion
    cfg = TrainConfig(model=model, epochs=2, train_limit=64 * 20, channels=4, hidden_dim=64)
    plain = next(e for e in train(cfg, train_ds, test_ds) if isinstance(e, DoneEvent))

    control = RunControl()
    control.pause()  # held before the first step
    rec = FrameRecorder(make_probe(test_ds, 100), every_s=1e9)  # only the frames asked for
    asked, held_at, done = [1, 10, 3], [], None
    for event in train(cfg, train_ds, test_ds, frames=rec, control=control):
        if isinstance(event, FrameEvent) and event.paused:
            held_at.append(event.frame.step)
            if asked:
                control.step(asked.pop(0))  # the consumer asks before it pulls the next event
            else:
                control.resume()
        done = event
    assert held_at == [0, 1, 11, 14] and done.kept_step == 40 and not done.stopped
    for key, value in _final_weights(plain).items():
        assert torch.equal(value, done.model.state_dict()[key]), key


def test_a_paused_run_left_alone_stops_and_keeps_its_model(fashion):
    train_ds, test_ds = fashion
    control = RunControl(idle_s=0.3)
    control.step(5)  # take 5 steps, hold, and then nobody touches it
    events = list(train(TrainConfig(epochs=1, train_limit=64 * 20), train_ds, test_ds, control=control))
    done = events[-1]
    assert isinstance(done, DoneEvent) and done.stopped and done.timed_out and done.kept_step == 5
    assert not any(isinstance(e, EpochEvent) for e in events)
    assert all(torch.isfinite(p).all() for p in done.model.parameters())


def test_stop_while_paused_ends_the_run_from_another_thread(fashion):
    train_ds, test_ds = fashion
    control = RunControl()
    control.pause()
    threading.Timer(0.3, control.stop).start()
    t0 = time.monotonic()
    events = list(train(TrainConfig(epochs=1, train_limit=64 * 20), train_ds, test_ds, control=control))
    assert isinstance(events[-1], DoneEvent) and events[-1].stopped and not events[-1].timed_out
    assert events[-1].kept_step == 0 and time.monotonic() - t0 < 10


@pytest.mark.parametrize("n", [0, -1, 1.5, True, 100_001])
def test_step_counts_are_checked(n):
    with pytest.raises(ValueError, match="steps"):
        RunControl().step(n)


def test_a_pause_shows_where_the_run_holds_and_frames_within_steps_do_not_hold(fashion):
    """``FrameEvent.paused`` means "the run holds after this frame": a pause between two events gives
    one held frame at the step reached; frames on the clock in the middle of a Step do not hold."""
    train_ds, test_ds = fashion
    control = RunControl()
    rec = FrameRecorder(make_probe(test_ds, 100), every_s=1.0, clock=_counting_clock(0.1))
    cfg = TrainConfig(epochs=1, train_limit=64 * 60, log_every=7)
    frames, paused_at = [], None
    for event in train(cfg, train_ds, test_ds, frames=rec, control=control):
        if paused_at is None and getattr(event, "step", 0) == 14:  # the StepEvent after 14 steps
            control.pause()
            paused_at = 14
        elif isinstance(event, FrameEvent):
            frames.append((event.frame.step, event.paused))
            if event.paused and event.frame.step == 14:
                control.step(25)  # on the clock: frames every ~10 steps inside these 25
            elif event.paused:
                control.resume()
    assert (14, True) in frames and frames.count((14, True)) == 1
    inside = [(s, p) for s, p in frames if 14 < s < 39]
    assert inside and not any(p for _, p in inside)  # taken on the clock while stepping: no hold
    assert (39, True) in frames  # held again after exactly 25 steps
