"""Train tab: train an autoencoder here, watching log lines, a loss curve and reconstructions.

One run at a time across the server (Gradio's queue shows the others their place); a run is
bounded in epochs, data, model size and wall time, and stops within one step when Stop is
pressed, when its session is dropped (tab closed, idle) or when its time is up. Gradio only
advances the run while it consumes its updates, so a run whose client vanished stops too.
"""

from __future__ import annotations

import os
import shutil
import time
from collections import deque
from collections.abc import Iterator
from typing import Any

import gradio as gr
import numpy as np
import pandas as pd
import torch

from fmae.data import Dataset, load_dataset
from fmae.errors import FmaeError, NonFiniteError
from fmae.images import loss_curve_rows, reconstruction_grid
from fmae.models import Checkpoint, model_config
from fmae.session import ModelEntry
from fmae.training import (
    DoneEvent,
    EpochEvent,
    StepEvent,
    TrainConfig,
    compute_assets,
    dataset_pca,
    image_losses,
    initial_model,
    measure_result,
    on_zero_gpu,
    result_info,
    result_notes,
    train,
)
from ui.i18n import lang_of, t, tr
from ui.state import AppState, user_error

LIMITS = {"epochs": 20, "train_size": 60_000, "batch_size": 1024, "hidden_dim": 1024, "latent_dim": 64}
MAX_SECONDS = float(os.environ.get("FMAE_TRAIN_MAX_SECONDS", 15 * 60))
UI_EVERY_S = 0.3  # at most this often a new frame goes to the browser
CURVE_EVERY_S = 1.5
MAX_LOG_LINES = 300
N_GRID = 10
SKIP = gr.skip  # leave an output as it is
#: the settings a visitor starts with (a link's settings replace them: ui/links.py)
DEFAULTS = {
    "dataset": "fashion", "model_type": "mlp", "epochs": 2, "batch_size": 64, "lr": 1e-3, "latent_dim": 10,
    "hidden_dim": 128, "seed": 0, "train_size": 20_000,
}  # fmt: skip
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


