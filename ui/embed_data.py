"""What the Embeddings tab computes, without the UI: maps per model (shipped or computed),
test-image lookups, the drawing's neighbours, interpolation strips and latent walks.

The work itself is in ``fmae.latent``: projections and their scores, the cache and the
shipped maps, encode, interpolate and principal directions. Shipped
checkpoints carry precomputed maps for the default methods and N
(``scripts/precompute_embeddings.py``), so the tab paints them with no dataset on disk.
Maps that must be computed run in one warm worker process (``fmae.latent.ProjectionWorker``),
started by the first computation: a native crash or a runaway fit ends that map, not the server.
"""

from __future__ import annotations

import base64
import io
import os
import threading
from collections.abc import Callable
from typing import Any
from weakref import WeakKeyDictionary

import numpy as np
from PIL import Image

from fmae.data import DATASETS, load_dataset
from fmae.errors import CheckpointError, FmaeError
from fmae.images import gray, labelled_row
from fmae.latent import (
    DEFAULT_METHODS,
    DEFAULT_N,
    LABELS,
    METHODS,
    TIME_LIMIT_S,
    EmbeddingCache,
    LRUCache,
    Projection,
    ProjectionError,
    ProjectionWorker,
    UnusableCodesError,
    decode,
    encode,
    interpolate,
    load_points,
    model_fingerprint,
    nearest,
    principal_directions,
)
from fmae.session import ModelEntry, Session
from ui.files import png_file  # noqa: F401  (re-exported: the Embeddings tab imports it from here)

N_MIN, N_MAX, N_STEP = 500, 10_000, 500
DRAWING = -1  # the index standing for "your drawing" (as in fmae.latent.scatter_records)
NEAREST, DIRECTIONS, STEPS, SCALE, WALK_SCALE = 5, 4, 8, 4, 8


class EmbedData:
    """Maps, test-set codes, point images and principal directions, shared by all visitors.

    Keys start with the model's content id (a hash of its weights), so sessions share safely.
    """

    def __init__(self, time_limit_s: float | None = None) -> None:
        # seconds one map may take (default fmae.latent.TIME_LIMIT_S; FMAE_PROJECTION_TIME_LIMIT_S)
        limit = time_limit_s or float(os.environ.get("FMAE_PROJECTION_TIME_LIMIT_S", TIME_LIMIT_S))
        self.worker = ProjectionWorker(time_limit_s=limit)  # starts with the first computed map
        self.maps = EmbeddingCache(max_items=48)
        self._ids: WeakKeyDictionary[Any, str] = WeakKeyDictionary()
        self._memo: LRUCache[tuple, Any] = LRUCache(max_items=24)  # codes, points, directions
        self._lock = threading.Lock()

    def model_id(self, entry: ModelEntry) -> str:
        model = entry.checkpoint.model
        with self._lock:
            if model not in self._ids:
                self._ids[model] = model_fingerprint(model)
            return self._ids[model]

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

        return self._memo.get_or_make(("codes", self.model_id(entry)), make)

    def compute(self, entry: ModelEntry, method: str, n: int, seed: int) -> Projection:
        """The map, computed in the worker (and cached). Raises UnusableCodesError when the model's
        codes cannot be mapped, ProjectionError when this method fails, crashes or takes too long."""
        codes, labels = self.test_codes(entry)
        return self.maps.get_or_compute(
            self.model_id(entry), method, codes, labels, n, seed, worker=self.worker
        )

    def points(self, entry: ModelEntry, n: int = DEFAULT_N, seed: int = 0) -> dict[str, np.ndarray] | None:
        """The shipped images of a default map's points (``load_points``), or None."""

        def make() -> dict[str, np.ndarray] | None:
            try:
                return load_points(entry.folder, n, seed) if entry.folder is not None else None
            except CheckpointError:
                return None

        return self._memo.get_or_make(("points", self.model_id(entry), n, seed), make)

    def image(self, dataset: str, index: int, entries: list[ModelEntry]) -> np.ndarray:
        """Test image ``index`` (28, 28) uint8 of ``dataset``: from the shipped points of ``entries``
        (models of that dataset) if there, else from the dataset itself."""
        for entry in (e for e in entries if e.checkpoint.dataset == dataset):
            points = self.points(entry)
            if points is not None:
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

        return self._memo.get_or_make(("directions", self.model_id(entry)), make)


