"""Embeddings tab: the picked model's latent space in 2-D, your drawing on the maps, latent walks.

The work is in ``ui.embed_data`` (maps per model, neighbours, interpolation, walks, on top of
``fmae.latent``) and ``ui.embed_scatter`` (a canvas
scatter plot that paints 2,000 points in milliseconds). Handlers here only wire them.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import gradio as gr
import numpy as np
from gradio.context import get_render_context
from gradio.utils import get_upload_folder

from fmae.data import DATASETS
from fmae.errors import FmaeError
from fmae.latent import DEFAULT_METHODS, DEFAULT_N, LABELS, METHODS, encode, place
from fmae.session import ModelEntry, Session
from ui import latent_pad, sample_ui
from ui.embed_data import (
    DIRECTIONS,
    DRAWING,
    N_MAX,
    N_MIN,
    N_STEP,
    NEAREST,
    STEPS,
    EmbedData,
    check_settings,
    gather,
    interpolation_strip,
    neighbours,
    png_data_url,
    png_file,
    walk_image,
)
from ui.embed_scatter import scatter, scatter_value
from ui.i18n import lang_of, t, tr
from ui.state import AppState, user_error


def served(image: np.ndarray, name: str) -> str:
    """An image for an Image or Gallery output as a PNG in Gradio's cache that is never rewritten
    (``png_file``: an array would be written again in place at every paint, breaking its <img>)."""
    return png_file(image, get_upload_folder(), name)


def paint(
    data: EmbedData, entry: ModelEntry, session: Session, settings: tuple[list[str], int, int],
    walk_at: list[float], progress: gr.Progress | None = None, lang: str = "en",
) -> tuple[Any, ...]:  # fmt: skip
    """Everything the tab shows: one plot update per method, status (in ``lang``), numbers (JSON), the
    drawing's nearest test images and the latent-walk image. Computes maps only when ``progress`` is given."""
    start = time.perf_counter()
    found, failed = gather(data, entry, settings, progress)
    classes = DATASETS[entry.checkpoint.dataset][1]
    code = None if session.last_input is None else encode(entry.checkpoint.model, session.last_input)[0]
    if code is not None and not np.isfinite(code).all():
        code = None  # a diverged model: no star rather than a map squashed around a NaN
    maps: dict[str, Any] = {}
    outs = []
    for m in METHODS:
        p, source = found.get(m, (None, ""))
        xy = None if p is None or code is None else place(p, None, code)[0]
        outs.append(
            gr.update(visible=False, value=None)
            if p is None
            else gr.update(visible=True, value=scatter_value(p, classes, entry.checkpoint.dataset, xy))
        )
        if p is not None:
            maps[m] = {"source": source, "seconds": round(p.seconds, 3), "points": len(p), **p.scores}
            maps[m]["drawing"] = None if xy is None else [float(xy[0]), float(xy[1])]
    near, gallery = (
        neighbours(data, entry, next(iter(found.values()))[0], code)
        if code is not None and found
        else ([], None)
    )
    methods, n, seed = settings
    where = {"shipped file": "src_shipped", "cache": "src_cached", "computed": "src_computed"}
    sources = ", ".join(
        f"{LABELS[m]} ({tr(lang, where[v['source']]) if v['source'] in where else v['source']})"
        for m, v in maps.items()
    )
    seconds = time.perf_counter() - start
    lines = [tr(lang, "embed_head", name=entry.name, n=n, seed=seed, maps=sources, seconds=seconds)]
    lines += [tr(lang, "embed_failed", label=LABELS[m], why=why) for m, why in failed.items()]
    for why in failed.values():
        gr.Warning(why)
    if absent := [LABELS[m] for m in methods if m not in found and m not in failed]:
        lines.append(tr(lang, "embed_absent", labels=", ".join(absent)))
    if any(p.is_strip for p, _ in found.values()):
        lines.append(tr(lang, "embed_strip"))
    lines.append(tr(lang, "embed_star" if code is not None else "embed_no_star"))
    details = {"model": entry.name, "n": n, "seed": seed, "maps": maps, "nearest": near, "failed": failed}
    shown = None if gallery is None else [(served(image, "nearest"), caption) for image, caption in gallery]
    gallery = gr.update(value=shown, visible=gallery is not None)
    try:
        walked = served(walk_image(data, entry, walk_at), "walk")
    except FmaeError:  # no shipped codes and no dataset, or unusable codes: no walk
        walked = None
    return *outs, "\n\n".join(lines), details, gallery, walked


