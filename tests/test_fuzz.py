"""Property-based tests (hypothesis) of the public entry points that take outside data.

The property everywhere: a result of the documented shape and range, or one of our errors
(``FmaeError`` and its subclasses; ``ValueError`` where the function documents it); never
another exception, never a non-finite number in a result. A hang would be caught by the
``timeout`` mark (a generous hang detector, not a speed target).

Image inputs: any size, mode, dtype, alpha and EXIF orientation, encoded in every allowed
format, plus raw arrays and random bytes. Configs: any JSON-like value. Checkpoints: folders
with random keys, shapes, dtypes and values. Codes: any (N, d) array, NaN and inf included.
"""

from __future__ import annotations

import io
import json
import math
import string

import numpy as np
import pytest
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp
from PIL import Image
from safetensors.torch import save_file

from fmae.errors import CheckpointError, FmaeError, InputImageError
from fmae.images import load_upload, preprocess
from fmae.latent import project
from fmae.models import CONFIG_BOUNDS, FLOAT_KEYS, MODELS, load_checkpoint, validate_config
from fmae.training import TrainConfig

FUZZ = settings(
    max_examples=60,
    deadline=None,  # machines are shared and noisy; hangs are caught by the timeout mark instead
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
    derandomize=True,  # the same examples on every run: a failure here is reproducible
)
DATASETS = ("fashion", "mnist")


def _assert_model_input(x) -> None:
    """The documented result of preprocess: (28, 28) float32, finite, in [0, 1] (or None)."""
    if x is None:
        return
    assert isinstance(x, np.ndarray) and x.shape == (28, 28) and x.dtype == np.float32
    assert np.isfinite(x).all() and x.min() >= 0.0 and x.max() <= 1.0


# ---------------------------------------------------------------- images
MODES = ("1", "L", "LA", "P", "PA", "RGB", "RGBA", "I;16", "I", "F", "CMYK", "YCbCr", "La", "RGBa")
SAVE_AS = {  # format -> modes Pillow can write in it
    "PNG": ("1", "L", "LA", "P", "RGB", "RGBA", "I;16", "I"),
    "JPEG": ("L", "RGB", "CMYK"),
    "GIF": ("L", "P"),
    "BMP": ("1", "L", "P", "RGB"),
    "WEBP": ("RGB", "RGBA"),
    "TIFF": ("1", "L", "LA", "P", "RGB", "RGBA", "I;16", "I", "F", "CMYK", "YCbCr"),
}


