"""Codes no projection can map (collapsed, non-finite, too few distinct, 1-D) and projection
methods that fail, crash or run too long (issue 13, part 1).

Every refusal is an ``fmae.latent.ProjectionError`` (an FmaeError) whose message says what is
wrong: with the model (``UnusableCodesError``) or with one method (the message names it).
Crash-prone native code runs in ``fmae.latent.ProjectionWorker``: a crash or a time limit ends
that one call, and the next call gets a fresh worker. Tests that would kill pytest itself on a
regression (the t-SNE segfault) run the library in a child process.
"""

from __future__ import annotations

import ctypes
import functools
import os
import re
import signal
import subprocess
import sys
import threading
from pathlib import Path

import numpy as np
import pytest
from proctools import gone, wait_for_cpu

from fmae.errors import FmaeError
from fmae.latent import (
    METHODS,
    MIN_DISTINCT,
    ProjectionError,
    ProjectionWorker,
    UnusableCodesError,
    compute,
    encode,
    load_projection,
    place,
    project,
    save_projection,
    subsample,
    worker_pids,
)
from fmae.latent import methods as projection_module
from fmae.models import MLPAutoEncoder, load_checkpoint

ROOT = Path(__file__).resolve().parents[1]
SHIPPED = ROOT / "checkpoints" / "fashion-mlp"
ALL = list(METHODS)
RNG = np.random.default_rng(0)


def few_distinct(k: int, n: int = 500, dim: int = 10, noise: float = 0.0) -> np.ndarray:
    """``n`` codes drawn from ``k`` distinct rows (plus ``noise``): a (nearly) collapsed encoder."""
    rng = np.random.default_rng(k)
    rows = rng.normal(size=(k, dim))[np.arange(n) % k]
    return (rows + noise * rng.normal(size=rows.shape)).astype(np.float32)


@pytest.fixture(scope="module")
def real_codes() -> tuple[np.ndarray, np.ndarray]:
    """Codes (10000, 10) and labels of the Fashion-MNIST test set under the shipped MLP."""
    from fmae.data import load_dataset

    test = load_dataset("fashion", "test")
    return encode(load_checkpoint(SHIPPED).model, test.images), test.labels.numpy()


@pytest.fixture(scope="module")
def worker():
    w = ProjectionWorker(time_limit_s=120)
    yield w
    w.close()


# ------------------------------------------------------------------ the issue's examples


def test_tsne_of_constant_codes_is_an_error_not_a_segfault():
    """The issue's library example, in a child process: on today's main it dies of SIGSEGV."""
    script = (
        "import numpy as np\n"
        "from fmae.latent import project, UnusableCodesError\n"
        "try:\n"
        "    project(np.zeros((500, 10), np.float32), 'tsne')\n"
        "except UnusableCodesError as exc:\n"
        "    print('REFUSED:', exc)\n"
    )
    cmd = [sys.executable, "-c", script]
    out = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, f"exit {out.returncode}: {out.stderr[-2000:]}"
    assert "REFUSED:" in out.stdout and "collapsed" in out.stdout, out.stdout


@pytest.mark.parametrize("method", ["kpca", "isomap", "pca", "lle"])
def test_constant_codes_are_refused_with_what_is_wrong_with_the_model(method):
    with pytest.raises(UnusableCodesError, match="collapsed") as info:
        project(np.zeros((500, 10), np.float32), method)
    assert "all 500 codes are the same" in str(info.value)
    assert "Arpack" not in str(info.value)


def test_latent_size_1_gets_a_strip_from_every_method():
    codes = RNG.normal(size=(400, 1)).astype(np.float32)
    labels = np.arange(400) % 10
    for method in ALL:
        p = project(codes, method, seed=0)
        assert p.coords.shape == (400, 2) and np.isfinite(p.coords).all(), method
        # x is the code itself (centred), y a small seeded jitter: the map keeps the codes' order
        np.testing.assert_allclose(p.coords[:, 0], codes[:, 0] - codes[:, 0].mean(), atol=1e-5)
        assert 0 < p.coords[:, 1].std() < 0.2 * p.coords[:, 0].std()
        np.testing.assert_allclose(place(p, None, codes[7]), [[p.coords[7, 0], 0.0]], atol=1e-5)
    mapped = compute(codes, labels, "tsne", n=400)
    assert mapped.scores["trustworthiness"] > 0.95  # a strip keeps 1-D neighbourhoods


