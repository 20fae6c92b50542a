"""The app's Embeddings tab through its HTTP API (gradio_client), against the app in this process.

Shipped checkpoints carry precomputed maps (scripts/precompute_embeddings.py): the tab must
serve them without the dataset, fast; anything else is computed once and then cached.
"""

from __future__ import annotations

import os
import time
from pathlib import Path

os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")  # no network calls from the launched app

import numpy as np
import pytest
from apptools import serve_in_process
from gradio_client import Client
from gradio_client.exceptions import AppError
from PIL import Image

import ui.embed_data
from fmae.data import FASHION_CLASSES
from fmae.errors import DataUnavailableError
from fmae.images import plots
from fmae.latent import (
    DEFAULT_METHODS,
    LABELS,
    METHODS,
    decode,
    embedding_path,
    encode,
    load_points,
    load_projection,
    place,
    principal_directions,
)
from fmae.models import load_checkpoint
from ui.embed_data import SCALE, WALK_SCALE
from ui.embed_scatter import unpack

ROOT = Path(__file__).resolve().parents[1]
SHIPPED = "fashion-mlp"
FOLDER = ROOT / "checkpoints" / SHIPPED
N = 2000
WALK_AT_ZERO = (0.0, 0.0, 0.0, 0.0)


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    """The app (in this process) and its state."""
    with serve_in_process(ROOT / "checkpoints", tmp_path_factory.mktemp("sessions")) as served_app:
        yield served_app


@pytest.fixture
def client(served) -> Client:
    return Client(served[0], verbose=False)  # a session of its own per test


@pytest.fixture
def no_dataset(monkeypatch):
    """Any attempt of the tab to read the dataset fails, as on a machine without it."""

    def refuse(*args, **kwargs):
        raise DataUnavailableError("no dataset on this machine (test)")

    monkeypatch.setattr(ui.embed_data, "load_dataset", refuse)


def maps_call(client: Client, endpoint: str, methods, n=N, seed=0, walk_at=WALK_AT_ZERO) -> tuple:
    start = time.perf_counter()
    out = client.predict(SHIPPED, list(methods), n, seed, *walk_at, api_name=endpoint)
    return out, time.perf_counter() - start


def by_method(out: tuple) -> dict[str, dict]:
    """The plot updates of a paint/compute answer, keyed by method (one output per METHODS entry)."""
    return dict(zip(METHODS, out[: len(METHODS)], strict=True))


def test_shipped_maps_are_served_without_the_dataset(client, no_dataset):
    out, _ = maps_call(client, "/embed_compute", DEFAULT_METHODS)
    plots_, status, details = by_method(out), out[len(METHODS)], out[len(METHODS) + 1]
    points = load_points(FOLDER)
    for method in METHODS:
        if method not in DEFAULT_METHODS:
            assert plots_[method]["visible"] is False
            continue
        value = plots_[method]["value"]
        xy, classes, indices = unpack(value)
        stored, _ = load_projection(embedding_path(FOLDER, method, N, 0))
        assert xy.shape == (N, 2) and np.isfinite(xy).all()
        np.testing.assert_array_equal(xy, stored.coords)
        np.testing.assert_array_equal(indices, points["indices"])
        np.testing.assert_array_equal(classes, points["labels"])  # every point keeps its class
        assert value["classes"] == list(FASHION_CLASSES) and set(classes) == set(range(10))
        s = stored.scores
        assert value["title"] == f"{LABELS[method]} · {stored.seconds:.1f} s"
        assert f"trustworthiness {s['trustworthiness']:.3f}" in value["subtitle"]
        assert f"kNN(5) 2-D {s['knn2d_acc']:.2f} (latent {s['knn_latent_acc']:.2f})" in value["subtitle"]
        entry = details["maps"][method]
        assert entry["source"] in ("shipped file", "cache") and entry["points"] == N
        assert 0.5 < entry["trustworthiness"] <= 1 and entry["drawing"] is None
    assert details["maps"]["tsne"]["trustworthiness"] > details["maps"]["pca"]["trustworthiness"]
    server_s = float(status.split("; ")[1].split(" s.")[0])  # the handler's own time, as the status says
    assert server_s < 1.0, status  # the first-paint budget, with room for a busy machine
    assert "Not computed yet" not in status