@st.composite
def pil_images(draw) -> Image.Image:
    """A PIL image of any mode and size 1..96, with structure (shapes) or noise in it."""
    w, h = draw(st.integers(1, 96)), draw(st.integers(1, 96))
    mode = draw(st.sampled_from(MODES))
    kind = draw(st.sampled_from(["noise", "blob", "flat"]))
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    base = np.full((h, w, 4), draw(st.integers(0, 255)), np.uint8)
    if kind == "noise":
        base = rng.integers(0, 256, (h, w, 4), dtype=np.uint8)
    elif kind == "blob":
        y0, x0 = rng.integers(0, h), rng.integers(0, w)
        base[y0 : y0 + max(1, h // 3), x0 : x0 + max(1, w // 3), :3] = draw(st.integers(0, 255))
    img = Image.fromarray(base, "RGBA")
    if mode in ("I;16", "I", "F"):
        return Image.fromarray(base[..., 0].astype({"I;16": np.uint16, "I": np.int32, "F": np.float32}[mode]))
    return img.convert(mode)


def _encode(img: Image.Image, fmt: str, orientation: int | None) -> bytes | None:
    """``img`` saved as ``fmt`` (converted to a mode the format writes); None if Pillow cannot."""
    mode = img.mode if img.mode in SAVE_AS[fmt] else SAVE_AS[fmt][-1 if fmt != "JPEG" else 1]
    try:
        img = img if img.mode == mode else img.convert(mode)
        buf = io.BytesIO()
        kwargs = {}
        if orientation is not None and fmt in ("JPEG", "PNG", "WEBP", "TIFF"):
            exif = Image.Exif()
            exif[0x0112] = orientation
            kwargs["exif"] = exif.tobytes()
        img.save(buf, format=fmt, **kwargs)
    except (OSError, ValueError, KeyError, TypeError):
        return None  # a combination Pillow itself cannot write: not an input anyone can send
    return buf.getvalue()


@pytest.mark.timeout(300)
@FUZZ
@given(
    img=pil_images(),
    fmt=st.sampled_from(sorted(SAVE_AS)),
    orientation=st.one_of(st.none(), st.integers(0, 10)),
    dataset=st.sampled_from(DATASETS),
)
def test_any_encoded_image_gives_an_input_or_our_error(img, fmt, orientation, dataset):
    data = _encode(img, fmt, orientation)
    if data is None:
        return
    try:
        loaded = load_upload(data)
    except InputImageError:
        return
    assert loaded.mode in ("L", "LA", "RGB", "RGBA") and max(loaded.size) <= 1024
    try:
        x = preprocess(data, dataset)
    except InputImageError:
        return
    _assert_model_input(x)
    assert x is not None  # an upload is never "nothing drawn": ink or an error


@pytest.mark.timeout(300)
@FUZZ
@given(data=st.binary(min_size=0, max_size=2048), dataset=st.sampled_from(DATASETS))
def test_random_bytes_are_refused_clearly(data, dataset):
    try:
        x = preprocess(data, dataset)
    except InputImageError as exc:
        assert str(exc)
        return
    _assert_model_input(x)


@pytest.mark.timeout(300)
@FUZZ
@given(
    data=st.sampled_from(
        [b"\x89PNG\r\n\x1a\n", b"\xff\xd8\xff", b"GIF89a", b"BM", b"RIFF", b"II*\x00"]
    ).flatmap(lambda magic: st.binary(max_size=512).map(lambda tail: magic + tail)),
)
def test_truncated_files_with_real_magic_are_refused(data):
    with pytest.raises(InputImageError):
        preprocess(data, "fashion")


ARRAY_DTYPES = st.sampled_from([np.uint8, np.uint16, np.int32, np.float32, np.float64, np.bool_])


@pytest.mark.timeout(300)
@FUZZ
@given(
    arr=ARRAY_DTYPES.flatmap(
        lambda dt: hnp.arrays(
            dt,
            st.one_of(
                hnp.array_shapes(min_dims=2, max_dims=2, min_side=1, max_side=64),
                st.tuples(st.integers(1, 64), st.integers(1, 64), st.sampled_from([1, 2, 3, 4])),
            ),
            elements=None
            if dt in (np.bool_,)
            else (
                st.floats(allow_nan=True, allow_infinity=True, width=32)
                if np.issubdtype(dt, np.floating)
                else None
            ),
        )
    ),
    dataset=st.sampled_from(DATASETS),
    as_sketchpad=st.booleans(),
)
def test_any_array_gives_an_input_or_our_error(arr, dataset, as_sketchpad):
    value = {"composite": arr, "background": None, "layers": []} if as_sketchpad else arr
    try:
        x = preprocess(value, dataset)
    except InputImageError:
        return
    _assert_model_input(x)


# ---------------------------------------------------------------- configs
JSON = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**70), 2**70) | st.floats() | st.text(max_size=8),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3),
    max_leaves=8,
)


@st.composite
def configs(draw) -> object:
    """Mostly near-valid configs (a real model type, its real keys, odd values), sometimes any JSON."""
    if draw(st.integers(0, 4)) == 0:
        return draw(JSON)
    name = draw(st.sampled_from([*MODELS, "vae", "", None]))
    keys = [*CONFIG_BOUNDS.get(name, {}), "extra"]
    chosen = draw(st.lists(st.sampled_from(keys), unique=True, max_size=len(keys)))
    config = {"model_type": name} if draw(st.booleans()) or name else {}
    for key in chosen:
        config[key] = draw(st.integers(-5, 5000) | JSON)
    return config


@FUZZ
@given(config=configs())
def test_validate_config_accepts_only_bounded_integers(config):
    try:
        name, kwargs = validate_config(config)
    except ValueError as exc:
        assert str(exc)
        return
    assert name in MODELS
    for key, value in kwargs.items():
        lo, hi = CONFIG_BOUNDS[name][key]
        if key in FLOAT_KEYS:  # a VAE's beta: a float in (lo, hi]
            assert type(value) is float and lo < value <= hi
        else:
            assert type(value) is int and lo <= value <= hi


NUMBER = st.integers(-(2**40), 2**40) | st.floats() | st.booleans() | st.none() | st.text(max_size=4)


@FUZZ
@given(
    values=st.fixed_dictionaries(
        {},
        optional={
            "dataset": st.sampled_from(["fashion", "mnist", "cifar", ""]) | NUMBER,
            "model": st.sampled_from(["mlp", "conv", "x"]) | NUMBER,
            "epochs": NUMBER,
            "batch_size": NUMBER,
            "lr": NUMBER,
            "latent_dim": NUMBER,
            "hidden_dim": NUMBER,
            "channels": NUMBER,
            "seed": NUMBER,
            "schedule": st.sampled_from(["constant", "cosine", "step"]) | NUMBER,
            "train_limit": NUMBER,
            "log_every": NUMBER,
        },
    )
)
def test_train_config_validate_accepts_only_runnable_settings(values):
    try:
        cfg = TrainConfig(**values).validate()
    except (ValueError, FmaeError) as exc:
        assert str(exc)
        return
    for key in ("epochs", "batch_size", "latent_dim", "hidden_dim", "channels", "seed", "log_every"):
        assert type(getattr(cfg, key)) is int, key
    assert cfg.train_limit is None or type(cfg.train_limit) is int
    assert isinstance(cfg.lr, (int, float)) and not isinstance(cfg.lr, bool) and math.isfinite(cfg.lr)
    assert 0 < cfg.lr <= 1 and cfg.epochs >= 1 and cfg.batch_size >= 1


