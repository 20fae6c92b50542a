"""fmae.images (sketch and upload): uploads and drawings become the 28x28 input each dataset's
convention expects."""

from __future__ import annotations

import io
import struct
import time
import zlib
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image, ImageDraw

from fmae.errors import DataUnavailableError, InputImageError
from fmae.images import (
    EmptySketchError,
    from_sketchpad,
    ink_from_image,
    load_upload,
    preprocess,
    to_model_input,
)

ROOT = Path(__file__).resolve().parents[1]
N_ROUND_TRIP = 20  # test images per dataset in the round-trip checks


def png(img: Image.Image, fmt: str = "PNG", **kwargs) -> bytes:
    buf = io.BytesIO()
    img.save(buf, fmt, **kwargs)
    return buf.getvalue()


def render_upload(img28: np.ndarray, scale: int = 7, offset=(37, 61), canvas=(400, 360)) -> bytes:
    """A dataset image (white on black, 28x28) as a large black-on-white PNG at another scale and offset."""
    big = Image.fromarray(255 - img28).resize((28 * scale, 28 * scale), Image.Resampling.BILINEAR)
    page = Image.new("L", canvas, 255)
    page.paste(big, offset)
    return png(page)


def _train_tiny_mlp(name: str) -> torch.nn.Module:
    """1 epoch of a small MLP on 12k images of the train split, single-threaded (2-core CI)."""
    from fmae.data import load_dataset
    from fmae.models import MLPAutoEncoder

    x = load_dataset(name, "train").floats()[:12000]  # (N, 1, 28, 28)
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # several threads thrash on a busy 2-core machine
    try:
        gen = torch.Generator().manual_seed(0)
        torch.manual_seed(0)
        model = MLPAutoEncoder(hidden_dim=128)
        opt = torch.optim.Adam(model.parameters(), lr=1e-3)
        for idx in torch.randperm(len(x), generator=gen).split(64):
            batch = x[idx]
            loss = torch.nn.functional.binary_cross_entropy_with_logits(model.logits(batch), batch)
            opt.zero_grad()
            loss.backward()
            opt.step()
    finally:
        torch.set_num_threads(threads)
    return model.eval()


@pytest.fixture(scope="session")
def model_for():
    """Dataset name -> a trained model: shipped ``checkpoints/<name>-conv`` if present, else a tiny MLP."""
    cache: dict[str, torch.nn.Module] = {}

    def get(name: str) -> torch.nn.Module:
        if name not in cache:
            folder = ROOT / "checkpoints" / f"{name}-conv"
            if folder.is_dir():
                from fmae.models import load_checkpoint

                cache[name] = load_checkpoint(folder).model
            else:
                cache[name] = _train_tiny_mlp(name)
        return cache[name]

    return get


def _test_images(name: str) -> np.ndarray:
    from fmae.data import load_dataset

    try:
        ds = load_dataset(name, "test", download=False)
    except DataUnavailableError as exc:  # must fail, not skip: CI provides the data
        pytest.fail(f"{name} test data missing: {exc}")
    images = ds.images.numpy()
    return images[np.linspace(0, len(images) - 1, N_ROUND_TRIP).astype(int)]


def _errors(model: torch.nn.Module, inputs: np.ndarray, targets: np.ndarray) -> np.ndarray:
    with torch.inference_mode():
        out = model(torch.from_numpy(inputs).float().reshape(-1, 1, 28, 28)).numpy().reshape(-1, 28, 28)
    return ((out - targets) ** 2).mean(axis=(1, 2))


def _round_trip(name: str, model: torch.nn.Module, max_mse: float, min_corr: float) -> np.ndarray:
    images = _test_images(name)
    original = images.astype(np.float32) / 255
    recovered = np.stack([preprocess(render_upload(img), name) for img in images])
    assert recovered.shape == (N_ROUND_TRIP, 28, 28) and recovered.dtype == np.float32
    err_original = _errors(model, original, original).mean()
    err_recovered = _errors(model, recovered, recovered).mean()  # the model's error on what it got
    assert err_recovered <= 1.10 * err_original, (err_recovered, err_original)
    # The bilinear upscale blurs, which makes inputs easier (error ratio ~0.6-0.7), so the pixels
    # must match too: a blank result, or every image shifted by one pixel, fails these bounds.
    pixel_mse = float(((recovered - original) ** 2).mean())
    corr = np.mean(
        [np.corrcoef(r.ravel(), o.ravel())[0, 1] for r, o in zip(recovered, original, strict=True)]
    )
    assert pixel_mse < max_mse and corr > min_corr, (pixel_mse, corr)
    return recovered


