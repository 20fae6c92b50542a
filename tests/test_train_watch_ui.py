"""Watching a run in the Train tab, without a browser: the latent map picture and its GIF
(fmae.images.latent_map), the tab's WatchRun (frames as JSON, the GIF, time paused not counted), and
the tab's stream with pause, step and an idle stop (ui/train_tab.py, ui/train_watch.py)."""

from __future__ import annotations

import io
import json
import math
import re
import threading
import time
from types import SimpleNamespace

import numpy as np
import pytest
import torch
from PIL import Image

from fmae.data import Dataset
from fmae.images import PALETTE, frame_title, gif_bytes, latent_map, map_limits, steady_limits
from fmae.images.latent_map import PAD, TITLE_H
from fmae.training import LatentFrame, TrainConfig


def blobs(n: int = 200, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    labels = np.arange(n) % 10
    centres = rng.normal(size=(10, 2)) * 4
    return (centres[labels] + rng.normal(size=(n, 2))).astype(np.float32), labels


# ---------------------------------------------------------------- the picture


def test_a_point_is_drawn_in_its_class_colour_where_the_limits_put_it():
    xy = np.array([[0.0, 0.0], [1.0, 1.0], [0.5, 0.5]], np.float32)
    labels = np.array([3, 7, 1])
    img = latent_map(xy, labels, "t", limits=(0.0, 1.0, 0.0, 1.0), names=[str(i) for i in range(10)])
    assert img.shape == (440, 600, 3) and img.dtype == np.uint8
    plot = img[TITLE_H + 1 : -PAD - 1, PAD + 1 : 600 - 135 - 1]  # inside the frame, legend excluded

    def where(colour):
        ys, xs = np.nonzero((plot == colour).all(axis=2))
        return ys.mean(), xs.mean(), ys.size

    (y0, x0, n0), (y1, x1, n1), (yc, xc, nc) = (where(PALETTE[c]) for c in (3, 7, 1))
    assert n0 > 5 and n1 > 5 and nc > 5  # a dot, not a pixel
    assert x0 < xc < x1 and y1 < yc < y0  # x grows to the right, y grows upwards
    assert abs(xc - (x0 + x1) / 2) <= 1 and abs(yc - (y0 + y1) / 2) <= 1


def test_points_outside_the_limits_or_not_finite_are_left_out():
    xy = np.array([[5.0, 5.0], [np.nan, 0.0], [0.5, 0.5]], np.float32)
    img = latent_map(xy, np.array([2, 4, 9]), "t", limits=(0.0, 1.0, 0.0, 1.0), names=[""] * 10)
    plot = img[TITLE_H + 1 : -PAD - 1, PAD + 1 : 600 - 135 - 1]
    assert not (plot == PALETTE[2]).all(axis=2).any() and not (plot == PALETTE[4]).all(axis=2).any()
    assert (plot == PALETTE[9]).all(axis=2).sum() > 5


def test_the_legend_has_a_swatch_per_class_and_the_title_is_drawn():
    xy, labels = blobs()
    img = latent_map(xy, labels, frame_title(1234, 1.45, 0.2871), names=[f"c{i}" for i in range(10)])
    legend = img[:, 600 - 135 :]
    for colour in PALETTE:
        assert (legend == colour).all(axis=2).sum() >= 100  # a 12x12 swatch
    blank = latent_map(xy, labels, "", names=[f"c{i}" for i in range(10)])
    assert (img[:TITLE_H] != blank[:TITLE_H]).any()  # the step counter is on the picture


def test_mismatched_points_and_labels_are_refused():
    with pytest.raises(ValueError, match="must match"):
        latent_map(np.zeros((3, 2)), np.zeros(4), "t")
    with pytest.raises(ValueError, match="no finite point"):
        map_limits(np.full((3, 2), np.nan))


def test_limits_have_a_margin_and_a_zero_span_becomes_one():
    x0, x1, y0, y1 = map_limits(np.array([[0.0, 2.0], [10.0, 2.0]]), margin=0.1)
    assert (x0, x1) == pytest.approx((-1.0, 11.0)) and (y0, y1) == pytest.approx((1.9, 2.1))


def test_steady_limits_hold_still_until_the_map_outgrows_or_shrinks_into_them():
    xy, _ = blobs()
    first = steady_limits(None, xy)
    assert first == map_limits(xy)
    assert steady_limits(first, xy * 0.9) == first  # a little smaller: the scale stays
    assert steady_limits(first, xy * 1.5) == map_limits(xy * 1.5)  # outgrown: a new scale
    assert steady_limits(first, xy * 0.1) == map_limits(xy * 0.1)  # shrunk into a corner: a new scale


def test_the_title_is_the_step_counter():
    assert frame_title(1234, 1.4532, 0.28712) == "step 1,234 · epoch 1.45 · loss 0.2871"
    assert frame_title(0, 0.0, math.nan) == "step 0 · epoch 0.00"


def test_the_gif_has_a_frame_per_picture_and_holds_the_last():
    xy, labels = blobs()
    images = [
        latent_map(xy * (i + 1), labels, frame_title(i * 10, i / 10), map_limits(xy * 7)) for i in range(7)
    ]
    data = gif_bytes(images, frame_ms=100, last_ms=1500)
    gif = Image.open(io.BytesIO(data))
    assert gif.format == "GIF" and gif.n_frames == 7 and gif.size == (600, 440)
    durations = []
    for i in range(gif.n_frames):
        gif.seek(i)
        durations.append(gif.info["duration"])
    assert durations == [100] * 6 + [1500]
    gif.seek(6)
    last = np.asarray(gif.convert("RGB")).astype(int)
    assert np.abs(last - images[-1]).mean() < 3  # the picture, not a blur of it
    with pytest.raises(ValueError):
        gif_bytes([])
    with pytest.raises(ValueError):
        gif_bytes([images[0], images[0][:100]])


# ---------------------------------------------------------------- the tab's WatchRun


def fake_test_set(n: int = 300) -> Dataset:
    g = torch.Generator().manual_seed(0)
    images = torch.randint(0, 256, (n, 28, 28), generator=g, dtype=torch.uint8)
    labels = torch.arange(n) % 10
    return Dataset("fashion", "test", images, labels, tuple(f"class {i}" for i in range(10)), "fake")


def add_frames(run, count: int) -> None:
    n = run.recorder.labels.shape[0]
    rng = np.random.default_rng(1)
    for i in range(count):
        recon = rng.integers(0, 256, (8, 28, 28), dtype=np.uint8)
        xy = rng.normal(size=(n, 2)).astype(np.float32) * (i + 1)
        loss = math.nan if i == 0 else 0.7 / (i + 1)
        run.recorder.frames.append(LatentFrame(i * 10, i / 4, loss, i * 1.5, xy, recon, i % 4 == 0))


def test_a_watch_run_gives_its_frames_as_json_and_as_a_gif(monkeypatch):
    from ui import train_watch

    run = train_watch.WatchRun(fake_test_set(), idle_s=60)
    add_frames(run, 9)
    payload = json.loads(json.dumps(run.payload(), allow_nan=False))
    assert payload["classes"][3] == "class 3" and len(payload["labels"]) == 300
    steps = [f["step"] for f in payload["frames"]]
    assert steps == [i * 10 for i in range(9)] and payload["frames"][0]["loss"] is None
    assert np.allclose(payload["frames"][4]["xy"], run.recorder.frames[4].xy, atol=6e-5)
    assert Image.open(io.BytesIO(run.gif())).n_frames == 9
    monkeypatch.setattr(train_watch, "MAX_GIF_FRAMES", 4)  # a long run: an even sample, ends kept
    assert Image.open(io.BytesIO(run.gif())).n_frames == 4
    grid = run.grid(run.recorder.frames[2])
    assert grid.shape == (2 * (84 + 2) + 2, 8 * (84 + 2) + 2, 3)  # 8 probe images over 8 reconstructions
    info = run.info("en", 2, run.frames())
    assert info.startswith("Frame 3 of 9 · step 20 · epoch 0.50") and "loss 0.2333" in info


def test_time_paused_does_not_count_against_the_run():
    from ui import train_watch

    run = train_watch.WatchRun(fake_test_set(), idle_s=60)
    run.running_seconds()
    time.sleep(0.2)
    assert run.running_seconds() >= 0.2
    run.control.pause()
    before = run.running_seconds()
    time.sleep(0.3)
    assert run.running_seconds() == before  # paused: the clock holds
    run.control.resume()
    time.sleep(0.1)
    assert run.running_seconds() >= before + 0.1


# ---------------------------------------------------------------- the tab's stream


def step_of(status: str) -> int:
    return int(re.search(r"Paused\*\* after step ([\d,]+)", status).group(1).replace(",", ""))


def test_pause_then_step_advances_by_exactly_the_steps_asked_then_an_idle_pause_stops_and_keeps_the_model(
    tmp_path,
):
    from ui import train_tab
    from ui.state import AppState
    from ui.train_watch import Watches, hold

    app = AppState(checkpoints=tmp_path / "none", session_root=tmp_path / "sessions")
    app.store.ttl_s = 2.0  # the session's idle time: a paused run's idle stop (its session is kept meanwhile)
    watches, request = Watches(app), SimpleNamespace(session_hash="watch", headers={})
    config = TrainConfig(epochs=2, train_limit=64 * 100, hidden_dim=16, latent_dim=4, log_every=1)
    stream = train_tab.stream_training(app, request, config, config.train_limit, watches)
    while (run := watches.get("watch")) is None or not run.frames():
        next(stream)
    session = app.store.peek("watch")
    hold(run)  # what Pause does; right after a frame, where a plain RunControl.pause() shows none
    paused = next((out[0] for out in stream if isinstance(out[0], str) and "Paused" in out[0]), None)
    assert paused is not None, "no frame was shown when the run paused"
    held = step_of(paused)  # the generator is held in RunControl.gate now
    assert run.frames()[-1].step == held == 1 and run.held
    hold(run)  # already paused: no step taken
    for n in (10, 1):
        time.sleep(1.6)  # the frame clock runs while paused: the first step brings a frame on time
        run.stepping(n)  # what Step does
        run.control.step(n)
        status = next(out[0] for out in stream if isinstance(out[0], str) and "Paused" in out[0])
        assert step_of(status) == held + n and run.frames()[-1].step == held + n
        held += n
    done = threading.Event()

    def other_visitors() -> None:  # the store drops idle sessions when someone uses it, here while paused
        while not done.wait(0.1) and not run.control.timed_out:
            app.store.prune()

    threading.Thread(target=other_visitors, daemon=True).start()
    t0 = time.monotonic()
    try:
        rest = list(stream)  # nobody resumes: the run stops after the idle time, keeping its model
    finally:
        done.set()
    assert 1.9 < time.monotonic() - t0 < 30
    assert app.store.peek("watch") is session  # kept past its idle time while its run was paused
    status, log = rest[-1][0], rest[-1][1]
    assert "paused too long" in status and "is now your current model" in status
    assert "nobody resuming" in log and run.finished
    entry = session.get_model(session.current)
    assert entry.checkpoint.info["stopped_early"] is True
    assert len(entry.checkpoint.info["history"]["step_loss"]) == held
    curve = rest[-1][2]
    marker = curve[curve.series == "frame shown"]
    assert set(marker.step) == {held} and {"train (smoothed)", "test"} <= set(curve.series)