def check_settings(methods: list[str] | None, n: float, seed: float) -> tuple[list[str], int, int]:
    """Validated (methods in display order, N, seed); FmaeError says what is wrong."""
    methods = list(methods or [])
    if unknown := [m for m in methods if m not in METHODS]:
        raise FmaeError(f"Unknown method(s) {unknown}; choose from {list(METHODS)}.")
    if not methods:
        raise FmaeError("Pick at least one method.")
    if not N_MIN <= int(n) <= N_MAX:
        raise FmaeError(f"The number of points must be between {N_MIN} and {N_MAX} (got {n}).")
    if not 0 <= int(seed) <= 2**32 - 1:  # scikit-learn's random_state range
        raise FmaeError(f"The seed must be between 0 and {2**32 - 1}.")
    return [m for m in METHODS if m in methods], int(n), int(seed)


def png_data_url(image: np.ndarray) -> str:
    """A (28, 28) uint8 image as a ``data:image/png;base64,...`` URL."""
    buf = io.BytesIO()
    Image.fromarray(np.asarray(image, np.uint8), mode="L").save(buf, format="PNG")
    return "data:image/png;base64," + base64.b64encode(buf.getvalue()).decode()


def strip_image(images: list[np.ndarray], names: list[str], scale: int = SCALE) -> np.ndarray:
    """Images (28, 28) in [0, 1] side by side under their names: an RGB uint8 array."""
    return labelled_row([gray(x, scale) for x in images], names, gap=8)


def gather(
    data: EmbedData,
    entry: ModelEntry,
    settings: tuple[list[str], int, int],
    progress: Callable[..., Any] | None,
) -> tuple[dict[str, tuple[Projection, str]], dict[str, str]]:
    """(method -> (map, where from), method -> why it failed) for the chosen settings. The missing
    maps are computed (one progress step each) only when ``progress`` is given, else left out.

    A method that fails, crashes or runs out of time is reported and the others still come;
    codes that no method can map raise UnusableCodesError (the message says what is wrong).
    """
    methods, n, seed = settings
    found = {m: data.cached(entry, m, n, seed) for m in methods}
    failed: dict[str, str] = {}
    missing = [m for m, (p, _) in found.items() if p is None]
    for i, m in enumerate(missing if progress is not None else []):
        progress((i, len(missing)), desc=f"{LABELS[m]} of {n} codes")
        try:
            found[m] = data.compute(entry, m, n, seed), "computed"
        except UnusableCodesError:
            raise
        except ProjectionError as exc:
            failed[m] = str(exc)
    return {m: v for m, v in found.items() if v[0] is not None}, failed


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
            gray(data.image(entry.checkpoint.dataset, x["index"], [entry]) / 255.0, SCALE),
            f"#{x['index']} {x['class']}",
        )
        for x in near
    ]
    return near, images


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


def walk_image(data: EmbedData, entry: ModelEntry, coefficients: list[float]) -> np.ndarray:
    """Decode mean + sum_i c_i * std_i * direction_i of the model's codes: RGB (224, 224, 3)."""
    mean, comps, stds = data.directions(entry)
    coef = np.zeros(len(comps), np.float32)
    given = np.asarray([float(c) for c in coefficients[: len(comps)]], np.float32)
    coef[: len(given)] = given
    z = mean + (coef * stds) @ comps
    return gray(decode(entry.checkpoint.model, z)[0], WALK_SCALE)
