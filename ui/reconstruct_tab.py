"""Reconstruct tab: draw or upload an image and see what the model makes of it.

The work is in ``fmae.images`` (input -> 28x28, numpy figures) and ``fmae.models.analyze``
(forward pass, errors, percentile, PCA); handlers here only wire them.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import gradio as gr
import numpy as np

from fmae.errors import FmaeError
from fmae.images import explain_figure, preprocess
from fmae.models import Analysis, analyze
from fmae.session import ModelEntry
from ui.i18n import lang_of, t, tr
from ui.state import AppState, user_error

SCALE = 8  # 28 px -> 224 px, nearest neighbour: every model pixel stays visible
EXAMPLES_DIR = Path(__file__).resolve().parent / "examples"
PRETTY = {"fashion": "Fashion-MNIST", "mnist": "MNIST"}
PROMPT = tr("en", "prompt")  # what an empty canvas gives (ui/text_*.py hold the tab's text)


def example_paths() -> list[Path]:
    """The example images shipped with the app (28x28 test images, PNG)."""
    return sorted(EXAMPLES_DIR.glob("*.png"))


def summary(a: Analysis, entry: ModelEntry, lang: str = "en") -> str:
    """The numbers under the pictures, as markdown (in ``lang``)."""
    dataset = PRETTY.get(entry.checkpoint.dataset, entry.checkpoint.dataset)
    lines = [tr(lang, "rec_mse", mse=a.mse, name=entry.name)]
    if a.percentile is not None:
        lines.append(tr(lang, "rec_percentile", p=a.percentile, dataset=dataset))
    if a.pca_mse is not None:
        better = "rec_pca_better" if a.mse < a.pca_mse else "rec_pca_worse"
        lines.append(tr(lang, better, k=a.latent.shape[0], mse=a.pca_mse))
    code = ", ".join(f"{v:+.2f}" for v in a.latent[:32]) + (", …" if a.latent.shape[0] > 32 else "")
    lines.append(tr(lang, "rec_latent", n=a.latent.shape[0], code=code))
    return "\n\n".join(lines)


def numbers(a: Analysis, entry: ModelEntry) -> dict[str, Any]:
    """The analysis as JSON for API users: errors, latent code and the 28x28 images (3 decimals)."""

    def grid(x: np.ndarray | None) -> list[list[float]] | None:
        return None if x is None else np.round(x, 3).tolist()

    return {
        "model": entry.name, "dataset": entry.checkpoint.dataset, "mse": a.mse, "percentile": a.percentile,
        "pca_mse": a.pca_mse, "latent": [round(float(v), 4) for v in a.latent], "input": grid(a.input),
        "reconstruction": grid(a.recon), "pca_reconstruction": grid(a.pca_recon),
    }  # fmt: skip


def render(x: np.ndarray | None, entry: ModelEntry, lang: str = "en") -> tuple[Any, ...]:
    """One 28x28 input (or None: nothing drawn) -> (figure, summary, numbers, last input)."""
    if x is None:
        return None, tr(lang, "prompt"), None, None
    a = analyze(entry.checkpoint.model, x, entry.assets)
    figure = explain_figure(a.input, a.recon, a.pca_recon, a.latent, scale=SCALE)
    return figure, summary(a, entry, lang), numbers(a, entry), a.input


def build(app: AppState) -> None:
    """Lay out the tab inside the current ``gr.Tab`` and wire its events."""
    gr.Markdown(t("rec_help"))
    # on a phone the columns stack: canvas, then the result at once, then the upload box
    with gr.Row():
        with gr.Column(scale=1, min_width=300):
            sketch = gr.Sketchpad(
                type="numpy", image_mode="RGBA", canvas_size=(280, 280), fixed_canvas=True, layers=False,
                format="png", brush=gr.Brush(default_size=18, colors=["#000000"], color_mode="fixed"),
                label=t("draw_here"), elem_id="sketchpad",
            )  # fmt: skip
        with gr.Column(scale=2, min_width=300):
            figure = gr.Image(
                label=t("rec_figure"), show_label=False,
                format="png", interactive=False, buttons=["download"], elem_id="reconstruct-figure",
            )  # fmt: skip
            info = gr.Markdown(t("rec_prompt"), label=t("summary"), elem_id="reconstruct-summary")
            upload = gr.File(
                label=t("upload"), file_types=["image"], type="filepath", height=140,
                elem_id="upload",
            )  # fmt: skip
            with gr.Accordion(t("numbers_json"), open=False):
                data = gr.JSON(label=t("numbers"), elem_id="reconstruct-json")
    gallery = gr.Gallery(
        value=[(str(p), p.stem.split("-", 2)[-1]) for p in example_paths()],  # caption: the class
        label=t("examples"), columns=12, rows=1, height=120, allow_preview=False,
        object_fit="contain", elem_id="examples",
    )  # fmt: skip
    last = gr.State(None)
    outputs = [figure, info, data, last]
    # up to 4 at once across visitors: inference is read-only, and a queue of sketches would lag
    common = {
        "outputs": outputs,
        "concurrency_limit": 4,
        "concurrency_id": "reconstruct",
        "show_progress": "hidden",
    }

    def show(x: np.ndarray | None, entry: ModelEntry, request: gr.Request) -> tuple[Any, ...]:
        """Render a new input and keep it in the session: the Embeddings tab puts it on its maps."""
        out = render(x, entry, lang_of(request))
        app.session(request).last_input = out[3]
        return out

    def reconstruct_sketch(value: dict | None, model: str | None, request: gr.Request) -> tuple[Any, ...]:
        """Sketchpad value -> outputs. An empty pad gives the prompt, not an error."""
        try:
            entry = app.resolve(request, model)
            return show(preprocess(value, entry.checkpoint.dataset), entry, request)
        except FmaeError as exc:
            raise user_error(exc, lang_of(request)) from None

    def reconstruct_upload(path: str | None, model: str | None, request: gr.Request) -> tuple[Any, ...]:
        """Uploaded image file -> outputs; a bad file gets a clear message."""
        try:
            entry = app.resolve(request, model)
            return show(preprocess(path, entry.checkpoint.dataset) if path else None, entry, request)
        except FmaeError as exc:
            raise user_error(exc, lang_of(request)) from None

    def reconstruct_example(model: str | None, evt: gr.SelectData, request: gr.Request) -> tuple[Any, ...]:
        paths = example_paths()
        if not 0 <= evt.index < len(paths):
            raise gr.Error(tr(lang_of(request), "no_example"))
        return reconstruct_upload(str(paths[evt.index]), model, request)

    def reanalyze(x: np.ndarray | None, model: str | None, request: gr.Request) -> tuple[Any, ...]:
        """Another model was picked: explain the last input again."""
        try:
            x = None if x is None else np.asarray(x, dtype=np.float32)
            return render(x, app.resolve(request, model), lang_of(request))
        except FmaeError as exc:
            raise user_error(exc, lang_of(request)) from None

    sketch.change(
        reconstruct_sketch,
        [sketch, app.picker],
        api_name="reconstruct_sketch",
        trigger_mode="always_last",
        **common,
    )
    upload.upload(reconstruct_upload, [upload, app.picker], api_name="reconstruct_upload", **common)
    hidden = {"api_visibility": "undocumented"}  # UI plumbing: callable, but not in the API docs
    gallery.select(reconstruct_example, [app.picker], api_name="reconstruct_example", **hidden, **common)
    app.picker.change(reanalyze, [last, app.picker], api_name="reconstruct_again", **hidden, **common)
