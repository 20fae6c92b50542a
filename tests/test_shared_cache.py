"""Replicas of the app share computed maps through one directory (``FMAE_CACHE_DIR``), keyed by the
checkpoint's content hash."""

from __future__ import annotations

import numpy as np

from fmae.latent import EmbeddingCache


def _codes() -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(0)
    labels = np.repeat(np.arange(10), 60)
    return rng.normal(size=(600, 10)).astype(np.float32) + labels[:, None], labels


def test_two_caches_on_one_directory_share_maps(tmp_path, monkeypatch):
    monkeypatch.setenv("FMAE_CACHE_DIR", str(tmp_path / "shared"))
    first, second = EmbeddingCache(), EmbeddingCache()  # two replicas: separate memory, one directory
    assert first.shared_dir == tmp_path / "shared"
    made = first.get_or_compute("0123456789abcdef", "pca", *_codes(), n=300, seed=0)
    path = tmp_path / "shared" / "0123456789abcdef" / "embeddings_pca_300_0.npz"
    assert path.is_file() and first.shared_path("0123456789abcdef", "pca", 300, 0) == path
    found = second.lookup("0123456789abcdef", "pca", 300, 0)  # no codes needed: read, not computed
    assert found is not None and found is not made
    np.testing.assert_array_equal(found.coords, made.coords)
    assert second.lookup("fedcba9876543210", "pca", 300, 0) is None  # other weights: no entry
    assert second.lookup("0123456789abcdef", "pca", 300, 1) is None  # another seed: no entry


def test_without_the_variable_nothing_is_shared(tmp_path, monkeypatch):
    monkeypatch.delenv("FMAE_CACHE_DIR", raising=False)
    cache = EmbeddingCache()
    assert cache.shared_dir is None and cache.shared_path("id", "pca", 300, 0) is None
    cache.get_or_compute("id", "pca", *_codes(), n=300, seed=0)
    assert EmbeddingCache().lookup("id", "pca", 300, 0) is None
    explicit = EmbeddingCache(shared_dir=tmp_path)
    explicit.get_or_compute("id", "pca", *_codes(), n=300, seed=0)
    assert EmbeddingCache(shared_dir=tmp_path).lookup("id", "pca", 300, 0) is not None