def test_a_strip_round_trips_through_its_npz_file(tmp_path):
    codes = RNG.normal(size=(300, 1)).astype(np.float32)
    made = compute(codes, np.arange(300) % 10, "kpca", n=300, seed=2)
    assert made.is_strip
    path = save_projection(tmp_path / "strip.npz", made, "some-weights")
    loaded, _ = load_projection(path)
    assert loaded.is_strip
    np.testing.assert_array_equal(loaded.coords, made.coords)
    np.testing.assert_allclose(place(loaded, None, codes[:4]), place(made, None, codes[:4]))


# ------------------------------------------------------------------ neighbours of the examples


@pytest.mark.parametrize(
    ("codes", "match"),
    [
        (np.full((500, 10), 3.25, np.float32), "all 500 codes are the same"),
        (np.zeros((500, 1), np.float32), "all 500 codes are the same"),
        ((RNG.normal(size=(500, 10)) * 1e-12).astype(np.float32), "collapsed"),
        ((5 + RNG.normal(size=(500, 10)) * 1e-9).astype(np.float32), "collapsed"),
        (few_distinct(3), "only 3 different codes among 500"),
        (few_distinct(3, noise=1e-9), "only 3 different codes among 500"),
        (few_distinct(MIN_DISTINCT - 1, n=2000), f"only {MIN_DISTINCT - 1} different codes among 2000"),
    ],
    ids=["constant", "constant-1d", "spread-1e-12", "offset-plus-1e-9", "3-rows", "3-rows-noisy", "few-rows"],
)
def test_collapsed_codes_are_refused_for_every_method(codes, match):
    for method in ALL:
        with pytest.raises(UnusableCodesError, match=match) as info:
            project(codes, method)
        assert "collapsed" in str(info.value)


@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
def test_non_finite_codes_are_refused(bad):
    codes = RNG.normal(size=(500, 10)).astype(np.float32)
    codes[[3, 17], 2] = bad
    for method in ALL:
        with pytest.raises(UnusableCodesError, match="2 of the 500 codes contain NaN or infinite values"):
            project(codes, method)


def test_codes_too_large_to_map_are_refused():
    codes = (RNG.normal(size=(500, 10)) * 1e30).astype(np.float32)
    for method in ALL:
        with pytest.raises(UnusableCodesError, match="diverged"):
            project(codes, method)


def test_too_few_codes_and_bad_shapes_are_refused():
    with pytest.raises(UnusableCodesError, match="at least 30 codes"):
        project(RNG.normal(size=(29, 10)), "tsne")
    with pytest.raises(UnusableCodesError, match=r"\(N, latent\)"):
        project(RNG.normal(size=(500,)), "pca")
    with pytest.raises(UnusableCodesError, match=r"\(N, latent\)"):
        project(np.zeros((500, 0)), "pca")


@pytest.mark.parametrize(
    "codes",
    [
        RNG.normal(size=(30, 10)).astype(np.float32),  # the fewest codes a map takes
        RNG.normal(size=(400, 2)).astype(np.float32),  # latent size 2
        few_distinct(MIN_DISTINCT, n=600),  # just enough distinct codes, many duplicates
        (RNG.normal(size=(400, 10)) * 1e-4).astype(np.float32),  # small but real spread
        (RNG.normal(size=(400, 10)) * 1e6).astype(np.float32),  # large but finite
        (1e5 + RNG.normal(size=(400, 10))).astype(np.float32),  # far from the origin
        np.concatenate([RNG.normal(size=(400, 3)), np.zeros((400, 7))], 1).astype(np.float32),  # dead units
    ],
    ids=["n30", "latent2", "just-enough-distinct", "small-spread", "large-spread", "offset", "dead-units"],
)
def test_borderline_codes_get_finite_maps_from_every_method(codes):
    for method in ALL:
        p = project(codes, method, seed=0)
        assert p.coords.shape == (len(codes), 2) and np.isfinite(p.coords).all(), method
        assert p.coords.std(0).max() > 0, method
        assert np.isfinite(place(p, None, codes[:3])).all(), method


