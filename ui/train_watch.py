"""Train tab, watching a run: the live latent map, replay of the run's frames and pause/step/resume.

The run itself streams through ``ui.train_tab.stream_training`` (its outputs are the ``/train`` API's
and stay as they were); this module keeps each session's ``WatchRun`` (the run's ``FrameRecorder``
and ``RunControl``) in a small registry keyed by the session id, and the page reads it:

- a ``gr.Timer`` (active from Start until the run has ended and its last frame is drawn) redraws the
  map (``#train-latent-map``) from the newest frame about once a second, unqueued, so it never waits
  behind the training event; the frames come every ``FRAME_EVERY_S`` = 1.5 s and at each epoch end;
- the replay slider scrubs through the kept frames, during or after a run; the loss curve marks the
  frame shown, the reconstruction grid shows that frame's reconstructions;
- Pause, Step (1, 10 or 100 steps) and Resume call the run's ``RunControl`` from their own unqueued
  events: the training event is blocked inside ``RunControl.gate`` while paused, so anything queued
  behind it would wait for ever. A paused run left alone for the session's idle time stops and keeps
  its model (``RunControl(idle_s=...)``); meanwhile its session is kept (``ui.train_tab``).

API: ``/train_frames`` (JSON of every kept frame), ``/train_gif`` (the animation as a GIF file),
``/train_pause``, ``/train_step``, ``/train_resume``. No ``from __future__ import annotations``:
``gr.api`` reads the annotations as objects.
"""

import json
import math
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import gradio as gr
import numpy as np

from fmae.data import Dataset
from fmae.images import frame_title, gif_bytes, latent_map, map_limits, reconstruction_grid, steady_limits
from fmae.training import FRAME_EVERY_S, FrameEvent, FrameRecorder, LatentFrame, RunControl, make_probe
from ui.i18n import lang_of, t, tr
from ui.state import AppState

STEP_SIZES = (1, 10, 100)
TICK_S = 1.0  # the page asks for the newest frame this often while a run is on
MAX_GIF_FRAMES = 150  # a longer run's GIF takes an even sample of its frames (first and last kept)
N_GRID = 8  # probe images each frame reconstructs (fmae.training.frames.N_RECON, not exported)
MAX_WATCHES = 8  # sessions whose last run's frames are kept (~4 MB each), least recently started go first
SKIP = gr.skip


