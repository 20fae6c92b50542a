"""Train tab, the run's own pieces (no Gradio in here): ``RunView`` turns training events into the
tab's log and curves, ``finish`` measures and wraps the kept model, ``outcome`` says how the run ended.
``ui/train_tab.py`` streams the run; ``ui/train_watch.py`` shows its latent map.
"""

from __future__ import annotations

from collections import deque

import numpy as np
import pandas as pd
import torch

from fmae.data import Dataset
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
    measure_result,
    result_info,
    result_notes,
)
from ui.i18n import tr

MAX_LOG_LINES = 300


class RunView:
    """Turns training events into what the tab shows (no Gradio in here)."""

    def __init__(self, grid_images: np.ndarray) -> None:
        self.lines: deque[str] = deque(maxlen=MAX_LOG_LINES)
        self.step_losses: list[float] = []
        self.test_losses: list[float] = []
        self.initial_test: float | None = None  # the untrained model's test BCE, drawn at step 0
        self.steps_per_epoch = 1
        self.grid_images = torch.as_tensor(grid_images, dtype=torch.float32)  # (k, 28, 28) in [0, 1]

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

    def curve(self, marker: int | None = None) -> pd.DataFrame:
        """The loss curve's rows; ``marker``: a step to mark with a vertical line (the map's frame)."""
        rows = loss_curve_rows(
            self.step_losses, self.test_losses, self.steps_per_epoch, initial_test=self.initial_test
        )
        if marker is not None and rows:
            losses = [loss for _, loss, _ in rows]
            rows += [(marker, min(losses), "frame shown"), (marker, max(losses), "frame shown")]
        return pd.DataFrame(rows, columns=["step", "loss", "series"])

    @torch.inference_mode()
    def grid(self, model: torch.nn.Module) -> np.ndarray:
        """Probe test images (top) and the model's reconstructions (bottom), as the map's frames show them."""
        was_training = model.training
        model.eval()
        x = self.grid_images.unsqueeze(1)  # (k, 1, 28, 28)
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


def outcome(why: str, done: DoneEvent, entry: ModelEntry, name: str, lang: str = "en") -> str:
    """The final status: what happened (done, stopped, diverged, collapsed) and the model kept
    (the notes on divergence and collapse are fmae.training's, in English)."""
    notes = result_notes(done, entry.checkpoint.info["code_spread"])
    mse = entry.checkpoint.metrics["test_mse"]
    kept = tr(lang, "kept", name=name, mse=mse)
    why = tr(lang, {"done": "why_done", "stopped": "why_stopped", "idle": "why_idle"}.get(why, "why_time"))
    if not notes:
        return tr(lang, "trained", why=why, kept=kept)
    if not done.diverged:  # collapsed only
        notes[0] = (tr(lang, "collapsed_head", why=why), notes[0][1])
    return " ".join([*(f"**{head}.** {text}" for head, text in notes), kept])
