"""Train tab: train an autoencoder here, watching log lines, a loss curve and reconstructions.

One run at a time across the server (Gradio's queue shows the others their place); a run is
bounded in epochs, data, model size and wall time, and stops within one step when Stop is
pressed, when its session is dropped (tab closed, idle) or when its time is up (time paused not
counted). Gradio only advances the run while it consumes its updates, so a run whose client vanished
stops too. Watching the run (live latent map, replay, GIF, pause/step/resume): ``ui/train_watch.py``.
"""

from __future__ import annotations

import os
import shutil
import time
from collections.abc import Callable, Iterator
from typing import Any

import gradio as gr

from fmae.data import Dataset, load_dataset
from fmae.errors import FmaeError, NonFiniteError
from fmae.training import (
    MAX_BETA,
    VAE_MODELS,
    DoneEvent,
    FrameEvent,
    StepEvent,
    TrainConfig,
    image_losses,
    initial_model,
    on_zero_gpu,
    result_notes,
    train,
)
from ui import train_watch
from ui.i18n import lang_of, t, tr
from ui.state import AppState, user_error
from ui.train_run import RunView, finish, outcome
from ui.train_watch import Watches, WatchRun

LIMITS = {"epochs": 20, "train_size": 60_000, "batch_size": 1024, "hidden_dim": 1024, "latent_dim": 64}
MAX_SECONDS = float(os.environ.get("FMAE_TRAIN_MAX_SECONDS", 15 * 60))
UI_EVERY_S = 0.3  # at most this often a new frame goes to the browser
CURVE_EVERY_S = 1.5
SKIP = gr.skip  # leave an output as it is
#: the settings a visitor starts with (a link's settings replace them: ui/links.py)
DEFAULTS = {
    "dataset": "fashion", "model_type": "mlp", "epochs": 2, "batch_size": 64, "lr": 1e-3, "latent_dim": 10,
    "hidden_dim": 128, "seed": 0, "train_size": 20_000, "beta": 1.0,
}  # fmt: skip
MIN_BETA = 1e-3  # the tab's smallest beta (the library takes any above 0)
MODEL_TYPES = ("mlp", "conv", "mlp-vae", "conv-vae")  # the Train tab's architectures (fmae.models.MODELS)
BATCH_SIZES = (16, 32, 64, 128, 256, 512, 1024)


def check_limits(cfg: TrainConfig, train_size: int, lang: str = "en") -> None:
    """Raise ValueError (its message in ``lang``) when a setting is beyond what this server allows per run."""
    checks = [
        ("epochs", cfg.epochs, 1, LIMITS["epochs"]),
        ("train_size", train_size, 64, LIMITS["train_size"]),
        ("batch_size", cfg.batch_size, 1, LIMITS["batch_size"]),
        ("hidden_size", cfg.hidden_dim, 1, LIMITS["hidden_dim"]),
        ("latent_size", cfg.latent_dim, 1, LIMITS["latent_dim"]),
    ]
    for name, value, low, high in checks:
        if not low <= value <= high:
            raise ValueError(tr(lang, "limit", name=tr(lang, name), low=low, high=high, value=value))
    if not 0 < cfg.lr <= 0.1:
        raise ValueError(tr(lang, "limit_lr", value=cfg.lr))