class WatchRun:
    """One run's frames and controls: ``recorder`` (pass to ``train(frames=...)``), ``control``
    (``train(control=...)``), the dataset's ``classes`` and what the page shows. Thread-safe enough
    for one writer (the training) and the page's readers: frames are read from a copy of the list."""

    def __init__(self, test: Dataset, idle_s: float, every_s: float = FRAME_EVERY_S) -> None:
        probe = make_probe(test)
        self.recorder = FrameRecorder(probe, every_s=every_s)
        self.control = RunControl(idle_s=idle_s)
        self.classes = tuple(test.classes)
        self.originals = probe.images[:, 0].numpy()  # (n, 28, 28) floats in [0, 1]; frames keep the first few
        self.curve: Callable[[int | None], Any] | None = None  # the loss curve, marking a step
        self.finished = self.held = False  # held: the run holds after its newest frame
        self.target: int | None = None  # the step a Step request holds at, when known
        self.follow = True  # the page shows the newest frame (False once the slider went back)
        self.shown: int | None = None  # index of the frame the page shows
        self.version = 0  # bumped by every change the page should redraw for
        self.drawn = -1  # the version the page's map shows
        self.limits: tuple[float, float, float, float] | None = None
        self.active_s, self._clock = 0.0, time.monotonic()
        self.lock = threading.Lock()

    def frames(self) -> list[LatentFrame]:
        return list(self.recorder.frames)

    def on_frame(self, ev: FrameEvent) -> None:
        """A frame came. ``ev.paused`` is also True for a frame taken on time in the middle of a Step's
        steps (``RunControl.paused`` holds while a step budget runs, and the frame clock counts the
        time paused, so the first step after a long pause brings one): the run holds only once the
        step asked for is reached."""
        with self.lock:
            self.held = ev.paused and (self.target is None or ev.frame.step >= self.target)
            if self.held:
                self.target = None
            self.version += 1

    def stepping(self, n: int) -> None:
        """Step ``n`` was asked for: the run will hold at the held frame's step + ``n``."""
        with self.lock:
            frames = self.recorder.frames
            if self.target is not None:
                self.target += n
            elif self.held and frames:
                self.target = frames[-1].step + n
            self.held = False

    def resumed(self) -> None:
        with self.lock:
            self.held, self.target, self.follow, self.version = False, None, True, self.version + 1

    def finish(self) -> None:
        frames = self.frames()
        with self.lock:
            self.finished, self.held, self.version = True, False, self.version + 1
            if frames:  # replay keeps one scale: the last frame's
                self.limits = map_limits(frames[-1].xy)

    def running_seconds(self) -> float:
        """Seconds the run has been running, not counting time paused (call it often: each call adds
        the time since the last one unless the run is paused now)."""
        now = time.monotonic()
        if not self.control.paused:
            self.active_s += now - self._clock
        self._clock = now
        return self.active_s

    def marker_step(self) -> int | None:
        """The step of the frame the page shows (the loss curve marks it)."""
        frames = self.frames()
        if not frames:
            return None
        index = len(frames) - 1 if self.follow or self.shown is None else min(self.shown, len(frames) - 1)
        return frames[index].step

    def draw(self, frame: LatentFrame, live: bool = False) -> np.ndarray:
        """The map of ``frame`` (RGB uint8); ``live``: the scale follows a growing map (steady_limits)."""
        if live and not self.finished:
            self.limits = steady_limits(self.limits, frame.xy)
        title = frame_title(frame.step, frame.epoch, frame.loss)
        return latent_map(frame.xy, self.recorder.labels, title, self.limits, self.classes)

    def grid(self, frame: LatentFrame) -> np.ndarray:
        """Probe images (top) over ``frame``'s reconstructions of them (bottom), RGB uint8."""
        k = frame.recon.shape[0]
        return reconstruction_grid(self.originals[:k], frame.recon.astype(np.float32) / 255.0)

    def info(self, lang: str, index: int, frames: list[LatentFrame]) -> str:
        """One line about frame ``index``: its place, step counter, epoch, loss, and "paused"."""
        frame = frames[index]
        text = tr(lang, "watch_info", i=index + 1, n=len(frames), step=f"{frame.step:,}", epoch=frame.epoch)
        if math.isfinite(frame.loss):
            text += tr(lang, "watch_loss", loss=frame.loss)
        if self.held and index == len(frames) - 1 and not self.finished:
            text += tr(lang, "watch_paused")
        return text

    def payload(self) -> dict[str, Any]:
        """The frames as JSON-ready data (see ``/train_frames`` in the README)."""
        frames = self.frames()
        return {
            "classes": list(self.classes),
            "labels": self.recorder.labels.astype(int).tolist(),
            "running": not self.finished,
            "paused": self.held and not self.finished,
            "frames": [frame_json(f) for f in frames],
        }

    def gif(self) -> bytes:
        """The run's map as an animated GIF: at most ``MAX_GIF_FRAMES`` frames (an even sample, the
        first and last kept), one scale (the last frame's), the step counter on each."""
        frames = self.frames()
        if not frames:
            raise ValueError("no frames")
        keep = np.unique(
            np.linspace(0, len(frames) - 1, min(MAX_GIF_FRAMES, len(frames))).round().astype(int)
        )
        limits = map_limits(frames[-1].xy)
        images = []
        for i in keep:
            f = frames[int(i)]
            title = frame_title(f.step, f.epoch, f.loss)
            images.append(latent_map(f.xy, self.recorder.labels, title, limits, self.classes))
        return gif_bytes(images)


def frame_json(f: LatentFrame) -> dict[str, Any]:
    """One frame as JSON-ready data: step, epoch, elapsed seconds, loss (None before the first step),
    epoch_end and ``xy`` (n, 2) as lists, 4 decimals."""
    loss = round(f.loss, 5) if math.isfinite(f.loss) else None
    xy = np.round(f.xy.astype(np.float64), 4).tolist()
    return {"step": f.step, "epoch": round(f.epoch, 4), "elapsed": round(f.elapsed, 3), "loss": loss,
            "epoch_end": f.epoch_end, "xy": xy}  # fmt: skip


