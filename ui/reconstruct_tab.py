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
from ui.state import AppState, user_error

SCALE = 8  # 28 px -> 224 px, nearest neighbour: every model pixel stays visible
EXAMPLES_DIR = Path(__file__).resolve().parent / "examples"
PRETTY = {"fashion": "Fashion-MNIST", "mnist": "MNIST"}
PROMPT = (
    "**Draw something** on the canvas — first click the **brush** button in its toolbar — "
    "or upload an image, or click an example below."
)
HELP = (
    "Pick the **brush** in the canvas toolbar first, then draw with the mouse (or a finger). "
    "Draw like the model's dataset: a piece of clothing for the Fashion-MNIST models, a digit for MNIST. "
    "The reconstruction updates as you draw."
)


def example_paths() -> list[Path]:
    """The example images shipped with the app (28x28 test images, PNG)."""
    return sorted(EXAMPLES_DIR.glob("*.png"))


def summary(a: Analysis, entry: ModelEntry) -> str:
    """The numbers under the pictures, as markdown."""
    dataset = PRETTY.get(entry.checkpoint.dataset, entry.checkpoint.dataset)
    lines = [f"**Reconstruction MSE {a.mse:.4f}** (mean over the 784 pixels; model `{entry.name}`)."]
    if a.percentile is not None:
        lines.append(f"That is a larger error than {a.percentile:.1f}% of the {dataset} test images get.")
    if a.pca_mse is not None:
        better = "better" if a.mse < a.pca_mse else "worse"
        k = a.latent.shape[0]
        lines.append(
            f"PCA with the same {k} components: MSE {a.pca_mse:.4f} (the autoencoder does {better})."
        )
    code = ", ".join(f"{v:+.2f}" for v in a.latent[:32])
    lines.append(
        f"Latent code ({a.latent.shape[0]} numbers): [{code}{', …' if a.latent.shape[0] > 32 else ''}]"
    )
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


def render(x: np.ndarray | None, entry: ModelEntry) -> tuple[Any, ...]:
    """One 28x28 input (or None: nothing drawn) -> (figure, summary, numbers, last input)."""
    if x is None:
        return None, PROMPT, None, None
    a = analyze(entry.checkpoint.model, x, entry.assets)
    figure = explain_figure(a.input, a.recon, a.pca_recon, a.latent, scale=SCALE)
    return figure, summary(a, entry), numbers(a, entry), a.input


def build(app: AppState) -> None:
    """Lay out the tab inside the current ``gr.Tab`` and wire its events."""
    gr.Markdown(HELP)
    with gr.Row():
        with gr.Column(scale=1, min_width=300):
            sketch = gr.Sketchpad(
                type="numpy", image_mode="RGBA", canvas_size=(280, 280), fixed_canvas=True, layers=False,
                format="png", brush=gr.Brush(default_size=18, colors=["#000000"], color_mode="fixed"),
                label="Draw here (pick the brush first)", elem_id="sketchpad",
            )  # fmt: skip
            upload = gr.File(
                label="…or upload an image", file_types=["image"], type="filepath", elem_id="upload"
            )
        with gr.Column(scale=2):
            figure = gr.Image(
                label="Model input, reconstruction, error, PCA and latent code", show_label=False,
                format="png", interactive=False, buttons=["download"], elem_id="reconstruct-figure",
            )  # fmt: skip
            info = gr.Markdown(PROMPT, label="Summary", elem_id="reconstruct-summary")
            with gr.Accordion("Numbers (JSON)", open=False):
                data = gr.JSON(label="Numbers", elem_id="reconstruct-json")
    gallery = gr.Gallery(
        value=[(str(p), p.stem.split("-", 2)[-1]) for p in example_paths()],  # caption: the class
        label="Examples (test images): click one", columns=12, rows=1, height=120, allow_preview=False,
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
        out = render(x, entry)
        app.session(request).last_input = out[3]
        return out

    def reconstruct_sketch(value: dict | None, model: str | None, request: gr.Request) -> tuple[Any, ...]:
        """Sketchpad value -> outputs. An empty pad gives the prompt, not an error."""
        try:
            entry = app.resolve(request, model)
            return show(preprocess(value, entry.checkpoint.dataset), entry, request)
        except FmaeError as exc:
            raise user_error(exc) from None

    def reconstruct_upload(path: str | None, model: str | None, request: gr.Request) -> tuple[Any, ...]:
        """Uploaded image file -> outputs; a bad file gets a clear message."""
        try:
            entry = app.resolve(request, model)
            return show(preprocess(path, entry.checkpoint.dataset) if path else None, entry, request)
        except FmaeError as exc:
            raise user_error(exc) from None

    def reconstruct_example(model: str | None, evt: gr.SelectData, request: gr.Request) -> tuple[Any, ...]:
        paths = example_paths()
        if not 0 <= evt.index < len(paths):
            raise gr.Error("No such example.")
        return reconstruct_upload(str(paths[evt.index]), model, request)

    def reanalyze(x: np.ndarray | None, model: str | None, request: gr.Request) -> tuple[Any, ...]:
        """Another model was picked: explain the last input again."""
        try:
            return render(None if x is None else np.asarray(x, dtype=np.float32), app.resolve(request, model))
        except FmaeError as exc:
            raise user_error(exc) from None

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