def stream_training(
    app: AppState, request: gr.Request, cfg: TrainConfig, train_size: int, watches: Watches | None = None
) -> Iterator[tuple]:
    """Train and yield (status, log, loss curve, reconstruction grid, picker) frames.

    Frames go out at most every UI_EVERY_S seconds (the loss curve every CURVE_EVERY_S), so the
    run advances only while Gradio consumes them: an abandoned run stops by itself. The run's latent
    map frames and its pause/step control live in a ``WatchRun``, kept in ``watches`` for the page.
    """
    lang = lang_of(request)
    check_limits(cfg, train_size, lang)
    cfg.validate()
    yield tr(lang, "loading"), "", SKIP(), SKIP(), SKIP()
    try:
        train_ds, test_ds = load_dataset(cfg.dataset, "train"), load_dataset(cfg.dataset, "test")
    except FmaeError as exc:
        yield tr(lang, "cannot_train", why=exc), SKIP(), SKIP(), SKIP(), SKIP()
        raise
    sid, session = app.session_id(request), app.session(request)
    idle_s = (
        app.store.ttl_s
    )  # a paused run nobody resumes for the session's idle time stops, keeping its model
    watch = WatchRun(test_ds, idle_s)
    view = RunView(watch.originals[: train_watch.N_GRID])
    # Gradio 6.31's LinePlot keeps the series of the first value it shows: always send the train series
    watch.curve = lambda step: view.curve(step) if view.step_losses else SKIP()
    if watches is not None:
        watches.start(sid, watch)

    def should_stop() -> bool:  # polled between steps, and every 0.2 s while paused
        gone = app.store.peek(sid) is not session  # tab closed, or dropped as idle
        if watch.control.paused and not gone:  # its RunControl's idle stop ends a forgotten pause, so
            app.store.get(sid)  # the session stays until then (and keeps the model the run ends with)
        return session.stop_requested.is_set() or watch.running_seconds() > MAX_SECONDS or gone

    try:
        yield from _run(app, request, cfg, train_size, (train_ds, test_ds), view, watch, should_stop)
    finally:
        watch.finish()


def _run(app: AppState, request: gr.Request, cfg: TrainConfig, train_size: int, data: tuple[Dataset, Dataset],
         view: RunView, watch: WatchRun, should_stop: Callable[[], bool]) -> Iterator[tuple]:  # fmt: skip
    lang, sid = lang_of(request), app.session_id(request)
    train_ds, test_ds = data
    model = initial_model(cfg)  # the weights train() would start from itself
    yield tr(lang, "measuring_untrained"), SKIP(), SKIP(), SKIP(), SKIP()
    view.on_start(image_losses(model, test_ds.images)[0])
    last_ui = last_curve = 0.0
    done = None
    run = train(cfg, train_ds, test_ds, should_stop, model, frames=watch.recorder, control=watch.control)
    for ev in run:
        now = time.monotonic()
        status, grid, curve = SKIP(), SKIP(), SKIP()
        if isinstance(ev, DoneEvent):
            done = ev
            break
        if isinstance(ev, StepEvent):
            view.on_step(ev)
            if now - last_ui < UI_EVERY_S:
                continue
            at = {"epoch": ev.epoch, "epochs": ev.epochs, "step": ev.step, "steps": ev.steps}
            status = tr(lang, "training_step", rate=ev.samples_per_s, **at)
        elif isinstance(ev, FrameEvent):  # the map is drawn by the page (ui/train_watch.py); the grid here
            watch.on_frame(ev)
            grid = watch.grid(ev.frame) if watch.follow else SKIP()
            if watch.held:  # the run holds now: show where
                minutes = watch.control.idle_s / 60
                status = tr(
                    lang, "paused_at", step=f"{ev.frame.step:,}", epoch=ev.frame.epoch, minutes=minutes
                )
                last_curve = 0.0
        else:
            view.on_epoch(ev)
            at = {"epoch": ev.epoch, "epochs": ev.epochs, "bce": ev.test_bce, "mse": ev.test_mse}
            status, last_curve = tr(lang, "epoch_done", **at), 0.0
        app.store.get(sid)  # a session that is training is not idle
        if now - last_curve >= CURVE_EVERY_S and view.step_losses:
            curve, last_curve = view.curve(watch.marker_step()), now
        yield status, view.log(), curve, grid, SKIP()
        last_ui = now
    if done is None or not done.history["step_loss"]:
        yield tr(lang, "no_first_step"), view.log(), SKIP(), SKIP(), SKIP()
        return
    timed_out = watch.running_seconds() > MAX_SECONDS
    why = (
        "idle"
        if done.timed_out
        else "time limit reached"
        if timed_out
        else "stopped"
        if done.stopped
        else "done"
    )
    kept = f"; kept the weights after step {done.kept_step}" if done.kept_step else ""
    ended = f"stopped after {done.elapsed:.1f} secs: {done.diverged}{kept}" if done.diverged else ""
    if why == "idle":
        idle = (
            f"paused for {watch.control.idle_s / 60:.0f} min with nobody resuming (the session's idle time)"
        )
        ended = f"stopped after {done.elapsed:.1f} secs: {idle}; the model is kept"
    view.lines.append(f"Training {ended or f'{why} after {done.elapsed:.1f} secs'}.")
    if done.diverged and done.kept_step == 0:  # nothing learnt: an untrained model is no result
        (head, text), *_ = result_notes(done, None)
        yield f"**{head}.** {text}", view.log(), view.curve(watch.marker_step()), SKIP(), SKIP()
        return
    yield tr(lang, "measuring_test"), view.log(), view.curve(watch.marker_step()), SKIP(), SKIP()
    try:
        entry = finish(cfg, done, min(train_size, len(train_ds)), test_ds)
    except NonFiniteError as exc:
        yield tr(lang, "no_model_kept", why=exc), view.log(), SKIP(), SKIP(), SKIP()
        return
    name, picker = app.add_model(request, entry.name, entry)
    final = outcome(why, done, entry, name, lang)
    yield final, view.log(), view.curve(watch.marker_step()), view.grid(entry.checkpoint.model), picker


