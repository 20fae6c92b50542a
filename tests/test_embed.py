"""2-D maps of latent codes, their scores, placement of new codes, the cache and the explorers.

Behaviour that depends on data runs on real Fashion-MNIST test images encoded by the shipped
MLP checkpoint (checkpoints/fashion-mlp), so no test trains a model.
"""

import dataclasses
import time
from pathlib import Path

import numpy as np
import pytest
import torch
from sklearn.decomposition import KernelPCA
from sklearn.manifold import TSNE
from sklearn.manifold import trustworthiness as sk_trustworthiness
from sklearn.model_selection import KFold
from threadpoolctl import threadpool_limits

from fmae.data import FASHION_CLASSES, load_dataset
from fmae.errors import CheckpointError, FmaeError
from fmae.latent import (
    DRAWING_LABEL,
    EmbeddingCache,
    checkpoint_id,
    embedding_figure,
    embedding_path,
    encode,
    interpolate,
    load_points,
    load_projection,
    model_fingerprint,
    nearest,
    precompute,
    principal_directions,
    projection,
    scatter_frame,
    scatter_records,
    walk,
)
from fmae.latent import scores as map_scores
from fmae.models import MLPAutoEncoder, load_checkpoint, save_checkpoint

N = 400
SHIPPED = Path(__file__).resolve().parent.parent / "checkpoints" / "fashion-mlp"


@pytest.fixture(scope="module")
def model() -> MLPAutoEncoder:
    return load_checkpoint(SHIPPED).model


@pytest.fixture(scope="module")
def test_set(model):
    """All 10,000 test images, labels and codes, plus a class-balanced subsample of N rows."""
    ds = load_dataset("fashion", "test")
    images, labels = ds.images.numpy(), ds.labels.numpy()
    codes = encode(model, images)
    idx = projection.subsample(labels, N, seed=0)
    return {"images": images, "labels": labels, "codes": codes, "idx": idx}


@pytest.fixture(scope="module")
def maps(test_set) -> dict[str, projection.Projection]:
    codes = test_set["codes"][test_set["idx"]]
    return {m: projection.project(codes, m, seed=0) for m in projection.METHODS}


def test_every_method_gives_finite_coordinates(maps, test_set):
    assert set(maps) >= {"pca", "kpca", "tsne", "isomap", "lle"}
    for name, p in maps.items():
        assert p.method == name and p.coords.shape == (N, 2) and p.coords.dtype == np.float32
        assert np.isfinite(p.coords).all() and p.coords.std(0).min() > 0, name
        assert 0 < p.seconds < 60
        np.testing.assert_array_equal(p.codes, test_set["codes"][test_set["idx"]])


def test_projections_are_deterministic(test_set, maps):
    codes = test_set["codes"][test_set["idx"]]
    for name in ("kpca", "lle", "isomap"):  # eigensolvers: equal up to float rounding
        again = projection.project(codes, name, seed=0).coords
        np.testing.assert_allclose(again, maps[name].coords, atol=1e-4 * np.abs(again).max())
    a, b = (projection.project(codes[:150], "tsne", seed=5).coords for _ in range(2))
    np.testing.assert_array_equal(a, b)


def test_umap_is_optional(test_set):
    codes = test_set["codes"][:100]
    if projection.umap_available():
        assert projection.project(codes, "umap").coords.shape == (100, 2)
    else:
        assert "umap" not in projection.METHODS
        with pytest.raises(FmaeError, match="umap-learn"):
            projection.project(codes, "umap")


def test_bad_inputs_raise_clear_errors(test_set):
    with pytest.raises(FmaeError, match="unknown projection"):
        projection.project(test_set["codes"][:100], "pcaa")
    with pytest.raises(FmaeError, match="at least 30 codes"):
        projection.project(test_set["codes"][:10], "pca")
    with pytest.raises(FmaeError, match="between 1 and 10000"):
        projection.subsample(test_set["labels"], 0)


def test_trustworthiness_equals_sklearn(test_set, maps):
    codes = test_set["codes"][test_set["idx"]]
    rng = np.random.default_rng(0)
    for coords in (maps["pca"].coords, maps["tsne"].coords, rng.normal(size=(N, 2)), codes[:, :2]):
        ours = map_scores.trustworthiness(codes, coords, k=10)
        assert ours == pytest.approx(sk_trustworthiness(codes, coords, n_neighbors=10), abs=1e-12)
    assert map_scores.trustworthiness(codes[:, :2], codes[:, :2]) == pytest.approx(1.0)