def test_fashion_upload_round_trip(model_for):
    # measured: pixel MSE 0.0086, corr 0.952; all shifted by 1 px: 0.019-0.022, corr 0.89-0.90
    _round_trip("fashion", model_for("fashion"), max_mse=0.013, min_corr=0.93)


def _centre_of_mass(x: np.ndarray) -> tuple[float, float]:
    ys, xs = np.mgrid[:28, :28]
    return float((x * ys).sum() / x.sum()), float((x * xs).sum() / x.sum())


def _bbox_size(x: np.ndarray) -> tuple[int, int]:
    rows, cols = np.flatnonzero(x.any(axis=1)), np.flatnonzero(x.any(axis=0))
    return int(rows[-1] - rows[0] + 1), int(cols[-1] - cols[0] + 1)


def test_mnist_upload_round_trip(model_for):
    # measured: pixel MSE 0.0114, corr 0.934 (integer centring flips a pixel for some digits);
    # all shifted by 1 px: 0.034-0.038, corr 0.75-0.79
    recovered = _round_trip("mnist", model_for("mnist"), max_mse=0.02, min_corr=0.9)
    for x in recovered:
        cy, cx = _centre_of_mass(x)
        assert abs(cy - 14) <= 1 and abs(cx - 14) <= 1, (cy, cx)
        assert max(_bbox_size(x > 0)) <= 20


def _canvas(draw, size=(280, 280), ink=(0, 0, 0, 255), bg=(255, 255, 255, 255)) -> np.ndarray:
    img = Image.new("RGBA", size, bg)
    draw(ImageDraw.Draw(img), ink)
    return np.asarray(img).copy()


SHAPES = {
    "seven": lambda d, c: d.line([(80, 60), (200, 60), (120, 230)], fill=c, width=18),
    "one": lambda d, c: d.line([(140, 40), (150, 240)], fill=c, width=18),
    "ring": lambda d, c: d.ellipse([(70, 50), (210, 240)], outline=c, width=18),
    "dash": lambda d, c: d.line([(30, 200), (250, 205)], fill=c, width=18),
    "dot": lambda d, c: d.ellipse([(20, 20), (30, 30)], fill=c),
}


@pytest.mark.parametrize("shape", sorted(SHAPES))
def test_sketch_mnist_convention(shape):
    x = preprocess({"composite": _canvas(SHAPES[shape]), "background": None, "layers": []}, "mnist")
    assert x.shape == (28, 28) and x.dtype == np.float32 and x.min() >= 0 and x.max() <= 1
    h, w = _bbox_size(x > 0)
    assert max(h, w) == 20  # longest side fitted to the 20x20 box
    cy, cx = _centre_of_mass(x)
    assert abs(cy - 14) <= 1 and abs(cx - 14) <= 1, (cy, cx)


def test_fashion_convention_centres_by_bounding_box():
    ink = np.zeros((300, 300), np.float32)
    ink[20:230, 50:150] = 1.0  # 210 x 100: longest edge -> 28 rows, width -> 13.33 columns
    x = to_model_input(ink, "fashion")
    assert x[:, 14].min() == pytest.approx(1.0)  # spans every row
    columns = x.sum(axis=0) / 28  # coverage per column
    assert columns.sum() == pytest.approx(100 * 28 / 210, abs=0.02)  # aspect ratio kept exactly
    np.testing.assert_allclose(columns, columns[::-1], atol=28 / 210)  # centred, to one source pixel
    assert columns[8:20].min() == pytest.approx(1.0) and columns[:7].max() == 0 and 0 < columns[7] < 1


def test_preprocess_speed_280_sketch():
    value = {"composite": _canvas(SHAPES["ring"]), "background": None, "layers": []}
    for name in ("mnist", "fashion"):
        times = []
        for _ in range(30):
            t0 = time.perf_counter()
            preprocess(value, name)
            times.append(time.perf_counter() - t0)
        assert np.median(times) < 0.005, f"{name}: median {np.median(times) * 1e3:.1f} ms"


# ---------------------------------------------------------------- bad uploads