def setting_kwargs(name: str, key: str) -> dict[str, Any]:
    """A setting's default value, translated label (text key ``key``) and elem_id (``train-<name>``)."""
    return {"value": DEFAULTS[name], "label": t(key), "elem_id": f"train-{name.replace('_', '-')}"}


def build(app: AppState) -> dict[str, gr.components.Component]:
    """Lay out the tab inside the current ``gr.Tab`` and wire its events; returns the settings'
    components by name (``DEFAULTS``' keys: a link sets them)."""
    gr.Markdown(t("train_help", epochs=LIMITS["epochs"], minutes=int(MAX_SECONDS // 60)))
    labelled = setting_kwargs
    with gr.Row():
        with gr.Column(scale=1, min_width=280):
            dataset = gr.Radio([(t(v), v) for v in ("fashion", "mnist")], **labelled("dataset", "dataset"))
            arch = [(t(v), v) for v in MODEL_TYPES]
            model_type = gr.Radio(arch, **labelled("model_type", "architecture"))
            beta = gr.Number(  # shown for the VAEs only (see below)
                minimum=MIN_BETA, maximum=MAX_BETA, visible=DEFAULTS["model_type"] in VAE_MODELS,
                **labelled("beta", "beta"),
            )  # fmt: skip
            epochs = gr.Slider(1, LIMITS["epochs"], step=1, **labelled("epochs", "epochs"))
            batch = gr.Dropdown(list(BATCH_SIZES), **labelled("batch_size", "batch_size"))
            lr = gr.Number(minimum=1e-6, maximum=0.1, **labelled("lr", "lr"))
            latent = gr.Slider(1, LIMITS["latent_dim"], step=1, **labelled("latent_dim", "latent_size"))
            hidden = gr.Slider(16, LIMITS["hidden_dim"], step=16, **labelled("hidden_dim", "hidden_size"))
            seed = gr.Number(precision=0, **labelled("seed", "seed"))
            size = gr.Slider(1000, LIMITS["train_size"], step=1000, **labelled("train_size", "train_size"))
            with gr.Row():
                start = gr.Button(t("start"), variant="primary", elem_id="train-start")
                stop = gr.Button(t("stop"), variant="stop", elem_id="train-stop")
        with gr.Column(scale=2, min_width=300):
            status = gr.Markdown(t("train_ready"), label=t("status"), elem_id="train-status")
            with gr.Row():
                with gr.Column(scale=3, min_width=300):
                    latent_map, frame, frame_info = train_watch.layout_map()
                with gr.Column(scale=2, min_width=300):
                    curve = gr.LinePlot(  # a shown label pushes the legend out of the box: title instead
                        x="step", y="loss", color="series", y_title=t("loss_axis"), title=t("loss"),
                        label=t("loss"), show_label=False, height=280, elem_id="train-curve",
                    )  # fmt: skip
                    controls = train_watch.layout_controls()
            # its label under it: Gradio draws a shown label over the image's top row
            grid = gr.Image(
                label=t("train_grid"), show_label=False, format="png", interactive=False, elem_id="train-grid"
            )
            gr.Markdown(t("train_grid"), elem_id="train-grid-caption")
            watch_ui = train_watch.WatchUI(latent_map, frame, frame_info, *controls)
            log = gr.Textbox(label=t("log"), lines=10, max_lines=10, autoscroll=True, elem_id="train-log")
            with gr.Row():
                save = gr.Button(t("save"), elem_id="train-save")
                download = gr.DownloadButton(t("download"), value=None, elem_id="train-download")

    watches = Watches(app)

    def train_model(
        dataset: str, model_type: str, epochs: float, batch_size: float, lr: float, latent_dim: float,
        hidden_dim: float, seed: float, train_size: float, beta: float | None, request: gr.Request,
    ) -> Iterator[tuple]:  # fmt: skip
        """Stream (status, log, loss curve, reconstruction grid, picker) while training."""
        session = app.session(request)
        with session.lock:
            session.pending_runs = max(0, session.pending_runs - 1)
            if session.stop_requested.is_set():  # Stop was pressed while this run waited in the queue
                session.stop_requested.clear()
                yield tr(lang_of(request), "not_started"), SKIP(), SKIP(), SKIP(), SKIP()
                return
            session.running = True
        cfg = TrainConfig(
            dataset=dataset, model=model_type, epochs=int(epochs), batch_size=int(batch_size), lr=float(lr),
            latent_dim=int(latent_dim), hidden_dim=int(hidden_dim), seed=int(seed or 0),
            train_limit=int(train_size), log_every=1, beta=float(1.0 if beta is None else beta),
        )  # fmt: skip
        try:
            yield from stream_training(app, request, cfg, int(train_size), watches)
        except (FmaeError, ValueError) as exc:
            raise user_error(exc, lang_of(request)) from None
        finally:
            with session.lock:
                session.running = False
                session.stop_requested.clear()

    def mark_queued(request: gr.Request) -> gr.Timer:
        """Count a run as queued for this session, so Stop can cancel it before it starts; start the
        page's timer that draws the run's latent map."""
        session = app.session(request)
        with session.lock:
            session.pending_runs += 1
        return gr.Timer(active=True)

    def stop_training(request: gr.Request) -> str:
        """Ask this session's training to stop; it ends within one step."""
        return tr(lang_of(request), "stopping" if app.session(request).request_stop() else "nothing_training")

    def save_model(model: str | None, request: gr.Request) -> tuple[str, str]:
        """Save the picked model as a checkpoint folder and offer it as a zip."""
        try:
            folder = app.save(request, model)
            zip_base = app.session_dir(request) / "downloads" / folder.name
            zip_path = shutil.make_archive(str(zip_base), "zip", root_dir=folder.parent, base_dir=folder.name)
        except (FmaeError, ValueError, OSError) as exc:  # a full disk while zipping too
            raise user_error(exc, lang_of(request)) from None
        return tr(lang_of(request), "saved", name=folder.name), zip_path

    inputs = [dataset, model_type, epochs, batch, lr, latent, hidden, seed, size, beta]
    model_type.change(  # beta is a VAE's setting only
        lambda kind: gr.update(visible=kind in VAE_MODELS),
        model_type,
        beta,
        api_visibility="private",
        queue=False,
    )
    outputs = [status, log, curve, grid, app.picker]
    queued = start.click(
        mark_queued,
        None,
        watch_ui.timer,
        api_name="train_queued",
        api_visibility="undocumented",
        concurrency_limit=None,
        queue=False,
    )
    # on a ZeroGPU Space the run gets a GPU for its duration (spaces.GPU); elsewhere train_model itself
    queued.then(
        on_zero_gpu(train_model),
        inputs,
        outputs,
        api_name="train",
        concurrency_limit=1,
        concurrency_id="train",
    )
    stop.click(stop_training, None, status, api_name="stop_training", concurrency_limit=None, queue=False)
    train_watch.wire(app, watches, watch_ui, status, grid, curve)
    save.click(save_model, [app.picker], [status, download], api_name="save_checkpoint", concurrency_limit=2)
    return dict(zip(DEFAULTS, inputs, strict=True))
