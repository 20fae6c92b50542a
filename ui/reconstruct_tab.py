"""Reconstruct tab: draw or upload an image and see what the model makes of it; optionally add
noise to the input (what a denoising autoencoder is for) and compare with a second model.

The work is in ``fmae.images`` (input -> 28x28, numpy figures), ``fmae.models.analyze`` (forward
pass, errors, percentile, PCA) and ``fmae.training.corrupt`` (the noise), put together for one
input by ``ui.reconstruct_compare``; handlers here only wire them.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import gradio as gr
import numpy as np
from gradio.utils import get_upload_folder

from fmae.errors import FmaeError
from fmae.images import preprocess
from fmae.session import ModelEntry, Session
from fmae.training import Noise
from ui.files import png_file
from ui.i18n import lang_of, t, tr
from ui.reconstruct_compare import NOISE_KINDS, explain, figure, noise_of, numbers, summary
from ui.state import AppState, user_error

EXAMPLES_DIR = Path(__file__).resolve().parent / "examples"
PROMPT = tr("en", "prompt")  # what an empty canvas gives (ui/text_*.py hold the tab's text)
NONE = ""  # the second-model picker's value for "no second model"


def example_paths() -> list[Path]:
    """The example images shipped with the app (28x28 test images, PNG)."""
    return sorted(EXAMPLES_DIR.glob("*.png"))


def render(
    x: np.ndarray | None, entry: ModelEntry, lang: str = "en", noise: Noise | None = None,
    second: ModelEntry | None = None,
) -> tuple[Any, ...]:  # fmt: skip
    """One clean 28x28 input (or None: nothing drawn) -> (figure, summary, numbers, last input).

    ``noise`` corrupts the input both models see (errors stay against the clean input); ``second``
    is the model to compare with. The last input is the clean one."""
    if x is None:
        return None, tr(lang, "prompt"), None, None
    r = explain(x, entry, second, noise)
    return figure(r), summary(r, lang), numbers(r), r.clean


def second_choices(app: AppState, session: Session | None = None, lang: str = "en") -> list[tuple[str, str]]:
    """The second-model picker's choices: "none", then the models of the main picker."""
    return [(tr(lang, "second_none"), NONE), *app.choices(session, lang)]