# ---------------------------------------------------------------- checkpoints
TORCH_DTYPES = [torch.float32, torch.float64, torch.float16, torch.bfloat16, torch.int64, torch.uint8]


@st.composite
def weight_files(draw) -> tuple[dict, dict[str, torch.Tensor]]:
    """(config, state): a valid small model's config and state with random damage, or random keys."""
    name = draw(st.sampled_from(sorted(MODELS)))
    kwargs = {"latent_dim": draw(st.integers(1, 4)), "hidden_dim": draw(st.integers(1, 8))}
    if name == "conv":
        kwargs["channels"] = draw(st.integers(1, 2))
    config = {"model_type": name, **kwargs}
    state = {k: v.clone() for k, v in MODELS[name](**kwargs).state_dict().items()}
    keys = sorted(state)
    damage = draw(st.sampled_from(["none", "drop", "extra", "shape", "dtype", "nan", "inf", "random"]))
    key = draw(st.sampled_from(keys))
    if damage == "drop":
        del state[key]
    elif damage == "extra":
        state[draw(st.text(string.ascii_letters + ".", min_size=1, max_size=12))] = torch.zeros(2)
    elif damage == "shape":
        state[key] = torch.zeros(*[s + 1 for s in state[key].shape] or [1])
    elif damage == "dtype":
        state[key] = state[key].to(draw(st.sampled_from(TORCH_DTYPES[1:])))
    elif damage in ("nan", "inf"):
        flat = state[key].reshape(-1)
        flat[draw(st.integers(0, flat.numel() - 1))] = math.nan if damage == "nan" else -math.inf
    elif damage == "random":
        state = {
            draw(st.text(string.ascii_letters, min_size=1, max_size=6)): torch.zeros(
                draw(st.integers(0, 3)), dtype=draw(st.sampled_from(TORCH_DTYPES))
            )
            for _ in range(draw(st.integers(0, 3)))
        }
    return config, state


@pytest.mark.timeout(300)
@FUZZ
@given(files=weight_files(), config_json=st.one_of(st.none(), JSON))
def test_checkpoint_loads_finite_and_exact_or_is_refused(tmp_path_factory, files, config_json):
    config, state = files
    folder = tmp_path_factory.mktemp("ckpt")
    (folder / "config.json").write_text(json.dumps(config if config_json is None else config_json))
    save_file(state, str(folder / "model.safetensors"))
    try:
        ckpt = load_checkpoint(folder)
    except CheckpointError as exc:
        assert str(exc)
        return
    expected = MODELS[config["model_type"]](**{k: v for k, v in config.items() if k != "model_type"})
    got = ckpt.model.state_dict()
    assert set(got) == set(expected.state_dict()) == set(state)
    for key, tensor in got.items():
        assert tensor.dtype == state[key].dtype and tensor.shape == state[key].shape
        assert torch.isfinite(tensor).all(), f"{key} holds a non-finite value"


# ---------------------------------------------------------------- projection inputs
@st.composite
def codes(draw) -> np.ndarray:
    """Any (N, d) codes: random, low-rank, constant, near-duplicate, tiny or huge, NaN or inf."""
    n, d = draw(st.integers(0, 120)), draw(st.integers(0, 6))
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    kind = draw(st.sampled_from(["normal", "constant", "few", "tiny", "huge", "nan", "inf", "int"]))
    x = rng.normal(size=(n, d))
    if kind == "constant":
        x = np.full((n, d), draw(st.floats(-1e3, 1e3)))
    elif kind == "few":
        x = rng.normal(size=(min(n, draw(st.integers(1, 4))) or 1, d))[rng.integers(0, 1, n) * 0]
        x = x[np.zeros(n, int)] + rng.normal(size=(n, d)) * draw(st.sampled_from([0.0, 1e-12]))
    elif kind == "tiny":
        x *= 1e-30
    elif kind == "huge":
        x *= 1e30
    elif kind in ("nan", "inf") and x.size:
        x.reshape(-1)[rng.integers(0, x.size)] = np.nan if kind == "nan" else np.inf
    elif kind == "int":
        x = rng.integers(-3, 3, (n, d))
    return x.astype(draw(st.sampled_from([np.float32, np.float64]))) if kind != "int" else x


@pytest.mark.timeout(600)
@settings(FUZZ, max_examples=40)
@given(x=codes(), method=st.sampled_from(["pca", "kpca", "tsne", "isomap", "lle"]))
def test_any_codes_give_a_finite_map_or_our_error(x, method):
    try:
        p = project(x, method, seed=0)
    except FmaeError as exc:
        assert str(exc)
        return
    assert p.coords.shape == (len(x), 2) and np.isfinite(p.coords).all()