def test_knn_accuracy_equals_brute_force(test_set):
    x, y = test_set["codes"][test_set["idx"]], test_set["labels"][test_set["idx"]]
    correct = 0
    for train, held in KFold(5, shuffle=True, random_state=0).split(x):
        d = ((x[held, None, :] - x[None, train, :]) ** 2).sum(-1)
        votes = y[train][np.argsort(d, axis=1)[:, :5]]
        pred = np.array([np.bincount(v, minlength=10).argmax() for v in votes])  # ties: lowest label
        correct += int((pred == y[held]).sum())
    assert map_scores.knn_accuracy(x, y) == correct / N


def test_scores_in_range_and_ordered(maps, test_set):
    codes, labels = test_set["codes"][test_set["idx"]], test_set["labels"][test_set["idx"]]
    scores = {name: map_scores.score(codes, p.coords, labels) for name, p in maps.items()}
    for s in scores.values():
        assert set(s) == {"trustworthiness", "knn2d_acc", "knn_latent_acc"}
        assert all(0.0 <= v <= 1.0 for v in s.values())
    assert scores["pca"]["knn_latent_acc"] > 0.6  # 10 classes: chance is 0.1
    # t-SNE keeps neighbourhoods: better than the linear map on both neighbourhood scores
    assert scores["tsne"]["trustworthiness"] > scores["pca"]["trustworthiness"] + 0.03
    assert scores["tsne"]["knn2d_acc"] > scores["pca"]["knn2d_acc"] + 0.05


def test_fast_tsne_keeps_default_quality(test_set):
    codes = test_set["codes"][test_set["idx"][::2]]  # 200 points keep sklearn's 1000 iterations short
    with threadpool_limits(1, user_api="openmp"):  # two threads only spin at this size
        default = TSNE(2, random_state=0).fit_transform(codes)
    fast = projection.project(codes, "tsne", seed=0).coords
    assert map_scores.trustworthiness(codes, fast) >= map_scores.trustworthiness(codes, default) - 0.01


def test_fast_tsne_private_knob_still_shortens_early_exaggeration(test_set, capsys):
    """fmae's fast t-SNE sets scikit-learn's private ``_EXPLORATION_MAX_ITER`` (no public parameter
    sets the length of the early-exaggeration phase). The day a scikit-learn release renames or
    ignores it, t-SNE silently gets slower (250 exaggerated iterations instead of 100): this test
    reads sklearn's own log of that phase and fails loudly then."""
    from fmae.latent.methods import TSNE_EXAGGERATION_ITERS, _fast_tsne_class

    codes = test_set["codes"][test_set["idx"][:120]].astype(np.float32)
    tsne = _fast_tsne_class()(2, perplexity=20.0, max_iter=250, init="random", random_state=0, verbose=2)
    with threadpool_limits(1, user_api="openmp"):
        tsne.fit_transform(codes)
    log = capsys.readouterr().out
    assert TSNE_EXAGGERATION_ITERS < 250
    assert f"KL divergence after {TSNE_EXAGGERATION_ITERS} iterations with early exaggeration" in log, (
        "scikit-learn no longer honours TSNE._EXPLORATION_MAX_ITER: fmae's fast t-SNE lost its speed-up "
        "(see fmae/latent/methods.py)\n" + log[-2000:]
    )


def test_place_transforms_exactly_for_pca_and_kpca(maps, test_set):
    codes = test_set["codes"][test_set["idx"]]
    new = test_set["codes"][:7]  # not necessarily in the map
    for name in ("pca", "kpca"):
        np.testing.assert_allclose(
            projection.place(maps[name], None, codes[:20]), maps[name].coords[:20], atol=1e-4
        )
    kpca = KernelPCA(2, kernel="rbf", gamma=float(maps["kpca"].state["gamma"]), random_state=0)
    expected = kpca.fit(codes.astype(np.float64)).transform(new.astype(np.float64))
    got = projection.place(maps["kpca"], None, new)
    signs = np.sign((expected * got).sum(0))  # eigenvectors are defined up to sign
    np.testing.assert_allclose(got, expected * signs, atol=1e-5)