@contextmanager
def user_errors(lang: str = "en") -> Iterator[None]:
    """Turn our exceptions (and bad values) into a ``gr.Error`` with their message (in ``lang``)."""
    try:
        yield
    except (FmaeError, ValueError) as exc:
        raise user_error(exc, lang) from None


def first_paint(app: AppState, data: EmbedData) -> list[Any] | None:
    """The default model's shipped maps as the components' initial values (None if it has none):
    the tab then paints the moment it opens, before its select event comes back."""
    name = app.default_model()
    if name is None:
        return None
    try:
        entry = app.shipped.get(name)
        out = paint(data, entry, Session(), (list(DEFAULT_METHODS), DEFAULT_N, 0), [0.0] * DIRECTIONS)
    except (FmaeError, ValueError):  # a broken checkpoint: the tab starts empty, the picker reports it
        return None
    return [o["value"] if isinstance(o, dict) and "__type__" in o else o for o in out]


def build(app: AppState) -> None:
    """Lay out the tab inside the current ``gr.Tab`` and wire its events (painted when selected)."""
    data = EmbedData()
    tab = get_render_context()
    gr.Markdown(t("embed_help", n=DEFAULT_N))
    with gr.Row(equal_height=True):
        methods_box = gr.CheckboxGroup(
            [(LABELS[m], m) for m in METHODS], value=list(DEFAULT_METHODS), label=t("methods"), scale=3,
            min_width=280, elem_id="embed-methods",
        )  # fmt: skip
        points_slider = gr.Slider(
            N_MIN, N_MAX, value=DEFAULT_N, step=N_STEP, label=t("points"), scale=2, min_width=240
        )
        seed_box = gr.Number(0, precision=0, minimum=0, label=t("seed"), scale=1, min_width=90)
        compute = gr.Button(t("compute"), variant="primary", scale=1, min_width=120)
    first = first_paint(app, data) or [None] * (len(METHODS) + 4)
    status = gr.Markdown(first[len(METHODS)] or t("embed_open"), elem_id="embed-status")

    def point_image(args: list[Any]) -> str:
        """Test image ``index`` of ``dataset`` (``args``, as the page's script sends them) as a PNG
        data URL: the plots' hover previews."""
        dataset, index = args
        if dataset not in DATASETS:
            raise ValueError(f"unknown dataset {dataset!r}")
        shipped = [app.shipped.get(name) for name in app.shipped.names()]
        return png_data_url(data.image(dataset, int(index), shipped))

    with gr.Row():
        maps = [
            scatter(
                point_image,
                value=v,
                visible=m in DEFAULT_METHODS,
                elem_id=f"embed-{m}",
                elem_classes=["emb-map"],
            )
            for m, v in zip(METHODS, first, strict=False)
        ]
    near = gr.Gallery(
        label=t("nearest", n=NEAREST), columns=NEAREST, rows=1,
        height=150, allow_preview=False, object_fit="contain", format="png", visible=False,
        elem_id="embed-nearest",
    )  # fmt: skip
    with gr.Accordion(t("numbers_json"), open=False):
        details = gr.JSON(first[len(METHODS) + 1], label=t("maps"), elem_id="embed-json")
    gr.Markdown(t("walk_help"))
    with gr.Row():
        with gr.Column(scale=3, min_width=300):
            with gr.Row():
                a_box = gr.Number(DRAWING, precision=0, label=t("point_a"), min_width=140)
                b_box = gr.Number(0, precision=0, label=t("point_b"), min_width=140)
                steps_slider = gr.Slider(2, 16, value=STEPS, step=1, label=t("steps"), min_width=200)
            go = gr.Button(t("interpolate"))
            strip = gr.Image(label=t("strip"), format="png", interactive=False, elem_id="embed-strip")
        with gr.Column(scale=2, min_width=300):
            sliders = [
                gr.Slider(-3, 3, value=0, step=0.1, label=t("direction", i=i + 1)) for i in range(DIRECTIONS)
            ]
            walked = gr.Image(
                first[-1], label=t("decoded"), format="png", interactive=False, height=240,
                elem_id="embed-walk",
            )  # fmt: skip
    latent_pad.build(app, data, tab)  # press and drag on a plane, decoded in the page: ui/latent_pad.py
    sample_ui.build(app, data)  # Sample 16 and the holes lesson as a number: ui/sample_ui.py

    def paint_for(request: gr.Request, model: str | None, methods: list[str], points: float, seed: float,
                  walk_at: list[float], progress: gr.Progress | None = None) -> tuple[Any, ...]:  # fmt: skip
        """``paint`` for the visitor's model and session, settings checked, errors as messages."""
        lang = lang_of(request)
        with user_errors(lang):
            entry, session = app.resolve(request, model), app.session(request)
            settings = check_settings(methods, points, seed)
            return paint(data, entry, session, settings, walk_at, progress, lang)

    def show(model: str | None, methods: list[str], points: float, seed: float, direction1: float,
             direction2: float, direction3: float, direction4: float,
             request: gr.Request) -> tuple[Any, ...]:  # fmt: skip
        """Paint the maps that are already made (shipped or cached); computes nothing."""
        walk_at = [direction1, direction2, direction3, direction4]
        return paint_for(request, model, methods, points, seed, walk_at)

    def compute_maps(model: str | None, methods: list[str], points: float, seed: float, direction1: float,
                     direction2: float, direction3: float, direction4: float, request: gr.Request,
                     progress: gr.Progress = gr.Progress()) -> tuple[Any, ...]:  # noqa: B008  # fmt: skip
        """Compute the missing maps (a progress step per method), then paint everything."""
        walk_at = [direction1, direction2, direction3, direction4]
        return paint_for(request, model, methods, points, seed, walk_at, progress)

    def between(model: str | None, a: float, b: float, steps: float, request: gr.Request) -> str:
        """Decode ``steps`` points from code(A) to code(B), with A and B themselves at the ends."""
        with user_errors(lang_of(request)):
            entry, session = app.resolve(request, model), app.session(request)
            return served(interpolation_strip(data, entry, session, int(a), int(b), int(steps)), "strip")

    def walk_to(model: str | None, direction1: float, direction2: float, direction3: float,
                direction4: float, request: gr.Request) -> str:  # fmt: skip
        """The decoded image at the sliders' position along the principal directions."""
        with user_errors(lang_of(request)):
            walk_at = [direction1, direction2, direction3, direction4]
            return served(walk_image(data, app.resolve(request, model), walk_at), "walk")

    inputs = [app.picker, methods_box, points_slider, seed_box, *sliders]
    outputs = [*maps, status, details, near, walked]
    quick = {"concurrency_limit": 4, "concurrency_id": "embed_quick"}
    if isinstance(tab, gr.Tab):
        # the maps are there already (initial values or the last paint): no spinner over them
        tab.select(show, inputs, outputs, api_name="embed_paint", show_progress="hidden", **quick)
    app.picker.change(  # also while the tab is hidden, so it is ready when opened
        show, inputs, outputs, api_name="embed_repaint", api_visibility="undocumented",
        show_progress="hidden", **quick,
    )  # fmt: skip
    # one computation at a time across visitors: t-SNE of 10,000 codes keeps a core busy for a minute
    compute.click(compute_maps, inputs, outputs, api_name="embed_compute", concurrency_limit=1)
    go.click(between, [app.picker, a_box, b_box, steps_slider], strip, api_name="embed_interpolate", **quick)
    gr.on(
        [slider.change for slider in sliders], walk_to, [app.picker, *sliders], walked, api_name="embed_walk",
        show_progress="hidden", trigger_mode="always_last", **quick,
    )  # fmt: skip
