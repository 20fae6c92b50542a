"""fmae.images on photos of drawings: a phone photo of a drawing gives the model input its clean
rendering gives (EXIF orientation, uneven light, shadows, the desk at the edge, noise, ...).

The corpus is ``benchmarks/photo_corpus.py``'s (real test images rendered big on paper, one defect
kind per photo); ``benchmarks/photo_fidelity.py`` measures the same on 50 images per kind.
"""

from __future__ import annotations

import io
import sys
from functools import cache
from pathlib import Path

import numpy as np
import pytest
from PIL import Image, ImageDraw

from fmae.errors import DataUnavailableError, InputImageError
from fmae.images import EmptySketchError, ink_from_image, load_upload, orient, preprocess, to_model_input

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "benchmarks"))
import photo_corpus as pc  # noqa: E402 - benchmarks/photo_corpus.py: the corpus the benchmark measures

N_PER_KIND = 6  # test images per dataset and kind here (the benchmark uses 50)
MIN_MEDIAN = 0.9  # the bar: median correlation with the clean rendering, per kind


def encode(img: Image.Image, fmt: str = "PNG", **kwargs) -> bytes:
    buf = io.BytesIO()
    img.save(buf, fmt, **kwargs)
    return buf.getvalue()


def corr(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.corrcoef(a.ravel(), b.ravel())[0, 1])


def _sheet(size=(900, 700)) -> np.ndarray:
    """An asymmetric drawing on a sheet: ink (H, W) float32 in [0, 1]."""
    img = Image.new("L", size, 0)
    d = ImageDraw.Draw(img)
    d.ellipse([(300, 250), (560, 520)], outline=255, width=26)
    d.line([(280, 385), (600, 385)], fill=255, width=20)
    d.line([(430, 385), (640, 600)], fill=255, width=20)
    d.rectangle([(330, 180), (380, 260)], fill=160)  # a grey patch: intensities matter too
    return np.asarray(img, np.float32) / 255


def _photo(ink: np.ndarray, light: np.ndarray | float = 1.0) -> Image.Image:
    """Black ink on white paper under ``light`` (H, W) in [0, 1]."""
    return Image.fromarray(np.clip(255 * (1 - ink) * light + 0.5, 0, 255).astype(np.uint8)).convert("RGB")


# ---------------------------------------------------------------- the two examples


@pytest.mark.parametrize("orientation", [6, 3, 8])
@pytest.mark.parametrize("dataset", ["mnist", "fashion"])
def test_exif_orientation_is_applied(orientation, dataset):
    """A phone JPEG stores its pixels sideways and says so in EXIF: the model must see it upright."""
    upright = _photo(_sheet())
    stored = upright.transpose(pc.STORE_FOR_TAG[orientation])
    tags = Image.Exif()
    tags[pc.ORIENTATION_TAG] = orientation
    phone = encode(stored, "JPEG", quality=92, exif=tags)
    assert load_upload(phone).size == upright.size
    want = preprocess(encode(upright), dataset)
    got = preprocess(phone, dataset)
    assert corr(got, want) > 0.98 and np.abs(got - want).mean() < 0.02


def _gradient(shape: tuple[int, int], low: float) -> np.ndarray:
    """Paper brightness falling linearly from 100% (left) to ``low`` (right)."""
    return np.broadcast_to(np.linspace(1.0, low, shape[1], dtype=np.float32), shape)


@pytest.mark.parametrize("dataset", ["mnist", "fashion"])
def test_uneven_light_100_to_78_percent_keeps_the_drawing(dataset):
    """The darker paper must not become ink: the drawing keeps its size and place in the 28x28."""
    ink = _sheet()
    want = preprocess(encode(_photo(ink)), dataset)
    got = preprocess(encode(_photo(ink, _gradient(ink.shape, 0.78))), dataset)
    assert corr(got, want) > 0.97 and np.abs(got - want).mean() < 0.03
    rows, cols = np.flatnonzero((got > 0.2).any(axis=1)), np.flatnonzero((got > 0.2).any(axis=0))
    want_rows, want_cols = np.flatnonzero((want > 0.2).any(axis=1)), np.flatnonzero((want > 0.2).any(axis=0))
    assert abs(len(rows) - len(want_rows)) <= 1 and abs(len(cols) - len(want_cols)) <= 1


def test_uneven_light_on_white_ink_on_a_dark_board():
    """Chalk on a board lit from one side: polarity is decided, then the light is divided out."""
    ink = _sheet()
    board = 0.15 + 0.85 * ink  # white ink on a dark board
    light = _gradient(ink.shape, 0.6)
    photo = Image.fromarray(np.clip(255 * board * light + 0.5, 0, 255).astype(np.uint8))
    want = preprocess(encode(_photo(ink)), "fashion")
    assert corr(preprocess(encode(photo), "fashion"), want) > 0.97


def _blank(kind: str) -> np.ndarray:
    """A sheet with nothing on it, photographed with one defect: (H, W) brightness in [0, 1]."""
    shape = (700, 900)
    ys, xs = np.mgrid[: shape[0], : shape[1]].astype(np.float32)
    if kind == "gradient":
        return _gradient(shape, 0.6)
    if kind == "vignette":
        return 1 - 0.4 * ((ys - 350) ** 2 + (xs - 450) ** 2) / (350**2 + 450**2)
    if kind == "shadow":
        return 1 - 0.4 / (1 + np.exp(-(xs + ys - 1100) / 20))
    return 0.9 + 0.03 * np.random.default_rng(0).standard_normal(shape)  # noise