def hold(run: WatchRun) -> None:
    """Pause ``run`` after one more step (nothing when it is paused already). ``RunControl.step(1)``
    rather than ``pause()``: the trainer shows a frame once a step budget is used up, wherever the
    request finds it, while a ``pause()`` that arrives just after a frame was yielded holds the run
    with no frame of where it stopped (the page would never learn that it is paused)."""
    if not run.control.paused:
        run.control.step(1)
    run.follow = True


class Watches:
    """Each session's latest ``WatchRun`` (at most ``MAX_WATCHES``; those of sessions that are gone
    and the least recently started finished runs go first)."""

    def __init__(self, app: AppState) -> None:
        self.app = app
        self._runs: OrderedDict[str, WatchRun] = OrderedDict()
        self._lock = threading.Lock()
        self.pause_asked: set[str] = set()  # sessions that pressed Pause while their run was starting

    def start(self, sid: str, run: WatchRun) -> None:
        with self._lock:
            if sid in self.pause_asked:  # Pause came before the run could be held: hold it now
                self.pause_asked.discard(sid)
                hold(run)
            for old in [s for s in self._runs if self.app.store.peek(s) is None]:
                del self._runs[old]
            self._runs.pop(sid, None)
            finished = [s for s, r in self._runs.items() if r.finished]
            while len(self._runs) >= MAX_WATCHES and finished:
                del self._runs[finished.pop(0)]
            self._runs[sid] = run

    def get(self, sid: str) -> WatchRun | None:
        with self._lock:
            return self._runs.get(sid)


@dataclass
class WatchUI:
    """The tab's watch components (see ``layout``)."""

    map: gr.Image
    slider: gr.Slider
    info: gr.Markdown
    pause: gr.Button
    step: gr.Button
    step_size: gr.Radio
    resume: gr.Button
    gif: gr.Button
    gif_file: gr.File
    timer: gr.Timer


def layout_map() -> tuple[gr.Image, gr.Slider, gr.Markdown]:
    """The map, its replay slider and the line under it (inside the current column)."""
    # no label shown: Gradio draws it over the image's top left corner, where the step counter is
    image = gr.Image(
        label=t("latent_map"), show_label=False, format="png", interactive=False, elem_id="train-latent-map"
    )
    slider = gr.Slider(0, 1, value=0, step=1, label=t("replay"), elem_id="train-frame")
    info = gr.Markdown(t("watch_none"), elem_id="train-frame-info")
    return image, slider, info


def layout_controls() -> tuple[gr.Button, gr.Button, gr.Radio, gr.Button, gr.Button, gr.File, gr.Timer]:
    """Pause, Resume, Step (and its size), the GIF button and file, and the page's timer (inside the
    current column)."""
    with gr.Row(elem_id="train-watch-controls"):
        pause = gr.Button(t("pause"), size="sm", elem_id="train-pause", min_width=80)
        resume = gr.Button(t("resume"), size="sm", elem_id="train-resume", min_width=80)
    with gr.Row():
        step = gr.Button(t("step_button"), size="sm", elem_id="train-step", min_width=70, scale=1)
        step_size = gr.Radio(
            list(STEP_SIZES), value=10, label=t("step_size"), show_label=False, container=False,
            min_width=220, scale=2, elem_id="train-step-size",
        )  # fmt: skip
    gif = gr.Button(t("gif"), size="sm", elem_id="train-gif-button")
    gif_file = gr.File(label=t("gif_file"), visible=False, interactive=False, elem_id="train-gif")
    return pause, step, step_size, resume, gif, gif_file, gr.Timer(TICK_S, active=False)


