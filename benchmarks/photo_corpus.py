"""Phone photos of drawings, made from real test images, one defect kind per photo.

    .venv/bin/python benchmarks/photo_corpus.py OUT_DIR [--n 50] [--kinds gradient,exif6,...]

A Fashion-MNIST or MNIST test image is rendered big (9-13x, bilinear) as dark ink on white paper
at a random place on a 1024x768 page (portrait or landscape): that is the *clean rendering*, a
PNG. Each *photo* of the same page adds one defect a phone adds (``KINDS``, documented there), or
several mild ones together (``phone``). Everything is seeded by (dataset, test index, kind), so
the corpus is the same on every run and for every version of the code measured on it.

Used by ``benchmarks/photo_fidelity.py`` (the per-kind table) and ``tests/test_photos.py``.
The command line writes ``OUT_DIR/<dataset>/<index>-clean.png`` and
``OUT_DIR/<dataset>/<index>-<kind>.{png,jpg}`` to look at.
"""

from __future__ import annotations

import argparse
import io
import zlib
from collections.abc import Callable
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw
from scipy import ndimage

PAGE = (1024, 768)  # long, short side of the page in pixels
ORIENTATION_TAG = 0x0112
#: stored pixels = upright.transpose(this); a viewer applying the EXIF tag shows the upright page
STORE_FOR_TAG = {3: Image.Transpose.ROTATE_180, 6: Image.Transpose.ROTATE_90, 8: Image.Transpose.ROTATE_270}
Rgb = tuple[float, float, float]