def _png_header(width: int, height: int, body: bytes | None = None) -> bytes:
    """A PNG claiming ``width`` x ``height`` (valid signature, IHDR and CRCs; tiny compressed body)."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    ihdr = struct.pack(">IIBBBBB", width, height, 1, 0, 0, 0, 0)  # 1-bit greyscale
    body = zlib.compress(b"\0" * 1000) if body is None else body
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", body) + chunk(b"IEND", b"")


def _drawing(size=(120, 100)) -> Image.Image:
    img = Image.new("L", size, 255)
    d = ImageDraw.Draw(img)
    d.ellipse([(25, 15), (95, 85)], outline=0, width=9)
    d.line([(20, 50), (100, 50)], fill=0, width=7)
    d.line([(60, 50), (110, 95)], fill=0, width=7)  # asymmetric: centre of mass off the half-pixel
    return img


def _animated_gif() -> bytes:
    frames = [_drawing(), _drawing().transpose(Image.Transpose.FLIP_LEFT_RIGHT)]
    return png(frames[0], "GIF", save_all=True, append_images=frames[1:], duration=100, loop=0)


def _fully_transparent() -> bytes:
    return png(Image.new("RGBA", (64, 64), (0, 0, 0, 0)))


BAD_UPLOADS = {
    "zero-byte": (lambda: b"", "empty"),
    "text-file": (lambda: b"hello, this is not an image\n" * 10, "not an image"),
    "random-bytes": (lambda: np.random.default_rng(0).bytes(5000), "not an image"),
    "truncated-png": (lambda: png(_drawing())[:300], "corrupt or truncated"),
    "corrupt-png-body": (lambda: _png_header(64, 64, body=b"not zlib data" * 20), "corrupt or truncated"),
    "1x1": (lambda: png(Image.new("L", (1, 1), 0)), "at least 8x8"),
    "tiny-5x40": (lambda: png(Image.new("L", (5, 40), 0)), "at least 8x8"),
    "huge-dimensions": (lambda: _png_header(8000, 8000), "megapixels"),
    "decompression-bomb": (lambda: _png_header(100_000, 100_000), "decompression bomb"),
    "animated-gif": (_animated_gif, "several frames"),
    "fully-transparent": (_fully_transparent, "fully transparent"),
    "blank-white": (lambda: png(Image.new("RGB", (64, 64), "white")), "No ink"),
    "unsupported-format-tga": (lambda: png(_drawing(), "TGA"), "not an image"),
}


@pytest.mark.parametrize("case", sorted(BAD_UPLOADS))
def test_bad_upload_gives_clear_error(case):
    make, message = BAD_UPLOADS[case]
    with pytest.raises(InputImageError, match=message):
        preprocess(make(), "fashion")


def test_empty_upload_is_an_empty_sketch_error():
    with pytest.raises(EmptySketchError):
        preprocess(png(Image.new("L", (64, 64), 255)), "mnist")


def test_upload_size_is_limited(tmp_path):
    data = png(Image.fromarray(np.random.default_rng(0).integers(0, 255, (64, 64), dtype=np.uint8)))
    with pytest.raises(InputImageError, match="larger than 1000 bytes"):
        load_upload(data, max_bytes=1000)
    path = tmp_path / "big.png"
    path.write_bytes(data)
    with pytest.raises(InputImageError, match="larger than"):
        load_upload(path, max_bytes=1000)
    assert load_upload(path).size == (64, 64)  # under the default 10 MB limit


def test_missing_and_unreadable_paths(tmp_path):
    with pytest.raises(InputImageError, match="does not exist"):
        load_upload(tmp_path / "nope.png")
    with pytest.raises(InputImageError, match="cannot be read"):
        load_upload(tmp_path)  # a directory


@pytest.mark.parametrize("pixels", [40 * 40, 50 * 50])  # Pillow's warning zone, then its error zone
def test_pillow_bomb_limit_is_an_error(monkeypatch, pixels):
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 1000)
    side = int(pixels**0.5)
    with pytest.raises(InputImageError, match="decompression bomb"):
        load_upload(png(Image.new("L", (side, side), 0)))


def test_large_photo_is_shrunk_and_still_read():
    small = _drawing()
    big = small.resize((small.width * 25, small.height * 25), Image.Resampling.BILINEAR)  # 3000x2500
    assert max(load_upload(png(big, "JPEG", quality=90)).size) == 1024
    a = preprocess(png(big, "JPEG", quality=90), "fashion")
    b = preprocess(png(small), "fashion")
    assert np.abs(a - b).mean() < 0.03


# ---------------------------------------------------------------- modes, polarity, transparency


def _variants() -> dict[str, bytes]:
    ref = _drawing()  # L, 0 = ink, 255 = background
    a = np.asarray(ref)
    ink = 255 - a
    rgba_transparent = np.zeros((*a.shape, 4), np.uint8)
    rgba_transparent[..., 3] = ink  # black ink, alpha = ink
    white_on_transparent = rgba_transparent.copy()
    white_on_transparent[..., :3] = 255
    palette = Image.fromarray((a < 128).astype(np.uint8), "P")
    palette.putpalette([255, 255, 255, 0, 0, 0])
    return {
        "L": png(ref),
        "1": png(ref.convert("1", dither=Image.Dither.NONE)),
        "RGB": png(ref.convert("RGB")),
        "RGBA-opaque": png(ref.convert("RGBA")),
        "LA": png(ref.convert("LA")),
        "RGBA-transparent-bg": png(Image.fromarray(rgba_transparent)),
        "RGBA-white-ink-on-transparent": png(Image.fromarray(white_on_transparent)),
        "LA-transparent-bg": png(Image.fromarray(np.stack([np.zeros_like(a), ink], -1))),
        "white-on-black": png(Image.fromarray(ink)),
        "white-on-black-RGB": png(Image.fromarray(ink).convert("RGB")),
        "P": png(palette),
        "P-transparency": png(palette, transparency=0),
        "I;16": png(Image.fromarray(a.astype(np.uint16) * 257)),
        "I-32bit-tiff": png(Image.fromarray(a.astype(np.int32)), "TIFF"),
        "CMYK-tiff": png(ref.convert("RGB").convert("CMYK"), "TIFF"),
        "GIF-single-frame": png(ref, "GIF"),
        "JPEG": png(ref.convert("RGB"), "JPEG", quality=95),
        "grey-paper": png(Image.fromarray((a * 0.8).round().astype(np.uint8))),
    }


VARIANTS = _variants()


@pytest.mark.parametrize("name", sorted(VARIANTS))
@pytest.mark.parametrize("dataset", ["mnist", "fashion"])
def test_every_mode_and_polarity_gives_the_same_input(name, dataset):
    reference = preprocess(VARIANTS["L"], dataset)
    got = preprocess(VARIANTS[name], dataset)
    tolerance = 0.02 if name == "JPEG" else 1e-3  # JPEG is lossy
    assert np.abs(got - reference).mean() < tolerance


def test_mnist_convention_stretches_faint_ink_fashion_keeps_it():
    faint = png(Image.fromarray((np.asarray(_drawing()) * 0.5 + 127).astype(np.uint8)))  # pencil on white
    np.testing.assert_allclose(preprocess(faint, "mnist"), preprocess(VARIANTS["L"], "mnist"), atol=0.01)
    assert preprocess(faint, "fashion").max() == pytest.approx(0.5, abs=0.02)  # dataset keeps intensity


def test_ink_from_image_handles_both_polarities():
    black_on_white = ink_from_image(_drawing())
    white_on_black = ink_from_image(Image.fromarray(255 - np.asarray(_drawing())))
    assert black_on_white.max() == 1.0 and black_on_white[0, 0] == 0.0
    np.testing.assert_allclose(black_on_white, white_on_black, atol=1e-6)


# ---------------------------------------------------------------- the Sketchpad value


def test_blank_sketchpad_is_empty_not_an_error():
    white = np.full((280, 280, 4), 255, np.uint8)
    clear = np.zeros((280, 280, 4), np.uint8)
    speck = white.copy()
    speck[100:103, 100:103, :3] = 240  # faint noise below the ink threshold
    for value in (
        None,
        {"composite": None, "background": None, "layers": []},
        {"composite": white, "background": white, "layers": []},
        {"composite": clear, "background": None, "layers": [clear]},
        {"composite": speck, "background": None, "layers": []},
    ):
        assert from_sketchpad(value) is None
        assert preprocess(value, "mnist") is None


def test_sketchpad_layers_without_composite_match_the_composite():
    drawn = _canvas(SHAPES["seven"])
    ink_layer = _canvas(SHAPES["seven"], bg=(0, 0, 0, 0))  # strokes on a transparent layer
    white = np.full((280, 280, 4), 255, np.uint8)
    a = preprocess({"composite": drawn, "background": None, "layers": []}, "mnist")
    b = preprocess({"composite": None, "background": white, "layers": [ink_layer]}, "mnist")
    c = preprocess({"composite": ink_layer, "background": None, "layers": []}, "mnist")  # transparent bg
    np.testing.assert_allclose(a, b, atol=1e-6)
    np.testing.assert_allclose(a, c, atol=1e-6)


def test_sketchpad_accepts_file_paths(tmp_path):
    path = tmp_path / "composite.png"
    Image.fromarray(_canvas(SHAPES["ring"])).save(path)
    got = preprocess({"composite": str(path), "background": None, "layers": []}, "fashion")
    want = preprocess({"composite": _canvas(SHAPES["ring"]), "background": None, "layers": []}, "fashion")
    np.testing.assert_allclose(got, want, atol=1e-6)


def test_unknown_dataset_is_rejected():
    with pytest.raises(ValueError, match="unknown dataset"):
        preprocess(None, "cifar")