def test_place_from_neighbours(maps, test_set):
    p, codes = maps["tsne"], test_set["codes"][test_set["idx"]]
    np.testing.assert_allclose(projection.place(p, codes, codes[3]), p.coords[3:4], atol=1e-5)
    new = test_set["codes"][9999]
    d = np.linalg.norm(codes - new, axis=1)
    nb = np.argsort(d)[:5]
    w = 1 / d[nb]
    expected = (w[:, None] * p.coords[nb]).sum(0) / w.sum()
    np.testing.assert_allclose(projection.place(p, None, new)[0], expected, rtol=1e-4)
    with pytest.raises(ValueError, match="one row per map point"):
        projection.place(p, codes[:10], new)


def test_a_sketch_lands_among_its_class(model, maps, test_set):
    """Shifted, noisy test images (not on the map) land among their class's points on every map."""
    rng = np.random.default_rng(1)
    held_out = np.setdiff1d(np.arange(10000), test_set["idx"])
    labels = test_set["labels"]
    picks = np.concatenate(
        [rng.choice(held_out[labels[held_out] == c], 10, replace=False) for c in range(10)]
    )
    sketches = np.roll(test_set["images"][picks].astype(np.float32) / 255, 1, axis=2)  # 1 pixel right
    sketches = np.clip(sketches + rng.normal(0, 0.05, sketches.shape), 0, 1)  # a drawing is never exact
    sketch_codes = encode(model, sketches)
    map_labels = labels[test_set["idx"]]
    share = {}
    for name, p in maps.items():
        xy = projection.place(p, None, sketch_codes)  # (100, 2)
        near = np.argsort(np.linalg.norm(p.coords[None] - xy[:, None], axis=2), axis=1)[:, :10]
        share[name] = float(np.mean(map_labels[near] == labels[picks][:, None]))
    # Chance is 0.1 (balanced classes): every map does at least twice that, t-SNE three times.
    assert min(share.values()) > 0.2 and share["tsne"] > 0.3, share


def test_subsample_is_balanced_nested_and_deterministic(test_set):
    labels = test_set["labels"]
    a = projection.subsample(labels, 500, seed=3)
    assert len(np.unique(a)) == 500 and np.all(np.diff(a) > 0)
    assert np.abs(np.bincount(labels[a], minlength=10) - 50).max() <= 1
    np.testing.assert_array_equal(a, projection.subsample(labels, 500, seed=3))
    assert set(projection.subsample(labels, 200, seed=3)) <= set(a)
    assert not np.array_equal(a, projection.subsample(labels, 500, seed=4))


@pytest.fixture()
def checkpoint(model, tmp_path):
    return save_checkpoint(model, tmp_path / "ckpt", {"dataset": "fashion"})


def test_cache_hits_in_memory_and_evicts(test_set):
    cache = EmbeddingCache(max_items=2)
    args = (test_set["codes"], test_set["labels"])
    first = cache.get_or_compute("id", "pca", *args, n=300, seed=0)
    start = time.perf_counter()
    assert cache.get_or_compute("id", "pca", *args, n=300, seed=0) is first
    assert time.perf_counter() - start < 0.01
    assert first.indices is not None and set(first.scores) == {
        "trustworthiness",
        "knn2d_acc",
        "knn_latent_acc",
    }
    cache.get_or_compute("id", "kpca", *args, n=300, seed=0)
    cache.get_or_compute("id", "pca", *args, n=300, seed=1)  # a third key evicts the oldest
    assert len(cache) == 2 and cache.get(("id", "pca", 300, 0)) is None


def test_disk_round_trip_without_pickle(checkpoint, test_set):
    ckpt_id = checkpoint_id(checkpoint)
    cache = EmbeddingCache()
    args = (test_set["codes"], test_set["labels"])
    made = cache.get_or_compute(ckpt_id, "kpca", *args, 300, 2, checkpoint, save=True)
    path = embedding_path(checkpoint, "kpca", 300, 2)
    assert path.name == "embeddings_kpca_300_2.npz"
    with np.load(path, allow_pickle=False) as f:
        assert all(f[k].dtype != object for k in f.files)
    loaded = EmbeddingCache().lookup(ckpt_id, "kpca", 300, 2, checkpoint)
    assert loaded is not made
    np.testing.assert_array_equal(loaded.coords, made.coords)
    np.testing.assert_array_equal(loaded.indices, made.indices)
    assert loaded.scores == made.scores and loaded.seconds == made.seconds
    new = test_set["codes"][:5]
    np.testing.assert_allclose(
        projection.place(loaded, None, new), projection.place(made, None, new), atol=1e-6
    )
    assert EmbeddingCache().lookup("other-weights", "kpca", 300, 2, checkpoint) is None  # stale
    path.write_bytes(b"not an npz")
    with pytest.raises(CheckpointError, match="not a valid embeddings file"):
        load_projection(path)
    redo = EmbeddingCache().get_or_compute(ckpt_id, "kpca", *args, 300, 2, checkpoint, save=True)
    np.testing.assert_allclose(redo.coords, made.coords, atol=1e-5)  # a bad file is a miss, rewritten
    assert load_projection(path)[1] == ckpt_id


