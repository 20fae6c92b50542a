"""The Embeddings tab's latent pad: press and drag on a plane of the latent space, see the decoded
image follow the pointer (issue 14, item 3).

The page decodes by itself: a server round trip per frame cannot keep up with a pointer, and the
decoders are small (the MLP's ~0.12 M multiply-adds, the conv models' ~1.9 M). The plane's value
(``pad_value``: the plane, 2,000 test points, your drawing, texts) is small JSON; the decoder
(``fmae.latent.decoder_spec``: layers + one float32 array, base64) and the manifold grid come once
per model through the ``pad_weights`` server function, and ``latent_pad.js`` runs the layers in
plain loops over Float32Arrays at most once per animation frame. A decoder the spec cannot describe
falls back to ``pad_decode`` on the server, one request at a time.

API: ``/latent_pad`` (the pad's data, decoder included) and ``/latent_pad_decode`` (a point of the
plane -> its code and image), both for the visitor's models as the page sees them.
"""

# No ``from __future__ import annotations``: gr.api and the server functions read the annotations.
import base64
import io
import math
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import gradio as gr
import numpy as np
from PIL import Image

from fmae.data import DATASETS
from fmae.errors import FmaeError
from fmae.latent import (
    DEFAULT_METHODS,
    DEFAULT_N,
    LRUCache,
    Plane,
    UnsupportedDecoderError,
    decode_point,
    decoder_spec,
    encode,
    manifold_grid,
    pad_plane,
    subsample,
)
from fmae.session import ModelEntry, Session
from ui.embed_data import EmbedData
from ui.embed_scatter import COLORS
from ui.i18n import lang_of, t, tr
from ui.state import AppState, user_error

JS = (Path(__file__).with_name("latent_pad.js")).read_text(encoding="utf-8")
TEMPLATE = """<div class="lp">
  <div class="lp-note"></div>
  <div class="lp-row">
    <div class="lp-planebox"><canvas id="latent-pad" class="lp-plane"></canvas></div>
    <div class="lp-side">
      <canvas id="latent-pad-decoded" width="28" height="28"></canvas>
      <div class="lp-where"></div>
      <label class="lp-toggle"><input type="checkbox" class="lp-grid"> <span></span></label>
    </div>
  </div>
  <div class="lp-legend"></div>
</div>"""
CSS = """
.lp { display: flex; flex-direction: column; gap: 6px; font-size: 13px; }
.lp-note { opacity: .85; }
.lp-row { display: flex; flex-wrap: wrap; gap: 16px; align-items: flex-start; }
.lp-planebox { flex: 1 1 300px; max-width: 480px; min-width: 0; }
.lp-plane { display: block; width: 100%; aspect-ratio: 1 / 1; touch-action: none; cursor: crosshair;
  border: 1px solid var(--border-color-primary); border-radius: 4px; user-select: none;
  -webkit-user-select: none; }
.lp-side { display: flex; flex-direction: column; gap: 6px; max-width: 100%; }
#latent-pad-decoded { width: 280px; height: 280px; max-width: 100%; image-rendering: pixelated;
  background: #000; border-radius: 4px; }
.lp-where { font-variant-numeric: tabular-nums; min-height: 1.2em; }
.lp-toggle { display: flex; gap: 6px; align-items: center; cursor: pointer; }
.lp-legend { display: flex; flex-wrap: wrap; gap: 2px 10px; font-size: 12px; }
.lp-legend span::before { content: "●"; color: var(--c); margin-right: 3px; }
/* a phone: the plane takes the width; the decoded image, smaller, sits under it beside its readout, so
   plane and image fit on the screen together while a finger drags */
@media (max-width: 640px) {
  .lp-planebox { flex-basis: 100%; }
  .lp-side { display: grid; grid-template-columns: 168px 1fr; align-items: start; gap: 6px 12px;
    width: 100%; }
  #latent-pad-decoded { width: 168px; height: 168px; grid-row: span 2; }
}
"""
POINTS = DEFAULT_N  # test points drawn on the plane
DRAWING_COLOR = "#000000"


def _pack(a: np.ndarray, dtype: str) -> str:
    return base64.b64encode(np.ascontiguousarray(a, dtype).tobytes()).decode()


def png_data_url(gray: np.ndarray) -> str:
    buf = io.BytesIO()
    Image.fromarray(np.asarray(gray, np.uint8), mode="L").save(buf, format="PNG")
    return "data:image/png;base64," + base64.b64encode(buf.getvalue()).decode()