def test_a_repeat_is_served_from_the_cache(client):
    methods = ("pca", "tsne")  # N=500 with seed 3 is not shipped: computed from the test set once
    first, first_s = maps_call(client, "/embed_compute", methods, n=500, seed=3)
    again, again_s = maps_call(client, "/embed_compute", methods, n=500, seed=3)
    sources = [first[len(METHODS) + 1]["maps"][m]["source"] for m in methods]
    assert sources == ["computed", "computed"]
    assert [again[len(METHODS) + 1]["maps"][m]["source"] for m in methods] == ["cache", "cache"]
    for m in methods:
        a, b = unpack(by_method(first)[m]["value"]), unpack(by_method(again)[m]["value"])
        assert a[0].shape == (500, 2)
        for x, y in zip(a, b, strict=True):
            np.testing.assert_array_equal(x, y)
    assert again_s < first_s / 2, (first_s, again_s)
    # the paint endpoint (tab select) computes nothing: an uncached setting stays empty
    out, _ = maps_call(client, "/embed_paint", ("pca",), n=1500, seed=3)
    assert by_method(out)["pca"]["visible"] is False and "Not computed yet: PCA" in out[len(METHODS)]


def test_the_drawing_lands_on_every_map_with_its_nearest_images(served, client, no_dataset):
    points = load_points(FOLDER)
    row = 123
    drawing = points["images"][row].astype(np.float32) / 255.0  # a test image on the map, as a "drawing"
    maps_call(client, "/embed_paint", ("pca",))  # the session exists once it made a call
    served[1].store.get(client.session_hash).last_input = drawing
    out, _ = maps_call(client, "/embed_paint", DEFAULT_METHODS)
    details = out[len(METHODS) + 1]
    model = load_checkpoint(FOLDER).model
    code = encode(model, drawing)
    for method in DEFAULT_METHODS:
        stored, _ = load_projection(embedding_path(FOLDER, method, N, 0))
        xy = np.array(details["maps"][method]["drawing"])
        np.testing.assert_allclose(xy, place(stored, None, code)[0], rtol=1e-4, atol=1e-4)
        np.testing.assert_allclose(xy, stored.coords[row], rtol=1e-3, atol=1e-3)  # it is that point
        assert unpack(by_method(out)[method]["value"])[0].shape == (N, 2)
        assert by_method(out)[method]["value"]["drawing"] == pytest.approx(list(xy))
    near = details["nearest"]
    assert len(near) == 5 and near[0]["index"] == int(points["indices"][row]) and near[0]["distance"] < 1e-4
    assert near[0]["class"] == FASHION_CLASSES[int(points["labels"][row])]
    assert [n["distance"] for n in near] == sorted(n["distance"] for n in near)
    gallery = out[len(METHODS) + 2]
    assert gallery["visible"] is True and len(gallery["value"]) == 5
    assert "gold star" in out[len(METHODS)]


def test_interpolation_and_walk_return_images_of_the_right_size(served, client, no_dataset):
    points = load_points(FOLDER)
    a, b = (int(points["indices"][k]) for k in (0, 1))
    strip = np.asarray(Image.open(client.predict(SHIPPED, a, b, 8, api_name="/embed_interpolate")))
    tile = 28 * SCALE
    assert strip.shape == (24 + tile, 10 * tile + 9 * 8, 3)  # A, 8 steps, B under labels, 8 px apart
    left = strip[24:, :tile, 0].astype(np.float32)  # A itself, enlarged
    np.testing.assert_allclose(left[::SCALE, ::SCALE], points["images"][0], atol=1)
    with pytest.raises(AppError, match="No drawing yet"):
        client.predict(SHIPPED, -1, b, 8, api_name="/embed_interpolate")
    with pytest.raises(AppError, match="greater than maximum value 16"):  # the slider refuses it
        client.predict(SHIPPED, a, b, 40, api_name="/embed_interpolate")

    stored, _ = load_projection(embedding_path(FOLDER, "pca", N, 0))
    mean, comps, stds = principal_directions(stored.codes, 4)
    model = load_checkpoint(FOLDER).model
    for walk_at in ((0.0, 0.0, 0.0, 0.0), (2.0, 0.0, -1.0, 0.0)):
        image = np.asarray(Image.open(client.predict(SHIPPED, *walk_at, api_name="/embed_walk")))
        assert image.shape == (28 * WALK_SCALE, 28 * WALK_SCALE, 3)
        expected = plots.gray(decode(model, mean + (np.array(walk_at) * stds) @ comps)[0], WALK_SCALE)
        assert np.abs(image.astype(int) - expected).max() <= 1


def test_bad_settings_get_clear_errors(client):
    with pytest.raises(AppError, match="less than minimum value 500"):  # the slider refuses it
        maps_call(client, "/embed_compute", ("pca",), n=100)
    with pytest.raises(AppError, match="Pick at least one method"):
        maps_call(client, "/embed_compute", ())
    with pytest.raises(AppError, match="Unknown model 'nope'"):
        client.predict("nope", ["pca"], N, 0, *WALK_AT_ZERO, api_name="/embed_paint")
