"""Embeddings tab: the picked model's latent space in 2-D, your drawing on the maps, latent walks.

The work is in ``fmae.embed`` (projections, scores), ``fmae.embed_cache`` (the cache and the
shipped maps), ``fmae.explore`` (encode, interpolation, principal directions) and
``fmae.plot_embed`` (plot data). Shipped checkpoints carry precomputed maps for the default
methods and N (``scripts/precompute_embeddings.py``), so the tab paints them with no dataset.
"""

from __future__ import annotations

import base64
import io
import threading
import time
from collections import OrderedDict
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any
from weakref import WeakKeyDictionary

import gradio as gr
import numpy as np
from gradio.context import get_render_context
from PIL import Image

from fmae import plots
from fmae.data import DATASETS, load_dataset
from fmae.embed import DEFAULT_N, LABELS, METHODS, Projection, place
from fmae.embed_cache import EmbeddingCache, load_points
from fmae.errors import CheckpointError, FmaeError
from fmae.explore import decode, encode, interpolate, model_fingerprint, nearest, principal_directions
from fmae.session import ModelEntry, Session
from ui.embed_scatter import scatter, scatter_value
from ui.state import AppState, user_error

DEFAULT_METHODS = ("pca", "kpca", "tsne")  # what shipped checkpoints carry precomputed
N_MIN, N_MAX, N_STEP = 500, 10_000, 500
DRAWING = -1  # the index standing for "your drawing" (as in fmae.plot_embed.scatter_records)
NEAREST, DIRECTIONS, STEPS, SCALE, WALK_SCALE = 5, 4, 8, 4, 8
HELP = (
    "Each test image becomes a point: its latent code squeezed to 2-D by each method. Hover a point for "
    "its class and test-image number. Titles give the fit time, the trustworthiness of the map (k=10) and "
    "kNN(5) accuracy on the map next to kNN accuracy in the full latent space. Your latest drawing or "
    "upload from the **Reconstruct** tab is the black point. Shipped models show precomputed maps for "
    f"{DEFAULT_N} points at once; other settings need the test set and take seconds (t-SNE the longest)."
)