class PadData:
    """Planes, decoder specs and manifold grids per model (keyed by the weights' content id)."""

    def __init__(self, data: EmbedData) -> None:
        self.data = data
        self._memo: LRUCache[tuple, Any] = LRUCache(max_items=16)
        # the models whose pad a page was given, by content key: the page's own calls (server
        # functions) come without the visitor's session, so a model trained in the page is found here
        self.shown: LRUCache[str, ModelEntry] = LRUCache(max_items=64)

    def entry(self, app: AppState, request: gr.Request, args: list, key_at: int) -> ModelEntry:
        """The model a page's call means: the one its pad was given (``args[key_at]``, its key), else
        the model named ``args[0]`` as the request's session sees it."""
        key = args[key_at] if len(args) > key_at and isinstance(args[key_at], str) else None
        found = self.shown.get(key) if key else None
        return found if found is not None else app.resolve(request, str(args[0]))

    def plane(self, entry: ModelEntry) -> Plane:
        """The plane of the model's shipped map points (2,000 test codes, no dataset needed), else of
        2,000 of its test codes (needs the dataset: FmaeError when absent)."""

        def make() -> Plane:
            for method in DEFAULT_METHODS:
                p = self.data.cached(entry, method, POINTS, 0)[0]
                if p is not None and p.codes is not None:
                    return pad_plane(p.codes, p.labels, p.indices)
            codes, labels = self.data.test_codes(entry)
            rows = subsample(labels, min(POINTS, len(labels)), 0)
            return pad_plane(codes[rows], labels[rows], rows)

        return self._memo.get_or_make(("plane", self.data.model_id(entry)), make)

    def weights(self, entry: ModelEntry) -> dict[str, Any]:
        """The page's decoder (``layers`` + base64 float32 ``weights``; None with ``why`` when the spec
        cannot describe it) and the manifold grid as a PNG data URL, under the model's ``key``."""
        key = self.data.model_id(entry)

        def make() -> dict[str, Any]:
            model = entry.checkpoint.model
            try:
                spec = decoder_spec(model)
                decoder = {"layers": spec.layers, "weights": _pack(spec.weights, "<f4"), "macs": spec.macs}
                why = ""
            except UnsupportedDecoderError as exc:
                decoder, why = None, str(exc)
            grid = png_data_url(manifold_grid(model, self.plane(entry)))
            dim = int(model.latent_dim)
            return {"key": key, "latent_dim": dim, "decoder": decoder, "why": why, "grid": grid}

        return self._memo.get_or_make(("weights", key), make)

    def drawing(self, entry: ModelEntry, plane: Plane, session: Session) -> list[float] | None:
        """The place of the session's latest input (Reconstruct tab) on the plane, or None."""
        if session.last_input is None:
            return None
        xy = plane.place(encode(entry.checkpoint.model, session.last_input)[0])
        return [float(xy[0]), float(xy[1])] if np.isfinite(xy).all() else None


def pad_value(pads: PadData, entry: ModelEntry, session: Session, lang: str = "en") -> dict[str, Any]:
    """The pad component's value: plane, points (base64 ``xy`` float32, ``c`` uint8 classes), the
    drawing's place, texts in ``lang``. The decoder itself comes through ``pad_weights``."""
    plane = pads.plane(entry)
    pads.shown.put(pads.data.model_id(entry), entry)
    dim, classes = plane.latent_dim, DATASETS[entry.checkpoint.dataset][1]
    kind = "pad_latent" if dim == 2 else "pad_latent_1d" if dim == 1 else "pad_pca"
    labels = np.zeros(len(plane.xy), np.int64) if plane.labels is None else plane.labels
    return {
        "key": pads.data.model_id(entry),
        "model": entry.name,
        "plane": "latent" if plane.is_latent else "pca",
        "note": tr(lang, kind, name=entry.name, n=len(plane.xy), dim=dim),
        "grid_label": tr(lang, "pad_grid"),
        "drawing_label": tr(lang, "pad_drawing"),
        "server_note": tr(lang, "pad_server"),
        "mean": [float(v) for v in plane.mean],
        "axes": [[float(v) for v in row] for row in plane.axes],
        "extent": list(plane.extent),
        "n": len(plane.xy),
        "xy": _pack(plane.xy, "<f4"),
        "c": _pack(labels, "u1"),
        "classes": list(classes),
        "colors": [COLORS[k % len(COLORS)] for k in range(len(classes))],
        "drawing": pads.drawing(entry, plane, session),
        "drawing_color": DRAWING_COLOR,
    }


def pad_data(pads: PadData, entry: ModelEntry, session: Session) -> dict[str, Any]:
    """What ``/latent_pad`` returns (see the README's API table)."""
    plane, weights = pads.plane(entry), pads.weights(entry)
    labels = None if plane.labels is None else plane.labels.tolist()
    return {
        "model": entry.name, "dataset": entry.checkpoint.dataset, "key": weights["key"],
        "plane": "latent" if plane.is_latent else "pca", "mean": plane.mean.tolist(),
        "axes": plane.axes.tolist(), "extent": list(plane.extent),
        "points": {"xy": np.round(plane.xy, 4).tolist(), "labels": labels,
                   "indices": None if plane.indices is None else plane.indices.tolist()},
        "classes": list(DATASETS[entry.checkpoint.dataset][1]),
        "drawing": pads.drawing(entry, plane, session),
        "decoder": weights["decoder"], "decoder_why": weights["why"], "grid": weights["grid"],
    }  # fmt: skip