def place(img28: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """A 28x28 uint8 test image (white on black) -> ink (H, W) float32 on a page, drawing placed at random."""
    h, w = PAGE if rng.random() < 0.5 else PAGE[::-1]
    side = round(28 * rng.uniform(9, 13))
    big = Image.fromarray(img28).resize((side, side), Image.Resampling.BILINEAR)
    ink = np.zeros((h, w), np.float32)
    y0 = int(rng.integers(int(0.12 * h), h - side - int(0.12 * h)))
    x0 = int(rng.integers(int(0.12 * w), w - side - int(0.12 * w)))
    ink[y0 : y0 + side, x0 : x0 + side] = np.asarray(big, np.float32) / 255
    return ink


def compose(
    ink: np.ndarray,
    paper: Rgb = (1.0, 1.0, 1.0),
    strength: float = 1.0,
    ink_rgb: Rgb = (0.0, 0.0, 0.0),
    light: np.ndarray | float = 1.0,
    gains: Rgb = (1.0, 1.0, 1.0),
) -> np.ndarray:
    """Reflectance of paper and ink, lit by ``light`` (H, W), white-balanced by ``gains`` -> (H, W, 3)."""
    a = (strength * ink)[..., None]
    reflectance = np.asarray(paper, np.float32) * (1 - a) + np.asarray(ink_rgb, np.float32) * a
    lit = reflectance * (np.asarray(light, np.float32)[..., None] if np.ndim(light) else light)
    return lit * np.asarray(gains, np.float32)


def to_image(rgb: np.ndarray) -> Image.Image:
    return Image.fromarray(np.clip(rgb * 255 + 0.5, 0, 255).astype(np.uint8))


def encode(img: Image.Image, fmt: str = "PNG", **kwargs) -> bytes:
    buf = io.BytesIO()
    img.save(buf, fmt, **({"compress_level": 1} if fmt == "PNG" else {}) | kwargs)
    return buf.getvalue()


def _ramp(shape: tuple[int, int], rng: np.random.Generator) -> np.ndarray:
    """0 on one side of the page, 1 on the opposite one, in a random direction."""
    theta = rng.uniform(0, 2 * np.pi)
    ys, xs = np.mgrid[: shape[0], : shape[1]].astype(np.float32)
    t = np.cos(theta) * xs + np.sin(theta) * ys
    return (t - t.min()) / (t.max() - t.min())


def _fibres(shape: tuple[int, int], rng: np.random.Generator, sigma: float) -> np.ndarray:
    field = ndimage.gaussian_filter(rng.standard_normal(shape).astype(np.float32), sigma)
    return field / field.std()


def _table(shape: tuple[int, int], rng: np.random.Generator) -> np.ndarray:
    """A desk: dark wood with grain, or a grey or light laminate; (H, W, 3) float."""
    base = [(0.35, 0.22, 0.13), (0.5, 0.35, 0.22), (0.45, 0.45, 0.47), (0.7, 0.68, 0.62)][rng.integers(4)]
    grain = np.sin(np.linspace(0, rng.uniform(30, 80), shape[1], dtype=np.float32))[None, :]
    grain = grain + 0.4 * _fibres(shape, rng, 3)
    return np.asarray(base, np.float32) * (1 + 0.12 * grain)[..., None]


def _on_table(page: Image.Image, warp: Callable[[Image.Image], Image.Image], rng) -> Image.Image:
    """Warp the sheet (``page``) and lay it on a desk that shows wherever the sheet does not reach."""
    sheet = warp(page)
    mask = warp(Image.new("L", page.size, 255))
    desk = to_image(_table((page.height, page.width), rng))
    return Image.composite(sheet, desk, mask)


def _perspective_coeffs(src: list[tuple[float, float]], dst: list[tuple[float, float]]) -> list[float]:
    """Pillow's PERSPECTIVE data: maps output corners ``dst`` back to input corners ``src``."""
    rows, rhs = [], []
    for (x, y), (u, v) in zip(dst, src, strict=True):
        rows += [[x, y, 1, 0, 0, 0, -u * x, -u * y], [0, 0, 0, x, y, 1, -v * x, -v * y]]
        rhs += [u, v]
    return np.linalg.solve(np.asarray(rows, float), np.asarray(rhs, float)).tolist()


# ------------------------------------------------------------------ the defect kinds


def clean(ink, rng) -> bytes:
    return encode(to_image(compose(ink)))


def exif(orientation: int) -> Callable[[np.ndarray, np.random.Generator], bytes]:
    """A phone JPEG whose pixels are stored sideways/upside down, with the EXIF tag that says so."""

    def make(ink, rng) -> bytes:
        stored = to_image(compose(ink)).transpose(STORE_FOR_TAG[orientation])
        tags = Image.Exif()
        tags[ORIENTATION_TAG] = orientation
        return encode(stored, "JPEG", quality=92, exif=tags)

    return make


def gradient(low: tuple[float, float]) -> Callable[[np.ndarray, np.random.Generator], bytes]:
    """Light falling linearly across the page from 100% to ``low`` (a range: drawn at random)."""
    return lambda ink, rng: encode(
        to_image(compose(ink, light=1 - (1 - rng.uniform(*low)) * _ramp(ink.shape, rng)))
    )


def vignette(ink, rng) -> bytes:
    """Lens fall-off: corners at 60-72% of the centre's brightness, centre slightly off."""
    h, w = ink.shape
    ys, xs = np.mgrid[:h, :w].astype(np.float32)
    cy, cx = h * rng.uniform(0.4, 0.6), w * rng.uniform(0.4, 0.6)
    r2 = ((ys - cy) ** 2 + (xs - cx) ** 2) / ((h / 2) ** 2 + (w / 2) ** 2)
    return encode(to_image(compose(ink, light=1 - rng.uniform(0.28, 0.4) * r2)))


def tint(ink, rng) -> bytes:
    """Cream paper, a black or blue pen, and a warm, cool or green white balance at 75-95% exposure."""
    paper = (1.0, rng.uniform(0.9, 0.96), rng.uniform(0.72, 0.85))
    ink_rgb = [(0.05, 0.05, 0.05), (0.1, 0.15, 0.45)][rng.integers(2)]
    cast = [(1.0, 0.86, 0.62), (0.78, 0.9, 1.0), (0.88, 1.0, 0.84)][rng.integers(3)]
    gains = tuple(c * rng.uniform(0.75, 0.95) for c in cast)
    return encode(to_image(compose(ink, paper=paper, ink_rgb=ink_rgb, strength=0.92, gains=gains)))


def jpeg(ink, rng) -> bytes:
    """Compressed as messaging apps do: quality 35-70, 4:2:0 chroma."""
    return encode(to_image(compose(ink)), "JPEG", quality=int(rng.integers(35, 71)))


def noise(ink, rng) -> bytes:
    """Sensor noise: read noise 5-10/255 and shot noise, per channel."""
    rgb = compose(ink)
    sigma = rng.uniform(5, 10) / 255 + rng.uniform(0.01, 0.03) * np.sqrt(rgb)
    return encode(to_image(rgb + sigma * rng.standard_normal(rgb.shape).astype(np.float32)))


def blur(ink, rng) -> bytes:
    """Defocus: a Gaussian of 2-4.5 pixels (0.2-0.4 of a dataset pixel)."""
    s = rng.uniform(2, 4.5)
    return encode(to_image(ndimage.gaussian_filter(compose(ink), (s, s, 0))))


def rotation(ink, rng) -> bytes:
    """The sheet 2-6 degrees off square; the desk shows in the corners."""
    angle = rng.uniform(2, 6) * rng.choice([-1, 1])
    page = to_image(compose(ink))
    scale = 1 + rng.uniform(0.0, 0.04)  # taken slightly from further away
    center = (page.width * rng.uniform(0.45, 0.55), page.height * rng.uniform(0.45, 0.55))

    def warp(im: Image.Image) -> Image.Image:
        small = im.resize((round(im.width / scale), round(im.height / scale)), Image.Resampling.BILINEAR)
        framed = Image.new(im.mode, im.size, 0)
        framed.paste(small, ((im.width - small.width) // 2, (im.height - small.height) // 2))
        return framed.rotate(angle, Image.Resampling.BICUBIC, center=center)

    return encode(_on_table(page, warp, rng))


def perspective(ink, rng) -> bytes:
    """The phone tilted: one edge of the sheet 6-14% shorter than the opposite one (keystone)."""
    page = to_image(compose(ink))
    w, h = page.size
    k = rng.uniform(0.06, 0.14) / 2
    corners = [(0, 0), (w, 0), (w, h), (0, h)]
    side = rng.integers(4)  # which edge is further away
    dst = [list(c) for c in corners]
    a, b = side, (side + 1) % 4
    horizontal = side in (0, 2)
    for i in (a, b):
        other = b if i == a else a
        axis = 0 if horizontal else 1
        span = corners[other][axis] - corners[i][axis]
        dst[i][axis] = corners[i][axis] + k * span
    src = [(float(x), float(y)) for x, y in corners]
    coeffs = _perspective_coeffs(src, [(float(x), float(y)) for x, y in dst])

    def warp(im: Image.Image) -> Image.Image:
        return im.transform(im.size, Image.Transform.PERSPECTIVE, coeffs, Image.Resampling.BICUBIC)

    return encode(_on_table(page, warp, rng))


def texture(ink, rng) -> bytes:
    """Paper fibres and blotches (3-5% and 2-3%), and 15-40 specks of dust or dirt."""
    shape = ink.shape
    albedo = (
        1
        + rng.uniform(0.03, 0.05) * _fibres(shape, rng, 1.2)
        + rng.uniform(0.02, 0.03) * _fibres(shape, rng, 40)
    )
    specks = Image.new("L", (shape[1], shape[0]), 255)  # 255: no speck; else the speck's brightness
    draw = ImageDraw.Draw(specks)
    for _ in range(int(rng.integers(15, 41))):
        y, x, r = rng.integers(shape[0]), rng.integers(shape[1]), rng.uniform(1, 3)
        draw.ellipse([(x - r, y - r), (x + r, y + r)], fill=int(255 * rng.uniform(0.3, 0.7)))
    shade = np.clip(albedo, 0, 1.05) * np.asarray(specks, np.float32) / 255
    rgb = compose(ink) * shade[..., None]
    return encode(to_image(rgb))


def shadow(ink, rng) -> bytes:
    """A soft shadow (the phone, a hand) over 20-50% of the page, 25-45% darker, often over the drawing."""
    t = _ramp(ink.shape, rng)
    edge = rng.uniform(0.5, 0.8)
    soft = rng.uniform(0.015, 0.04)
    covered = 1 / (1 + np.exp(-(t - edge) / soft))  # the far side of ``edge`` is in the shadow
    return encode(to_image(compose(ink, light=1 - rng.uniform(0.25, 0.45) * covered)))


def margin(ink, rng) -> bytes:
    """The sheet does not fill the frame: the desk shows along one or two edges, with the page edge."""
    h, w = ink.shape
    rows, cols = np.flatnonzero(ink.any(axis=1)), np.flatnonzero(ink.any(axis=0))
    free = {"top": rows[0], "bottom": h - rows[-1], "left": cols[0], "right": w - cols[-1]}
    first = ["top", "bottom", "left", "right"][rng.integers(4)]
    across = ["top", "bottom"] if first in ("left", "right") else ["left", "right"]
    sides = [first, across[rng.integers(2)]] if rng.random() < 0.5 else [first]  # a corner, or one edge
    table = _table((h, w), rng)
    ys, xs = np.mgrid[:h, :w].astype(np.float32)
    outside = np.zeros((h, w), bool)
    edge_line = np.zeros((h, w), bool)
    for s in sides:
        extent = h if s in ("top", "bottom") else w
        depth = min(rng.uniform(0.05, 0.15) * extent, free[s] - 12)
        slope = rng.uniform(-0.02, 0.02)
        along, across = (xs, ys) if s in ("top", "bottom") else (ys, xs)
        d = (across if s in ("top", "left") else extent - 1 - across) - depth - slope * (along - along.mean())
        outside |= d < 0
        edge_line |= (d >= 0) & (d < 3)  # the sheet's edge casts a thin shadow on the sheet
    rgb = compose(ink, light=np.where(edge_line, 0.7, 1.0).astype(np.float32))
    rgb = np.where(outside[..., None], table, rgb)
    return encode(to_image(rgb))


def pencil(ink, rng) -> bytes:
    """Low-contrast pencil: graphite 30-45% darker than the paper, grainy, slightly soft."""
    grain = np.clip(1 + 0.25 * rng.standard_normal(ink.shape).astype(np.float32), 0, 2)
    graphite = ndimage.gaussian_filter(ink * grain, 0.8)
    return encode(to_image(compose(graphite, strength=rng.uniform(0.3, 0.45), ink_rgb=(0.2, 0.2, 0.22))))


def phone(ink, rng) -> bytes:
    """Several mild defects together: light 100->85%, vignette, warm tint, marker ink, noise, blur,
    the sheet 1-2 degrees off square on a desk, JPEG quality 80."""
    light = (1 - 0.15 * _ramp(ink.shape, rng)) * (1 - 0.15 * _ramp(ink.shape, rng) ** 2)
    rgb = compose(ink, paper=(1.0, 0.96, 0.9), strength=0.88, light=light, gains=(0.95, 0.92, 0.85))
    rgb = ndimage.gaussian_filter(rgb, (1.2, 1.2, 0))
    rgb = rgb + (4 / 255) * rng.standard_normal(rgb.shape).astype(np.float32)
    angle = rng.uniform(1, 2) * rng.choice([-1, 1])
    page = to_image(rgb)
    photo = _on_table(page, lambda im: im.rotate(angle, Image.Resampling.BICUBIC), rng)
    return encode(photo, "JPEG", quality=80)


#: kind -> function(ink page, rng) -> encoded photo; "clean" is the reference rendering
KINDS: dict[str, Callable[[np.ndarray, np.random.Generator], bytes]] = {
    "clean": clean,
    "exif3": exif(3),
    "exif6": exif(6),
    "exif8": exif(8),
    "gradient": gradient((0.78, 0.78)),  # the example: 100% -> 78%
    "gradient_strong": gradient((0.5, 0.65)),
    "vignette": vignette,
    "tint": tint,
    "jpeg": jpeg,
    "noise": noise,
    "blur": blur,
    "rotation": rotation,
    "perspective": perspective,
    "texture": texture,
    "shadow": shadow,
    "margin": margin,
    "pencil": pencil,
    "phone": phone,
}
DEFECTS = [k for k in KINDS if k != "clean"]


def seed(dataset: str, index: int, kind: str) -> int:
    return zlib.crc32(f"{dataset}:{index}:{kind}".encode())


def page_for(img28: np.ndarray, dataset: str, index: int) -> np.ndarray:
    """The ink page of one test image (the same for every kind: the clean rendering is its reference)."""
    return place(img28, np.random.default_rng(seed(dataset, index, "page")))


def photo(page: np.ndarray, dataset: str, index: int, kind: str) -> bytes:
    """The encoded photo of ``kind`` (PNG, or JPEG for the JPEG-making kinds) of an ink page."""
    return KINDS[kind](page, np.random.default_rng(seed(dataset, index, kind)))


def test_indices(dataset: str, n: int, total: int) -> np.ndarray:
    """``n`` test indices spread evenly over the test split (the same rule as tests/test_sketch.py)."""
    return np.linspace(0, total - 1, n).astype(int)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("out", type=Path)
    parser.add_argument("--n", type=int, default=5, help="test images per dataset")
    parser.add_argument("--kinds", default=",".join(KINDS))
    parser.add_argument("--datasets", default="fashion,mnist")
    args = parser.parse_args()
    import sys

    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    from fmae.data import load_dataset

    for name in args.datasets.split(","):
        images = load_dataset(name, "test").images.numpy()
        (args.out / name).mkdir(parents=True, exist_ok=True)
        for i in test_indices(name, args.n, len(images)):
            page = page_for(images[i], name, int(i))
            for kind in args.kinds.split(","):
                data = photo(page, name, int(i), kind)
                ext = "jpg" if data[:2] == b"\xff\xd8" else "png"
                (args.out / name / f"{i:05d}-{kind}.{ext}").write_bytes(data)


if __name__ == "__main__":
    main()