def test_codes_on_a_line_get_a_strip_along_it():
    """10-D codes that vary along one direction only (rank 1) map like 1-D codes."""
    t = RNG.normal(size=(400, 1))
    direction = RNG.normal(size=(1, 10))
    codes = (2.0 + t @ direction).astype(np.float32)
    for method in ALL:
        p = project(codes, method)
        assert np.isfinite(p.coords).all()
        assert abs(np.corrcoef(p.coords[:, 0], t[:, 0])[0, 1]) > 0.999, method


def test_tsne_start_layout_is_sklearns_pca_init_and_always_finite(real_codes):
    codes = real_codes[0][:300]
    ours = project(codes, "tsne", seed=0).coords
    fast = projection_module._fast_tsne_class()
    centred = (codes.astype(np.float64) - codes.astype(np.float64).mean(0)).astype(np.float32)
    theirs = fast(
        2, perplexity=30.0, learning_rate=max(300 / 12.0, 50.0), max_iter=projection_module.TSNE_MAX_ITER,
        angle=projection_module.TSNE_ANGLE, init="pca", random_state=0,
    ).fit_transform(centred)  # fmt: skip
    np.testing.assert_array_equal(ours, theirs)
    for codes in (few_distinct(MIN_DISTINCT, n=300), np.repeat(np.eye(2, 10), 150, axis=0) + 0.0):
        init = projection_module.tsne_init(codes.astype(np.float32), seed=0)
        assert init.shape == (len(codes), 2) and np.isfinite(init).all() and init.std() > 0


@pytest.mark.parametrize("method", ALL)
def test_every_exception_of_a_method_becomes_our_error_naming_it(monkeypatch, method):
    from scipy.sparse.linalg import ArpackError

    spec = METHODS[method]
    for exc in (ArpackError(-9), ValueError("n_components=2 must be between 0 and 1"), MemoryError()):

        def fail(codes, seed, exc=exc):
            raise exc

        failing = projection_module.Method(spec.name, spec.label, fail, spec.transform)
        monkeypatch.setitem(METHODS, method, failing)
        with pytest.raises(ProjectionError, match=re.escape(spec.label)) as info:
            project(RNG.normal(size=(100, 10)), method)
        assert not isinstance(info.value, UnusableCodesError) and isinstance(info.value, FmaeError)


def test_a_method_that_returns_non_finite_coordinates_is_our_error(monkeypatch):
    spec = METHODS["lle"]
    nan_fit = projection_module.Method("lle", spec.label, lambda c, s: (np.full((len(c), 2), np.nan), {}))
    monkeypatch.setitem(METHODS, "lle", nan_fit)
    with pytest.raises(ProjectionError, match="LLE produced no finite 2-D map"):
        project(RNG.normal(size=(100, 10)), "lle")


# ------------------------------------------------------------------ the collapsed model itself


def collapsed_model(latent: int = 10) -> MLPAutoEncoder:
    """An MLP whose last encoder layer is all zeros: every image gets the same code."""
    import torch

    model = MLPAutoEncoder(hidden_dim=16, latent_dim=latent)
    with torch.no_grad():
        model.encoder[-1].weight.zero_()
        model.encoder[-1].bias.fill_(0.5)
    return model.eval()


def test_a_model_with_zeroed_encoder_output_is_refused(real_codes):
    from fmae.data import load_dataset

    images = load_dataset("fashion", "test").images[:2000]
    codes = encode(collapsed_model(), images)
    labels = real_codes[1][:2000]
    for method in ALL:
        with pytest.raises(UnusableCodesError, match="collapsed"):
            compute(codes, labels, method, n=500)


def test_the_issue_train_settings_give_a_clear_message(worker):
    """fashion, mlp, lr 0.1, hidden 16, batch 16, 1,000 images, 1 epoch, seed 0 (seconds to train)."""
    from fmae.data import load_dataset
    from fmae.training import TrainConfig, train_to_end

    train, test = load_dataset("fashion", "train"), load_dataset("fashion", "test")
    config = TrainConfig(
        dataset="fashion", model="mlp", lr=0.1, hidden_dim=16, batch_size=16, train_limit=1000, epochs=1,
        seed=0, device="cpu",
    )  # fmt: skip
    model = train_to_end(config, train, test).model
    codes, labels = encode(model, test.images), test.labels.numpy()
    for method in ("tsne", "kpca", "isomap"):
        with pytest.raises(UnusableCodesError, match="collapsed"):
            worker.compute(codes, labels, method, n=2000, seed=0)
    assert worker.project(np.random.default_rng(0).normal(size=(100, 10)), "pca").coords.shape == (100, 2)