def build(app: AppState, data: EmbedData, tab: Any) -> gr.HTML:
    """The pad inside the current layout, wired to the tab's select (``tab``, if a ``gr.Tab``) and the
    model picker; registers ``/latent_pad`` and ``/latent_pad_decode``."""
    pads = PadData(data)
    default = app.default_model() or ""
    gr.Markdown(t("pad_help"), elem_id="latent-pad-help")

    def pad_weights(args: list, request: gr.Request) -> dict:
        """[model name, key] -> the page's decoder and grid (``PadData.weights``); {"error"} on a bad name."""
        try:
            return pads.weights(pads.entry(app, request, args, 1))
        except (FmaeError, ValueError, IndexError) as exc:
            return {"key": None, "error": str(exc)}

    def pad_decode(args: list, request: gr.Request) -> dict:
        """[model, x, y, key] -> the image at (x, y) as base64 float32 (784,): the pad's server fallback."""
        try:
            entry = pads.entry(app, request, args, 3)
            image = decode_point(entry.checkpoint.model, pads.plane(entry), *check_point(args[1], args[2]))
            return {"key": data.model_id(entry), "image": _pack(image, "<f4")}
        except (FmaeError, ValueError, IndexError, TypeError) as exc:
            return {"key": None, "error": str(exc)}

    pad = gr.HTML(
        None, html_template=TEMPLATE, css_template=CSS, js_on_load=JS,
        server_functions=[pad_weights, pad_decode], elem_id="latent-pad-box", min_width=300,
    )  # fmt: skip

    def show(model: str | None, request: gr.Request) -> dict:
        """The pad for the visitor's model (None with a warning when it cannot be made)."""
        lang = lang_of(request)
        try:
            entry = app.resolve(request, model)
            return pad_value(pads, entry, app.session(request), lang)
        except (FmaeError, ValueError) as exc:
            gr.Warning(user_error(exc, lang).message)
            return None

    quick = {"concurrency_limit": 4, "concurrency_id": "embed_quick", "show_progress": "hidden",
             "api_visibility": "undocumented"}  # fmt: skip
    if isinstance(tab, gr.Tab):
        tab.select(show, [app.picker], pad, api_name="latent_pad_show", **quick)
    app.picker.change(show, [app.picker], pad, api_name="latent_pad_reload", **quick)

    def latent_pad(request: gr.Request, model: str = default) -> dict:
        """The latent pad's data for ``model``: its plane (latent space or principal-component plane),
        2,000 test points on it, your latest input's place, the decoder as layers + base64 float32
        weights, and the manifold grid (PNG data URL)."""
        with _errors(request):
            entry = app.resolve(request, model or default or None)
            return pad_data(pads, entry, app.session(request))

    def latent_pad_decode(request: gr.Request, x: float = 0.0, y: float = 0.0, model: str = default) -> dict:
        """Decode the point (x, y) of ``model``'s pad plane: its code and the 28x28 image (3 decimals)."""
        with _errors(request):
            x, y = check_point(x, y)
            entry = app.resolve(request, model or default or None)
            plane = pads.plane(entry)
            image = decode_point(entry.checkpoint.model, plane, x, y)
            return {
                "model": entry.name, "x": float(x), "y": float(y),
                "code": [round(float(v), 6) for v in plane.code(x, y)],
                "image": np.round(image.astype(np.float64), 3).tolist(),
            }  # fmt: skip

    gr.api(latent_pad, api_name="latent_pad", queue=False)
    gr.api(latent_pad_decode, api_name="latent_pad_decode", queue=False)
    return pad


#: the largest |x| or |y| a point of the pad may have, in latent units (as /decode's codes)
MAX_COORD = 10_000.0


def check_point(x: Any, y: Any) -> tuple[float, float]:
    """(x, y) as finite floats with |value| <= MAX_COORD; ValueError naming the bound otherwise."""
    try:
        point = float(x), float(y)
    except (TypeError, ValueError):
        raise ValueError(f"x and y must be numbers, not {x!r} and {y!r}") from None
    if not all(math.isfinite(v) and abs(v) <= MAX_COORD for v in point):
        raise ValueError(f"x and y must be finite numbers with absolute value at most {MAX_COORD:g}")
    return point


@contextmanager
def _errors(request: gr.Request) -> Iterator[None]:
    """Our exceptions (and bad values) -> ``gr.Error`` with their message in the visitor's language."""
    try:
        yield
    except (FmaeError, ValueError) as exc:
        raise user_error(exc, lang_of(request)) from None