@pytest.mark.parametrize("kind", ["gradient", "vignette", "shadow", "noise"])
def test_a_blank_sheet_in_uneven_light_has_no_ink(kind):
    """Light falling off, a shadow or noise on an empty page are no drawing."""
    photo = Image.fromarray(np.clip(255 * _blank(kind) + 0.5, 0, 255).astype(np.uint8))
    with pytest.raises(EmptySketchError, match="No ink"):
        preprocess(encode(photo), "fashion")


def test_specks_and_the_desk_do_not_move_the_crop():
    """Dust across the page and the desk along two edges: the crop is the drawing's."""
    ink = _sheet()
    want = preprocess(encode(_photo(ink)), "mnist")
    page = np.asarray(_photo(ink).convert("L")).copy()
    page[:, :70] = 60  # the desk on the left
    page[640:, :] = 90  # ... and at the bottom
    rng = np.random.default_rng(1)
    for y, x in zip(rng.integers(20, 620, 30), rng.integers(90, 880, 30), strict=True):
        if ink[max(y - 30, 0) : y + 30, max(x - 30, 0) : x + 30].max() == 0:  # dust on bare paper
            page[y : y + 3, x : x + 3] = 40
    got = preprocess(encode(Image.fromarray(page)), "mnist")
    assert corr(got, want) > 0.99


SMALL_OR_ODD = {
    "8x8-black": np.zeros((8, 8), np.uint8),
    "8x8-noise": np.random.default_rng(0).integers(0, 256, (8, 8), dtype=np.uint8),
    "8x1500-strip": np.tile(np.where(np.arange(1500) % 300 < 20, 0, 255).astype(np.uint8), (8, 1)),
    "1000x9-ramp": np.tile(np.linspace(0, 255, 9).astype(np.uint8), (1000, 1)),
    "checkerboard": (((np.indices((64, 64)).sum(axis=0) // 4) % 2) * 255).astype(np.uint8),
    "half-black": np.repeat(np.where(np.arange(64) < 32, 0, 255).astype(np.uint8)[None], 48, axis=0),
}


@pytest.mark.parametrize("name", sorted(SMALL_OR_ODD))
def test_small_or_odd_pictures_give_an_input_or_a_clear_error(name):
    for value in (encode(Image.fromarray(SMALL_OR_ODD[name])), SMALL_OR_ODD[name].astype(np.float32) / 255):
        try:
            x = preprocess(value, "mnist")
        except InputImageError:
            continue
        assert x.shape == (28, 28) and np.isfinite(x).all() and 0 <= x.min() <= x.max() <= 1


@pytest.mark.filterwarnings("ignore:Corrupt EXIF data")
def test_broken_exif_is_ignored():
    """A photo whose EXIF block is garbage is still read, as stored."""
    jpeg = encode(_photo(_sheet()), "JPEG", quality=90, exif=b"Exif\x00\x00MM\x00*\x00\x00\x00\x08\xff\xff")
    img = Image.open(io.BytesIO(jpeg))
    assert orient(img).size == img.size
    assert preprocess(jpeg, "fashion").shape == (28, 28)


# ---------------------------------------------------------------- clean uploads are unchanged


def _clean_pages(dataset: str) -> list[bytes]:
    """Clean uploads: drawings on uniform paper, and test images rendered 7x on a white page."""
    a = (255 * _sheet()).astype(np.uint8)
    pages = [
        encode(_photo(_sheet())),
        encode(Image.fromarray(a)),  # white on black
        encode(Image.fromarray((255 - a) // 2 + 100)),  # grey ink on grey paper
    ]
    for img in _test_images(dataset)[1]:
        pages.append(encode(Image.fromarray(img)))  # the test image itself, white on black
        page = Image.new("L", (400, 360), 255)
        page.paste(Image.fromarray(255 - img).resize((196, 196), Image.Resampling.BILINEAR), (37, 61))
        pages += [encode(page), encode(page, "JPEG", quality=90)]
    return pages


@pytest.mark.parametrize("dataset", ["mnist", "fashion"])
def test_clean_uploads_give_what_the_plain_pipeline_gives(dataset):
    """On a clean upload (uniform paper, no specks) the photo steps change nothing: the input is the
    plain pipeline's (ink relative to the border's paper, cropped to all ink above 0.1)."""
    from fmae.images import convention_for

    for data in _clean_pages(dataset):
        plain = to_model_input(ink_from_image(load_upload(data)), convention_for(dataset))
        np.testing.assert_allclose(preprocess(data, dataset), plain, atol=1e-6)


# ---------------------------------------------------------------- the photo corpus, per defect kind


@cache
def _test_images(dataset: str) -> tuple[np.ndarray, np.ndarray]:
    from fmae.data import load_dataset

    try:
        images = load_dataset(dataset, "test", download=False).images.numpy()
    except DataUnavailableError as exc:  # must fail, not skip: CI provides the data
        pytest.fail(f"{dataset} test data missing: {exc}")
    picked = pc.test_indices(dataset, N_PER_KIND, len(images))
    return picked, images[picked]


@cache
def _clean_inputs(dataset: str) -> list[tuple[np.ndarray, np.ndarray]]:
    """(ink page, model input of its clean rendering) per test image."""
    out = []
    for i, img in zip(*_test_images(dataset), strict=True):
        page = pc.page_for(img, dataset, int(i))
        out.append((page, preprocess(pc.photo(page, dataset, int(i), "clean"), dataset)))
    return out


@pytest.mark.parametrize("kind", pc.DEFECTS)
@pytest.mark.parametrize("dataset", ["fashion", "mnist"])
def test_photo_fidelity_per_defect_kind(dataset, kind):
    indices, _ = _test_images(dataset)
    scores = [
        corr(preprocess(pc.photo(page, dataset, int(i), kind), dataset), want)
        for i, (page, want) in zip(indices, _clean_inputs(dataset), strict=True)
    ]
    assert np.median(scores) >= MIN_MEDIAN, np.round(scores, 3)