def build(app: AppState) -> gr.Dropdown:
    """Lay out the tab inside the current ``gr.Tab`` and wire its events; returns the second-model
    picker (``wire_load`` fills its choices when a page loads)."""
    gr.Markdown(t("rec_help"))
    # above the canvas, one line on a wide screen: easy to find, and on a phone (where the columns
    # stack) the result still comes right under the canvas
    with gr.Row(elem_id="reconstruct-options", equal_height=True):
        with gr.Column(scale=3, min_width=240):
            level = gr.Slider(
                0, 1, value=0, step=0.05, label=t("noise_level"), info=t("noise_level_info"),
                elem_id="noise-level",
            )  # fmt: skip
        with gr.Column(scale=2, min_width=200):
            kind = gr.Radio(
                [(t(f"noise_{k}"), k) for k in NOISE_KINDS], value=NOISE_KINDS[0], label=t("noise_kind"),
                elem_id="noise-kind",
            )  # fmt: skip
        with gr.Column(scale=3, min_width=240):
            second = gr.Dropdown(
                choices=second_choices(app), value=NONE, label=t("second_model"), info=t("second_model_info"),
                allow_custom_value=True, elem_id="second-model",
            )  # fmt: skip
    # on a phone the columns stack: canvas, then the result at once, then the upload box
    with gr.Row():
        with gr.Column(scale=1, min_width=300):
            sketch = gr.Sketchpad(
                type="numpy", image_mode="RGBA", canvas_size=(280, 280), fixed_canvas=True, layers=False,
                format="png", brush=gr.Brush(default_size=18, colors=["#000000"], color_mode="fixed"),
                label=t("draw_here"), elem_id="sketchpad",
            )  # fmt: skip
        with gr.Column(scale=2, min_width=300):
            figure_box = gr.Image(
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
    last = gr.State(None)  # the clean 28x28 input: noise and models change without redrawing
    options = [kind, level, second]
    # up to 4 at once across visitors: inference is read-only, and a queue of sketches would lag
    common = {
        "outputs": [figure_box, info, data, last],
        "concurrency_limit": 4,
        "concurrency_id": "reconstruct",
        "show_progress": "hidden",
    }

    def show(x: Any, model: str | None, options: tuple, request: gr.Request, keep: bool = True) -> tuple:
        """Render an input (``keep``: a new one, prepared here and kept in the session for the
        Embeddings tab's maps; else the last clean 28x28 input again)."""
        noise_kind, noise_level, second_model = options
        lang = lang_of(request)
        try:
            entry = app.resolve(request, model)
            other = app.resolve(request, second_model) if (second_model or "").strip() else None
            noise = noise_of(noise_kind, noise_level)
            x = preprocess(x, entry.checkpoint.dataset) if keep and x is not None else x
            out = render(None if x is None else np.asarray(x, np.float32), entry, lang, noise, other)
        except (FmaeError, ValueError) as exc:
            raise user_error(exc, lang) from None
        if keep:
            app.session(request).last_input = out[3]
        if out[0] is not None:  # a file written once: an array would be rewritten in place (ui/files.py)
            out = (png_file(out[0], get_upload_folder(), "reconstruction"), *out[1:])
        return out

    def reconstruct_sketch(
        value: dict | None, model: str | None, noise_kind: str | None, noise_level: float | None,
        second_model: str | None, request: gr.Request,
    ) -> tuple[Any, ...]:  # fmt: skip
        """Sketchpad value -> outputs. An empty pad gives the prompt, not an error."""
        return show(value, model, (noise_kind, noise_level, second_model), request)

    def reconstruct_upload(
        path: str | None, model: str | None, noise_kind: str | None, noise_level: float | None,
        second_model: str | None, request: gr.Request,
    ) -> tuple[Any, ...]:  # fmt: skip
        """Uploaded image file -> outputs; a bad file gets a clear message."""
        return show(path or None, model, (noise_kind, noise_level, second_model), request)

    def reconstruct_example(
        model: str | None, noise_kind: str | None, noise_level: float | None, second_model: str | None,
        evt: gr.SelectData, request: gr.Request,
    ) -> tuple[Any, ...]:  # fmt: skip
        paths = example_paths()
        if not 0 <= evt.index < len(paths):
            raise gr.Error(tr(lang_of(request), "no_example"))
        return show(str(paths[evt.index]), model, (noise_kind, noise_level, second_model), request)

    def reanalyze(
        x: Any, model: str | None, noise_kind: str | None, noise_level: float | None,
        second_model: str | None, request: gr.Request,
    ) -> tuple[Any, ...]:  # fmt: skip
        """Another model, noise setting or second model: explain the last (clean) input again."""
        return show(x, model, (noise_kind, noise_level, second_model), request, keep=False)

    sketch.change(
        reconstruct_sketch,
        [sketch, app.picker, *options],
        api_name="reconstruct_sketch",
        trigger_mode="always_last",
        **common,
    )
    upload.upload(reconstruct_upload, [upload, app.picker, *options], api_name="reconstruct_upload", **common)
    hidden = {"api_visibility": "undocumented"}  # UI plumbing: callable, but not in the API docs
    gallery.select(
        reconstruct_example, [app.picker, *options], api_name="reconstruct_example", **hidden, **common
    )
    gr.on(
        [app.picker.change, kind.change, level.change, second.change],
        reanalyze,
        [last, app.picker, *options],
        api_name="reconstruct_again",
        trigger_mode="always_last",
        **hidden,
        **common,
    )
    # a model trained or pulled becomes the picked one: the second picker lists it from then on
    app.picker.change(second_update(app), None, [second], api_name="second_choices", queue=False, **hidden)
    return second


def second_update(app: AppState) -> Any:
    """The handler that gives the second-model picker the visitor's models, in their language."""

    def refresh(request: gr.Request) -> dict:
        return gr.update(choices=second_choices(app, app.session(request), lang_of(request)))

    return refresh


def wire_load(app: AppState, demo: gr.Blocks, second: gr.Dropdown) -> None:
    """On page load, the second-model picker (``build``'s result) gets the visitor's language."""
    demo.load(
        second_update(app), None, [second], api_name="second_choices_load", queue=False,
        api_visibility="undocumented",
    )  # fmt: skip