def test_precompute_ships_maps_and_points(checkpoint, model, test_set):
    assert checkpoint_id(checkpoint) == model_fingerprint(model)
    made = precompute(
        checkpoint, test_set["codes"], test_set["labels"], ["pca", "lle"], 300, 1, test_set["images"]
    )
    cache = EmbeddingCache()
    for p in made:
        start = time.perf_counter()
        got = cache.lookup(checkpoint_id(checkpoint), p.method, 300, 1, checkpoint)
        assert time.perf_counter() - start < 0.5
        np.testing.assert_array_equal(got.coords, p.coords)
        assert got.scores == p.scores
    points = load_points(checkpoint, 300, 1)
    np.testing.assert_array_equal(points["indices"], made[0].indices)
    np.testing.assert_array_equal(points["images"], test_set["images"][made[0].indices])
    assert load_points(checkpoint, 999, 1) is None


def test_interpolation_endpoints_are_reconstructions(model, test_set):
    a, b = test_set["images"][0], test_set["images"][1]
    strip = interpolate(model, a, b, steps=6)
    assert strip.shape == (6, 28, 28) and strip.min() >= 0 and strip.max() <= 1
    with torch.inference_mode():
        recon = model(torch.from_numpy(np.stack([a, b])).float().div(255).unsqueeze(1))[:, 0].numpy()
    np.testing.assert_allclose(strip[0], recon[0], atol=1e-6)
    np.testing.assert_allclose(strip[-1], recon[1], atol=1e-6)
    assert np.abs(strip[2] - strip[0]).mean() > 0.01  # the middle is neither endpoint


def test_principal_directions_and_walk(model, test_set):
    codes = test_set["codes"]
    mean, comps, stds = principal_directions(codes, 3)
    np.testing.assert_allclose(comps @ comps.T, np.eye(3), atol=1e-5)
    np.testing.assert_allclose(stds, ((codes - mean) @ comps.T).std(0, ddof=1), rtol=1e-4)
    assert np.all(np.diff(stds) <= 0)
    with torch.inference_mode():
        at_mean = model.decode(torch.from_numpy(mean[None]))[0, 0].numpy()
        moved = model.decode(torch.from_numpy((mean + 2 * stds[0] * comps[0])[None]))[0, 0].numpy()
    np.testing.assert_allclose(walk(model, mean, comps, stds, [0, 0, 0]), at_mean, atol=1e-6)
    np.testing.assert_allclose(walk(model, mean, comps, stds, [2, 0, 0]), moved, atol=1e-6)


def test_nearest_matches_brute_force(test_set):
    codes = test_set["codes"]
    got = nearest(codes, codes[42], k=5)
    assert got[0] == 42
    np.testing.assert_array_equal(got, np.argsort(np.linalg.norm(codes - codes[42], axis=1))[:5])


def test_figure_and_plot_data(maps):
    scores = {"trustworthiness": 0.9876, "knn2d_acc": 0.71, "knn_latent_acc": 0.8}
    chosen = [maps["pca"], dataclasses.replace(maps["tsne"], scores=scores)]
    drawing = {"tsne": np.array([1.0, 2.0])}
    fig = embedding_figure(chosen, FASHION_CLASSES, drawing)
    titles = [ax.get_title() for ax in fig.axes]
    assert len(titles) == 2 and titles[0].startswith("PCA · ") and "trust 0.988" in titles[1]
    legend = [t.get_text() for t in fig.legends[0].get_texts()]
    assert legend == [*FASHION_CLASSES, DRAWING_LABEL]
    rows = scatter_records(chosen[1], FASHION_CLASSES, drawing["tsne"])
    assert len(rows) == N + 1 and rows[-1] == {"x": 1.0, "y": 2.0, "class": DRAWING_LABEL, "index": -1}
    assert rows[0]["class"] in FASHION_CLASSES and rows[0]["x"] == pytest.approx(
        float(chosen[1].coords[0, 0])
    )
    frame = scatter_frame(chosen[0], FASHION_CLASSES)
    assert list(frame.columns) == ["x", "y", "class", "index"] and len(frame) == N