def wire(
    app: AppState, watches: Watches, ui: WatchUI, status: gr.Markdown, grid: gr.Image, curve: gr.LinePlot
) -> None:
    """Wire the watch events (all unqueued: they must answer while the training event runs)."""

    def live(request: gr.Request) -> WatchRun | None:
        run = watches.get(app.session_id(request))
        return run if run is not None and not run.finished else None

    def tick(index: float, request: gr.Request) -> tuple:
        """The newest frame, when the page follows the run; the timer stops once all is drawn."""
        sid = app.session_id(request)
        run, session = watches.get(sid), app.store.peek(sid)  # peek: a page open is not a visitor active
        busy = session is not None and (session.running or session.pending_runs > 0)
        frames = run.frames() if run is not None else []
        if run is None or not frames or run.drawn == run.version:
            done = not busy and (run is None or run.finished)
            return SKIP(), SKIP(), SKIP(), gr.Timer(active=False) if done else SKIP()
        last, lang = len(frames) - 1, lang_of(request)
        run.drawn = run.version
        if not run.follow:  # the visitor is replaying an older frame: only the slider's end moves
            shown = min(run.shown or 0, last)
            return SKIP(), gr.update(maximum=max(last, 1)), run.info(lang, shown, frames), SKIP()
        run.shown = last
        image = run.draw(frames[last], live=True)
        return image, gr.update(maximum=max(last, 1), value=last), run.info(lang, last, frames), SKIP()

    def scrub(index: float, request: gr.Request) -> tuple:
        """Show frame ``index`` of the session's run: map, reconstructions, curve marker."""
        run = watches.get(app.session_id(request))
        frames = run.frames() if run is not None else []
        if run is None or not frames:
            return SKIP(), SKIP(), SKIP(), SKIP()
        i = int(min(max(int(index or 0), 0), len(frames) - 1))
        run.shown, run.follow = i, i == len(frames) - 1
        run.drawn = run.version
        plot = run.curve(frames[i].step) if run.curve is not None else SKIP()
        return run.draw(frames[i]), run.grid(frames[i]), run.info(lang_of(request), i, frames), plot

    def act(request: gr.Request, action: str, n: int = 1) -> Any:
        app.session(request)  # a visitor acting is not idle
        run = live(request)
        if run is None:
            session = app.session(request)
            if action == "pause" and (session.running or session.pending_runs > 0):
                watches.pause_asked.add(app.session_id(request))  # the run is loading or queued
                return tr(lang_of(request), "pause_when_started")
            return tr(lang_of(request), "nothing_training")
        run.follow = True  # show where the run holds
        if action == "pause":
            hold(run)
        elif action == "step":
            run.stepping(n)
            run.control.step(n)
        else:
            run.control.resume()
            run.resumed()
        return SKIP()

    def pause(request: gr.Request) -> Any:
        """Hold this session's run before its next step (nothing is lost)."""
        return act(request, "pause")

    def step(n: float, request: gr.Request) -> Any:
        """Take ``n`` (1, 10 or 100) more steps of this session's run, then hold again."""
        return act(request, "step", int(n) if int(n or 0) in STEP_SIZES else 1)

    def resume(request: gr.Request) -> Any:
        """Let this session's paused run go on."""
        return act(request, "resume")

    def make_gif(request: gr.Request) -> str:
        """The session's run as an animated GIF of its latent map (file)."""
        run = watches.get(app.session_id(request))
        if run is None or not run.frames():
            raise gr.Error(tr(lang_of(request), "no_frames"))
        last = run.frames()[-1]
        path = app.session_dir(request) / "downloads" / f"latent-map-step{last.step}.gif"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(run.gif())
        return str(path)  # shown by the next event: an update here would reach API clients as a dict

    def train_frames(request: gr.Request) -> str:
        """This session's latest run as JSON: classes, probe labels, and every kept frame (step, epoch,
        loss, elapsed seconds, epoch_end, xy: 2-D positions of the probe images)."""
        run = watches.get(app.session_id(request))
        empty = {"classes": [], "labels": [], "running": False, "paused": False, "frames": []}
        return json.dumps(run.payload() if run is not None else empty, allow_nan=False)

    quick = {"queue": False, "show_progress": "hidden"}
    ui.timer.tick(
        tick, [ui.slider], [ui.map, ui.slider, ui.info, ui.timer], api_visibility="undocumented", **quick
    )
    shown = [ui.map, grid, ui.info, curve]
    ui.slider.input(scrub, [ui.slider], shown, api_name="train_replay", trigger_mode="always_last", **quick)
    ui.pause.click(pause, None, status, api_name="train_pause", **quick)
    ui.step.click(step, [ui.step_size], status, api_name="train_step", **quick)
    ui.resume.click(resume, None, status, api_name="train_resume", **quick)
    made = ui.gif.click(make_gif, None, ui.gif_file, api_name="train_gif", concurrency_limit=2)
    made.success(lambda: gr.update(visible=True), None, ui.gif_file, api_visibility="private", **quick)
    gr.api(train_frames, api_name="train_frames", queue=False)