class EmbedData:
    """Maps, test-set codes, point images and principal directions, shared by all visitors.

    Keys start with the model's content id (a hash of its weights), so sessions share safely.
    """

    def __init__(self) -> None:
        self.maps = EmbeddingCache(max_items=48)
        self._ids: WeakKeyDictionary[Any, str] = WeakKeyDictionary()
        self._memo: OrderedDict[tuple, Any] = OrderedDict()  # codes, points, directions (LRU)
        self._lock = threading.Lock()

    def model_id(self, entry: ModelEntry) -> str:
        model = entry.checkpoint.model
        with self._lock:
            if model not in self._ids:
                self._ids[model] = model_fingerprint(model)
            return self._ids[model]

    def _remember(self, key: tuple, make: Any) -> Any:
        with self._lock:
            if key in self._memo:
                self._memo.move_to_end(key)
                return self._memo[key]
        value = make()
        with self._lock:
            self._memo[key] = value
            while len(self._memo) > 24:
                self._memo.popitem(last=False)
        return value

    def cached(self, entry: ModelEntry, method: str, n: int, seed: int) -> tuple[Projection | None, str]:
        """The map from memory or the model's folder, never computed: (map or None, where from)."""
        key = (self.model_id(entry), method, n, seed)
        if (found := self.maps.get(key)) is not None:
            return found, "cache"
        try:
            found = self.maps.lookup(*key, folder=entry.folder)
        except CheckpointError:  # a damaged file: computing it again will do
            found = None
        return found, "shipped file" if found is not None else "missing"

    def test_codes(self, entry: ModelEntry) -> tuple[np.ndarray, np.ndarray]:
        """Codes (10000, latent) and labels of the model's whole test set (needs the dataset)."""
        dataset = entry.checkpoint.dataset

        def make() -> tuple[np.ndarray, np.ndarray]:
            test = load_dataset(dataset, "test")
            return encode(entry.checkpoint.model, test.images), test.labels.numpy()

        return self._remember(("codes", self.model_id(entry)), make)

    def compute(self, entry: ModelEntry, method: str, n: int, seed: int) -> Projection:
        codes, labels = self.test_codes(entry)
        return self.maps.get_or_compute(self.model_id(entry), method, codes, labels, n, seed)

    def points(self, entry: ModelEntry, n: int = DEFAULT_N, seed: int = 0) -> dict[str, np.ndarray] | None:
        """The shipped images of a default map's points (``load_points``), or None."""

        def make() -> dict[str, np.ndarray] | None:
            try:
                return load_points(entry.folder, n, seed) if entry.folder is not None else None
            except CheckpointError:
                return None

        return self._remember(("points", self.model_id(entry), n, seed), make)

    def image(self, dataset: str, index: int, entries: list[ModelEntry]) -> np.ndarray:
        """Test image ``index`` (28, 28) uint8 of ``dataset``: from the shipped points of ``entries``
        (models of that dataset) if there, else from the dataset itself."""
        for entry in entries:
            points = self.points(entry)
            if points is not None and entry.checkpoint.dataset == dataset:
                pos = int(np.searchsorted(points["indices"], index))
                if pos < len(points["indices"]) and points["indices"][pos] == index:
                    return points["images"][pos]
        images = load_dataset(dataset, "test").images
        if not 0 <= index < len(images):
            raise FmaeError(f"There is no test image #{index}: pick 0 to {len(images) - 1}, or -1.")
        return images[index].numpy()

    def directions(self, entry: ModelEntry) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Mean, top principal directions and their stds of the codes of the model's shipped map
        points (no dataset needed), else of its whole test set."""

        def make() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
            found = (self.cached(entry, m, DEFAULT_N, 0)[0] for m in DEFAULT_METHODS)
            ref = next((p.codes for p in found if p is not None), None)
            codes = self.test_codes(entry)[0] if ref is None else ref
            return principal_directions(codes, min(DIRECTIONS, *codes.shape))

        return self._remember(("directions", self.model_id(entry)), make)


def check_settings(methods: list[str] | None, n: float, seed: float) -> tuple[list[str], int, int]:
    """Validated (methods in display order, N, seed); FmaeError says what is wrong."""
    methods = list(methods or [])
    if unknown := [m for m in methods if m not in METHODS]:
        raise FmaeError(f"Unknown method(s) {unknown}; choose from {list(METHODS)}.")
    if not methods:
        raise FmaeError("Pick at least one method.")
    if not N_MIN <= int(n) <= N_MAX:
        raise FmaeError(f"The number of points must be between {N_MIN} and {N_MAX} (got {n}).")
    if int(seed) < 0:
        raise FmaeError("The seed must be 0 or more.")
    return [m for m in METHODS if m in methods], int(n), int(seed)


def png_data_url(image: np.ndarray) -> str:
    """A (28, 28) uint8 image as a ``data:image/png;base64,...`` URL."""
    buf = io.BytesIO()
    Image.fromarray(np.asarray(image, np.uint8), mode="L").save(buf, format="PNG")
    return "data:image/png;base64," + base64.b64encode(buf.getvalue()).decode()


def strip_image(images: list[np.ndarray], names: list[str], scale: int = SCALE) -> np.ndarray:
    """Images (28, 28) in [0, 1] side by side under their names: an RGB uint8 array."""
    return plots.labelled_row([plots.gray(x, scale) for x in images], names, gap=8)


def gather(
    data: EmbedData, entry: ModelEntry, settings: tuple[list[str], int, int], progress: gr.Progress | None
) -> dict[str, tuple[Projection, str]]:
    """method -> (map, where from) for the chosen settings; the missing ones are computed (one
    progress step each) only when ``progress`` is given, else left out."""
    methods, n, seed = settings
    found = {m: data.cached(entry, m, n, seed) for m in methods}
    missing = [m for m, (p, _) in found.items() if p is None]
    for i, m in enumerate(missing if progress is not None else []):
        progress((i, len(missing)), desc=f"{LABELS[m]} of {n} codes")
        found[m] = data.compute(entry, m, n, seed), "computed"
    return {m: v for m, v in found.items() if v[0] is not None}


def neighbours(
    data: EmbedData, entry: ModelEntry, p: Projection, code: np.ndarray
) -> tuple[list[dict[str, Any]], list[tuple[np.ndarray, str]]]:
    """The ``NEAREST`` map points closest to ``code`` in latent space: their numbers and images."""
    classes = DATASETS[entry.checkpoint.dataset][1]
    rows = nearest(p.codes, code, NEAREST)
    dist = np.linalg.norm(p.codes[rows] - code, axis=1)
    near = [
        {"index": int(p.indices[r]), "class": classes[int(p.labels[r])], "distance": round(float(d), 4)}
        for r, d in zip(rows, dist, strict=True)
    ]
    images = [
        (
            plots.gray(data.image(entry.checkpoint.dataset, x["index"], [entry]) / 255.0, SCALE),
            f"#{x['index']} {x['class']}",
        )
        for x in near
    ]
    return near, images


def paint(
    data: EmbedData, entry: ModelEntry, session: Session, settings: tuple[list[str], int, int],
    walk_at: list[float], progress: gr.Progress | None = None,
) -> tuple[Any, ...]:  # fmt: skip
    """Everything the tab shows: one plot update per method, status, numbers (JSON), the drawing's
    nearest test images and the latent-walk image. Computes maps only when ``progress`` is given."""
    start = time.perf_counter()
    found = gather(data, entry, settings, progress)
    classes = DATASETS[entry.checkpoint.dataset][1]
    code = None if session.last_input is None else encode(entry.checkpoint.model, session.last_input)[0]
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
    lines = [f"**{entry.name}**, {n} test points, seed {seed}: " + ", ".join(
        f"{LABELS[m]} ({v['source']})" for m, v in maps.items()
    ) + f"; {time.perf_counter() - start:.2f} s."]  # fmt: skip
    if absent := [LABELS[m] for m in methods if m not in found]:
        lines.append(f"Not computed yet: {', '.join(absent)}. Press **Compute**.")
    lines.append(
        "Your drawing is the black point; its nearest test images are below."
        if code is not None
        else "Draw or upload something in the **Reconstruct** tab to see it on the maps."
    )
    details = {"model": entry.name, "n": n, "seed": seed, "maps": maps, "nearest": near}
    return *outs, "\n\n".join(lines), details, gallery, walk_image(data, entry, walk_at)


def interpolation_strip(
    data: EmbedData, entry: ModelEntry, session: Session, ia: int, ib: int, count: int
) -> np.ndarray:
    """A, ``count`` decoded steps from code(A) to code(B), then B, labelled; index -1 is the drawing."""
    if not 2 <= count <= 16:
        raise FmaeError("Steps must be between 2 and 16.")
    ends, names = [], []
    for i in (ia, ib):
        if i == DRAWING:
            if session.last_input is None:
                raise FmaeError("No drawing yet: draw or upload in the Reconstruct tab, or pick an image #.")
            ends.append(np.asarray(session.last_input, np.float32))
            names.append("your drawing")
        else:
            ends.append(data.image(entry.checkpoint.dataset, i, [entry]).astype(np.float32) / 255.0)
            names.append(f"#{i}")
    decoded = list(interpolate(entry.checkpoint.model, ends[0], ends[1], count))
    labels = [f"{t:.2f}" for t in np.linspace(0, 1, count)]
    return strip_image([ends[0], *decoded, ends[1]], [names[0], *labels, names[1]])


@contextmanager
def user_errors() -> Iterator[None]:
    """Turn our exceptions (and bad values) into a ``gr.Error`` with their message."""
    try:
        yield
    except (FmaeError, ValueError) as exc:
        raise user_error(exc) from None


def walk_image(data: EmbedData, entry: ModelEntry, coefficients: list[float]) -> np.ndarray:
    """Decode mean + sum_i c_i * std_i * direction_i of the model's codes: RGB (224, 224, 3)."""
    mean, comps, stds = data.directions(entry)
    coef = np.zeros(len(comps), np.float32)
    given = np.asarray([float(c) for c in coefficients[: len(comps)]], np.float32)
    coef[: len(given)] = given
    z = mean + (coef * stds) @ comps
    return plots.gray(decode(entry.checkpoint.model, z)[0], WALK_SCALE)