class RunView:
    """Turns training events into what the tab shows (no Gradio in here)."""

    def __init__(self, test: Dataset) -> None:
        self.lines: deque[str] = deque(maxlen=MAX_LOG_LINES)
        self.step_losses: list[float] = []
        self.test_losses: list[float] = []
        self.initial_test: float | None = None  # the untrained model's test BCE, drawn at step 0
        self.steps_per_epoch = 1
        first = [int(np.flatnonzero(test.labels.numpy() == c)[0]) for c in range(N_GRID)]  # one per class
        self.grid_images = test.images[first]  # (10, 28, 28) uint8

    def on_start(self, test_bce: float) -> None:
        self.initial_test = test_bce
        self.lines.append(f"Before training: test BCE {test_bce:.4f} (the untrained model)")

    def on_step(self, ev: StepEvent) -> None:
        self.step_losses.append(ev.loss)
        self.steps_per_epoch = ev.steps
        every = 100 if ev.steps >= 500 else max(1, ev.steps // 5)
        if ev.step % every == 0 or ev.step == ev.steps:
            self.lines.append(ev.log_line())

    def on_epoch(self, ev: EpochEvent) -> None:
        self.test_losses.append(ev.test_bce)
        self.lines.append(ev.log_line())

    def log(self) -> str:
        return "\n".join(self.lines)

    def curve(self) -> pd.DataFrame:
        rows = loss_curve_rows(
            self.step_losses, self.test_losses, self.steps_per_epoch, initial_test=self.initial_test
        )
        return pd.DataFrame(rows, columns=["step", "loss", "series"])

    @torch.inference_mode()
    def grid(self, model: torch.nn.Module) -> np.ndarray:
        """Test images (top) and the model's reconstructions (bottom)."""
        was_training = model.training
        model.eval()
        x = self.grid_images.unsqueeze(1).float().div(255.0)  # (10, 1, 28, 28)
        recon = model(x.to(next(model.parameters()).device)).cpu().reshape(-1, 28, 28).numpy()
        model.train(was_training)
        return reconstruction_grid(x.reshape(-1, 28, 28).numpy(), recon)


def finish(cfg: TrainConfig, done: DoneEvent, train_size: int, test: Dataset) -> ModelEntry:
    """The kept model with its info (outcome: diverged, collapsed) and assets (test errors for
    percentiles, PCA basis), all measured on that model. NonFiniteError if its numbers are not finite."""
    model = done.model.eval()
    result = measure_result(model, test.images)
    assets = compute_assets(model, test.images, dataset_pca(cfg.dataset), cfg.dataset)
    metrics = {"test_mse": float(assets.test_errors.mean()), "test_bce": result["test_bce"]}
    info = {
        "dataset": cfg.dataset,
        "train_size": train_size,
        "test_size": len(test),
        "seed": cfg.seed,
        "train_config": cfg.to_dict(),
        "metrics": metrics,
        "train_seconds": round(done.elapsed, 2),
        "stopped_early": done.stopped,
        "history": {k: [round(v, 5) for v in vals] for k, vals in done.history.items()},
        **result_info(done, result["code_spread"]),
    }
    ckpt = Checkpoint(model=model, path=None, config=model_config(model), info=info)
    return ModelEntry(f"{cfg.dataset}-{cfg.model}", ckpt, assets, "trained")


def stream_training(app: AppState, request: gr.Request, cfg: TrainConfig, train_size: int) -> Iterator[tuple]:
    """Train and yield (status, log, loss curve, reconstruction grid, picker) frames.

    Frames go out at most every UI_EVERY_S seconds (the loss curve every CURVE_EVERY_S), so the
    run advances only while Gradio consumes them: an abandoned run stops by itself.
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
    view = RunView(test_ds)
    deadline = time.monotonic() + MAX_SECONDS

    def should_stop() -> bool:  # polled between steps
        gone = app.store.peek(sid) is not session  # tab closed, or dropped as idle
        return session.stop_requested.is_set() or time.monotonic() > deadline or gone

    model = initial_model(cfg)  # the weights train() would start from itself
    yield tr(lang, "measuring_untrained"), SKIP(), SKIP(), SKIP(), SKIP()
    view.on_start(image_losses(model, test_ds.images)[0])
    last_ui = last_curve = 0.0
    done, grid = None, SKIP()
    for ev in train(cfg, train_ds, test_ds, should_stop=should_stop, model=model):
        now = time.monotonic()
        if isinstance(ev, DoneEvent):
            done = ev
            break
        if isinstance(ev, StepEvent):
            view.on_step(ev)
            if now - last_ui < UI_EVERY_S:
                continue
            at = {"epoch": ev.epoch, "epochs": ev.epochs, "step": ev.step, "steps": ev.steps}
            status = tr(lang, "training_step", rate=ev.samples_per_s, **at)
        else:
            view.on_epoch(ev)
            grid, last_curve = view.grid(ev.model), 0.0
            at = {"epoch": ev.epoch, "epochs": ev.epochs, "bce": ev.test_bce, "mse": ev.test_mse}
            status = tr(lang, "epoch_done", **at)
        app.store.get(sid)  # a session that is training is not idle
        curve = SKIP()
        if now - last_curve >= CURVE_EVERY_S:
            curve, last_curve = view.curve(), now
        yield status, view.log(), curve, grid, SKIP()
        last_ui, grid = now, SKIP()
    if done is None or not done.history["step_loss"]:
        yield tr(lang, "no_first_step"), view.log(), SKIP(), SKIP(), SKIP()
        return
    why = "time limit reached" if time.monotonic() > deadline else "stopped" if done.stopped else "done"
    kept = f"; kept the weights after step {done.kept_step}" if done.kept_step else ""
    ended = f"stopped after {done.elapsed:.1f} secs: {done.diverged}{kept}" if done.diverged else ""
    view.lines.append(f"Training {ended or f'{why} after {done.elapsed:.1f} secs'}.")
    if done.diverged and done.kept_step == 0:  # nothing learnt: an untrained model is no result
        (head, text), *_ = result_notes(done, None)
        yield f"**{head}.** {text}", view.log(), view.curve(), SKIP(), SKIP()
        return
    yield tr(lang, "measuring_test"), view.log(), view.curve(), SKIP(), SKIP()
    try:
        entry = finish(cfg, done, min(train_size, len(train_ds)), test_ds)
    except NonFiniteError as exc:
        yield tr(lang, "no_model_kept", why=exc), view.log(), SKIP(), SKIP(), SKIP()
        return
    name, picker = app.add_model(request, entry.name, entry)
    final = outcome(why, done, entry, name, lang)
    yield final, view.log(), view.curve(), view.grid(entry.checkpoint.model), picker


def outcome(why: str, done: DoneEvent, entry: ModelEntry, name: str, lang: str = "en") -> str:
    """The final status: what happened (done, stopped, diverged, collapsed) and the model kept
    (the notes on divergence and collapse are fmae.training's, in English)."""
    notes = result_notes(done, entry.checkpoint.info["code_spread"])
    mse = entry.checkpoint.metrics["test_mse"]
    kept = tr(lang, "kept", name=name, mse=mse)
    why = tr(lang, {"done": "why_done", "stopped": "why_stopped"}.get(why, "why_time"))
    if not notes:
        return tr(lang, "trained", why=why, kept=kept)
    if not done.diverged:  # collapsed only
        notes[0] = (tr(lang, "collapsed_head", why=why), notes[0][1])
    return " ".join([*(f"**{head}.** {text}" for head, text in notes), kept])


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
            arch = [(t(v), v) for v in ("mlp", "conv")]
            model_type = gr.Radio(arch, **labelled("model_type", "architecture"))
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
            log = gr.Textbox(label=t("log"), lines=10, max_lines=10, autoscroll=True, elem_id="train-log")
            curve = gr.LinePlot(  # a shown label pushes the legend out of the box: title instead
                x="step", y="loss", color="series", y_title=t("loss_axis"), title=t("loss"), label=t("loss"),
                show_label=False, height=280, elem_id="train-curve",
            )  # fmt: skip
            grid = gr.Image(label=t("train_grid"), format="png", interactive=False, elem_id="train-grid")
            with gr.Row():
                save = gr.Button(t("save"), elem_id="train-save")
                download = gr.DownloadButton(t("download"), value=None, elem_id="train-download")

    def train_model(
        dataset: str, model_type: str, epochs: float, batch_size: float, lr: float, latent_dim: float,
        hidden_dim: float, seed: float, train_size: float, request: gr.Request,
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
            train_limit=int(train_size), log_every=1,
        )  # fmt: skip
        try:
            yield from stream_training(app, request, cfg, int(train_size))
        except (FmaeError, ValueError) as exc:
            raise user_error(exc, lang_of(request)) from None
        finally:
            with session.lock:
                session.running = False
                session.stop_requested.clear()

    def mark_queued(request: gr.Request) -> None:
        """Count a run as queued for this session, so Stop can cancel it before it starts."""
        session = app.session(request)
        with session.lock:
            session.pending_runs += 1

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

    inputs = [dataset, model_type, epochs, batch, lr, latent, hidden, seed, size]
    outputs = [status, log, curve, grid, app.picker]
    queued = start.click(
        mark_queued,
        None,
        None,
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
    save.click(save_model, [app.picker], [status, download], api_name="save_checkpoint", concurrency_limit=2)
    return dict(zip(DEFAULTS, inputs, strict=True))