# ------------------------------------------------------------------ the worker process


def test_worker_gives_the_same_maps_as_in_process(worker, real_codes):
    codes, labels = real_codes
    for method in ("pca", "kpca", "tsne"):
        here = compute(codes, labels, method, n=300, seed=1)
        there = worker.compute(codes, labels, method, n=300, seed=1)
        np.testing.assert_array_equal(there.coords, here.coords)
        np.testing.assert_array_equal(there.indices, here.indices)
        assert there.scores == here.scores and there.method == method
    assert worker.pid in worker_pids() and worker.pid != os.getpid()


def test_worker_passes_our_errors_through(worker):
    with pytest.raises(UnusableCodesError, match="collapsed"):
        worker.project(np.zeros((500, 10), np.float32), "tsne")
    with pytest.raises(ProjectionError, match="unknown projection"):
        worker.project(RNG.normal(size=(100, 10)), "pcaa")


def test_a_crash_in_the_worker_ends_that_call_only():
    with ProjectionWorker(time_limit_s=120) as w:
        first = w.start()
        with pytest.raises(ProjectionError, match=r"segfault: the projection worker crashed \(SIGSEGV\)"):
            w.call(functools.partial(ctypes.string_at, 0), label="segfault")
        p = w.project(RNG.normal(size=(100, 10)), "tsne")  # a fresh worker takes the next call
        assert p.coords.shape == (100, 2) and w.pid not in (None, first)
        assert gone(first)


def test_a_runaway_projection_hits_the_time_limit_and_the_next_call_works(real_codes):
    codes = real_codes[0][:4000]
    with ProjectionWorker(time_limit_s=0.5) as w:
        first = w.start()
        with pytest.raises(ProjectionError, match=r"t-SNE of 4000 codes took longer than the 0\.5 s"):
            w.project(codes, "tsne")
        assert gone(first)  # the runaway computation was killed, not left running
        assert w.project(codes[:200], "pca").coords.shape == (200, 2)
        assert w.pid != first


def test_killing_the_worker_mid_computation_is_a_clear_error(real_codes):
    codes = real_codes[0][:5000]
    with ProjectionWorker(time_limit_s=300) as w:
        pid = w.start()
        errors: list[BaseException] = []

        def run() -> None:
            try:
                w.project(codes, "tsne")
            except BaseException as exc:  # the test inspects it
                errors.append(exc)

        thread = threading.Thread(target=run)
        thread.start()
        wait_for_cpu(pid)  # t-SNE is running in the worker
        os.kill(pid, signal.SIGKILL)
        thread.join(120)
        assert len(errors) == 1 and isinstance(errors[0], ProjectionError), errors
        assert "t-SNE of 5000 codes: the projection worker crashed (SIGKILL)" in str(errors[0])
        assert w.project(codes[:100], "pca").coords.shape == (100, 2)


def test_a_worker_that_died_while_idle_is_replaced_without_an_error():
    with ProjectionWorker(time_limit_s=120) as w:
        first = w.start()
        os.kill(first, signal.SIGKILL)  # out of memory, say, between two visitors
        assert gone(first)
        assert w.project(RNG.normal(size=(100, 10)), "pca").coords.shape == (100, 2)
        assert w.pid not in (None, first)


def test_the_worker_is_warm_and_reused(worker):
    pid = worker.start()
    for _ in range(3):
        worker.project(RNG.normal(size=(100, 10)), "pca")
    assert worker.pid == pid


def test_subsample_then_checks_use_the_mapped_rows_only():
    """A model whose codes are fine on the mapped rows is not refused for rows it does not map."""
    codes = RNG.normal(size=(1000, 10)).astype(np.float32)
    labels = np.arange(1000) % 10
    idx = subsample(labels, 500, seed=0)
    codes[np.setdiff1d(np.arange(1000), idx)] = np.nan
    assert np.isfinite(compute(codes, labels, "pca", n=500, seed=0).coords).all()