def first_paint(app: AppState, data: EmbedData) -> list[Any] | None:
    """The default model's shipped maps as the components' initial values (None if it has none):
    the tab then paints the moment it opens, before its select event comes back."""
    name = app.default_model()
    try:
        entry = app.shipped.get(name) if name else None
        out = paint(data, entry, Session(), (list(DEFAULT_METHODS), DEFAULT_N, 0), [0.0] * DIRECTIONS)
    except (FmaeError, AttributeError, ValueError):
        return None
    return [o["value"] if isinstance(o, dict) and "__type__" in o else o for o in out]


def build(app: AppState) -> None:
    """Lay out the tab inside the current ``gr.Tab`` and wire its events (painted when selected)."""
    data = EmbedData()
    tab = get_render_context()
    gr.Markdown(HELP)
    with gr.Row(equal_height=True):
        methods = gr.CheckboxGroup(
            [(LABELS[m], m) for m in METHODS], value=list(DEFAULT_METHODS), label="Methods", scale=3
        )
        n = gr.Slider(N_MIN, N_MAX, value=DEFAULT_N, step=N_STEP, label="Number of test points", scale=2)
        seed = gr.Number(0, precision=0, minimum=0, label="Seed", scale=1, min_width=90)
        compute = gr.Button("Compute", variant="primary", scale=1, min_width=120)
    first = first_paint(app, data) or [None] * (len(METHODS) + 4)
    status = gr.Markdown(first[len(METHODS)] or "Open this tab to see the maps.", elem_id="embed-status")

    def point_image(dataset: str, index: int) -> str:
        """Test image ``index`` of ``dataset`` as a PNG data URL (the plots' hover previews)."""
        if dataset not in DATASETS:
            raise ValueError(f"unknown dataset {dataset!r}")
        shipped = [app.shipped.get(name) for name in app.shipped.names()]
        return png_data_url(data.image(dataset, int(index), shipped))

    with gr.Row():
        maps = [
            scatter(point_image, value=v, visible=m in DEFAULT_METHODS, min_width=300, elem_id=f"embed-{m}")
            for m, v in zip(METHODS, first, strict=False)
        ]
    near = gr.Gallery(
        label=f"Your drawing's {NEAREST} nearest test images (in latent space)", columns=NEAREST, rows=1,
        height=150, allow_preview=False, object_fit="contain", format="png", elem_id="embed-nearest",
    )  # fmt: skip
    with gr.Accordion("Numbers (JSON)", open=False):
        details = gr.JSON(first[len(METHODS) + 1], label="Maps", elem_id="embed-json")
    gr.Markdown(
        "### Walk through the latent space\nInterpolate between two test images (hover a point to see "
        "its number; -1 is your drawing), or move along the main directions of the model's codes."
    )
    with gr.Row():
        with gr.Column(scale=3):
            with gr.Row():
                a = gr.Number(DRAWING, precision=0, label="A: test image # (-1: your drawing)")
                b = gr.Number(0, precision=0, label="B: test image #")
                steps = gr.Slider(2, 16, value=STEPS, step=1, label="Steps")
            go = gr.Button("Interpolate A → B")
            strip = gr.Image(
                label="A, decoded steps, B", format="png", interactive=False, elem_id="embed-strip"
            )
        with gr.Column(scale=2):
            sliders = [
                gr.Slider(-3, 3, value=0, step=0.1, label=f"Direction {i + 1} (standard deviations)")
                for i in range(DIRECTIONS)
            ]
            walked = gr.Image(
                first[-1], label="Decoded", format="png", interactive=False, height=240, elem_id="embed-walk"
            )

    def show(model: str | None, ms: list[str], k: float, s: float, w1: float, w2: float, w3: float,
             w4: float, request: gr.Request) -> tuple[Any, ...]:  # fmt: skip
        """Paint the maps that are already made (shipped or cached); computes nothing."""
        with user_errors():
            entry, session = app.resolve(request, model), app.session(request)
            return paint(data, entry, session, check_settings(ms, k, s), [w1, w2, w3, w4])

    def compute_maps(model: str | None, ms: list[str], k: float, s: float, w1: float, w2: float, w3: float,
                     w4: float, request: gr.Request,
                     progress: gr.Progress = gr.Progress()) -> tuple[Any, ...]:  # noqa: B008  # fmt: skip
        """Compute the missing maps (progress per method), then paint everything."""
        with user_errors():
            entry, session = app.resolve(request, model), app.session(request)
            return paint(data, entry, session, check_settings(ms, k, s), [w1, w2, w3, w4], progress)

    def between(model: str | None, ia: float, ib: float, count: float, request: gr.Request) -> np.ndarray:
        """Decode ``count`` steps from code(A) to code(B), with A and B themselves at the ends."""
        with user_errors():
            entry, session = app.resolve(request, model), app.session(request)
            return interpolation_strip(data, entry, session, int(ia), int(ib), int(count))

    def walk_to(model: str | None, w1: float, w2: float, w3: float, w4: float,
                request: gr.Request) -> np.ndarray:  # fmt: skip
        """The decoded image at the sliders' position along the principal directions."""
        with user_errors():
            return walk_image(data, app.resolve(request, model), [w1, w2, w3, w4])

    inputs = [app.picker, methods, n, seed, *sliders]
    outputs = [*maps, status, details, near, walked]
    quick = {"concurrency_limit": 4, "concurrency_id": "embed_quick"}
    if isinstance(tab, gr.Tab):
        tab.select(show, inputs, outputs, api_name="embed_paint", **quick)
    app.picker.change(  # also while the tab is hidden, so it is ready when opened
        show, inputs, outputs, api_name="embed_repaint", api_visibility="undocumented",
        show_progress="hidden", **quick,
    )  # fmt: skip
    # one computation at a time across visitors: t-SNE of 10,000 codes keeps a core busy for a minute
    compute.click(compute_maps, inputs, outputs, api_name="embed_compute", concurrency_limit=1)
    go.click(between, [app.picker, a, b, steps], strip, api_name="embed_interpolate", **quick)
    gr.on(
        [slider.change for slider in sliders], walk_to, [app.picker, *sliders], walked, api_name="embed_walk",
        show_progress="hidden", trigger_mode="always_last", **quick,
    )  # fmt: skip
