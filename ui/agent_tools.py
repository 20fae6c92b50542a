"""The app's verbs for agents: list the models, reconstruct, encode, decode, embed.

``build(app)`` registers them with ``gr.api`` (typed parameters, no UI): they are API endpoints
(``/list_models``, ``/reconstruct``, ``/encode``, ``/decode``, ``/embed``) and, when the app is
launched with ``mcp_server=True``, the tools of Gradio's MCP server (streamable HTTP at
``/gradio_api/mcp/``). ``only_agent_tools(demo)`` then keeps the UI's own events (sketchpad strokes,
training, Hub pushes) out of that tool list: they stay API endpoints, but they are not offered to agents.

The work is the library's: ``fmae.images.preprocess`` (any picture -> the 28x28 input),
``fmae.models.analyze``, ``fmae.latent.encode/decode/place/nearest``. The tools use the shipped
models only: every MCP call goes through one Gradio session, so a visitor's own models are neither
reachable nor leaked here.

Images in: a file uploaded to this app (Gradio's FileData; an MCP client passes an http(s) URL or a
``data:image/...;base64,`` URL, which Gradio turns into one), or, inside ``embed``'s list, a data: URL,
bare base64, or the path or ``/gradio_api/file=`` URL of a file uploaded to this app (no other URL is
fetched).
Images out: PNG files in Gradio's cache (an MCP client gets them inline as base64 image content, plus
their URL). Numbers out: one JSON text. Errors: our message (``fmae.errors``), never a traceback.
"""

# No ``from __future__ import annotations`` here: gr.api reads the return annotations as objects.
import base64
import binascii
import json
import logging
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from urllib.parse import unquote

import gradio as gr
import numpy as np
from gradio.utils import get_upload_folder

from fmae.data import DATASETS
from fmae.errors import CheckpointError, FmaeError, InputImageError
from fmae.images import MAX_UPLOAD_BYTES, gray, preprocess
from fmae.latent import DEFAULT_N, EmbeddingCache, Projection, checkpoint_id, nearest, place
from fmae.latent import decode as decode_codes
from fmae.latent import encode as encode_images
from fmae.models import Analysis, nonfinite_count
from fmae.session import ModelEntry
from fmae.training import parse_noise
from ui.files import png_file as cached_png
from ui.reconstruct_compare import explain, figure
from ui.state import AppState, user_error

log = logging.getLogger(__name__)
TOOLS = ("list_models", "reconstruct", "encode", "decode", "embed")  # the API names, also the tool names
MAX_IMAGES = 64  # per embed call
MAX_CODE = 1e4  # |value| of a code to decode; codes of the shipped models stay within about +-50
SCALE = 8  # 28 px -> 224 px in the PNGs
K_NEAREST = 5
FILE_URL = "/gradio_api/file="
# At most 4 tool calls compute at once (the Reconstruct tab's own limit): the tools run outside Gradio's
# queue (see build), so this is their bound.
_SLOTS = threading.BoundedSemaphore(4)


@contextmanager
def _user_errors() -> Iterator[None]:
    """One tool call: waits for a free slot; any failure -> ``gr.Error`` with our message (an MCP
    client gets it as the tool's error text)."""
    try:
        with _SLOTS:
            yield
    except gr.Error:
        raise
    except Exception as exc:  # a message, never a traceback, for the agent
        if not isinstance(exc, FmaeError | ValueError):
            log.exception("agent tool failed")  # a bug: the operator gets the trace, the agent a message
        raise gr.Error(user_error(exc).message, print_exception=False) from None


def _uploaded(path: str) -> Path:
    """``path`` if it is a file Gradio received for this app (inside its upload folder)."""
    file = Path(path).resolve()
    if not file.is_relative_to(Path(get_upload_folder()).resolve()) or not file.is_file():
        raise InputImageError("The image must be a file uploaded to this app, a data: URL or base64 text.")
    return file


def _decode_base64(text: str) -> bytes:
    if len(text) > MAX_UPLOAD_BYTES * 4 // 3 + 4:
        raise InputImageError(f"The image is larger than {MAX_UPLOAD_BYTES // 2**20} MB.")
    try:
        return base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        raise InputImageError(
            "An image given as text must be a data: URL (data:image/png;base64,...), base64 of an image "
            "file, or the URL of a file uploaded to this app."
        ) from None


def image_source(value: Any) -> Path | bytes:
    """A tool's image argument -> a local file or the file's bytes (see the module docstring)."""
    if isinstance(value, gr.FileData):
        value = value.model_dump()
    if isinstance(value, dict):
        path = value.get("path")
        if not isinstance(path, str) or not path:
            raise InputImageError("The image file has no path.")
        return image_source(path) if path.startswith(("http://", "https://", "data:")) else _uploaded(path)
    if not isinstance(value, str) or not value.strip():
        raise InputImageError(
            f"Expected an image, got {'nothing' if value is None else type(value).__name__}."
        )
    text = value.strip()
    if text.startswith("data:"):
        header, _, payload = text.partition(",")
        if not header.endswith(";base64"):
            raise InputImageError("A data: URL must be base64-encoded (data:image/png;base64,...).")
        return _decode_base64(payload)
    if text.startswith(("http://", "https://")):
        if FILE_URL not in text:
            raise InputImageError(
                "Images in a list are not fetched from other sites: pass data: URLs, or upload the files "
                "to this app and pass their URLs."
            )
        return _uploaded(unquote(text.split(FILE_URL, 1)[1].split("?", 1)[0]))
    if text.startswith("/") and "\n" not in text and len(text) < 4096:  # a path Gradio gave for an upload
        return _uploaded(text)
    return _decode_base64(text)


def model_input(value: Any, entry: ModelEntry) -> np.ndarray:
    """A tool's image argument -> the (28, 28) float32 input in [0, 1] that ``entry``'s dataset expects."""
    x = preprocess(image_source(value), entry.checkpoint.dataset)
    if x is None:  # preprocess gives None only for an empty drawing
        raise InputImageError("The image is empty.")
    return x


def shipped_entry(app: AppState, model: str | None) -> ModelEntry:
    """The shipped model ``model`` (empty: the app's default); FmaeError naming the others."""
    if model is not None and not isinstance(model, str):
        raise FmaeError(f"model must be a model's name, not {type(model).__name__}")
    name = (model or "").strip() or app.default_model() or ""
    names = app.shipped.names()
    if name not in names:
        raise FmaeError(f"Unknown model {name!r}; the tools use these models: {', '.join(names) or 'none'}.")
    return app.shipped.get(name)


def png_file(rgb: np.ndarray, name: str) -> gr.FileData:
    """An RGB uint8 array as a PNG in Gradio's cache (removed with the app's other results),
    written once under a name from its content (``ui.files.png_file``: never rewritten in place)."""
    path = cached_png(rgb, get_upload_folder(), name)
    return gr.FileData(path=path, orig_name=f"{name}.png", mime_type="image/png")


def grid(x: np.ndarray) -> list[list[float]]:
    """A (28, 28) image as rows of floats, 3 decimals."""
    return np.round(np.asarray(x, np.float64), 3).tolist()


def floats(x: np.ndarray, decimals: int = 6) -> list[float]:
    return [round(float(v), decimals) for v in np.asarray(x).reshape(-1)]


def dumps(payload: dict | list) -> str:
    """JSON text; NaN or infinity would be a bug, so it raises rather than showing one."""
    return json.dumps(payload, allow_nan=False)


class ReferenceMaps:
    """Each shipped model's stored PCA map of its 2,000 reference test images (None where absent or
    stale): ``EmbeddingCache.lookup`` reads and checks the npz; the checkpoint id is hashed once."""

    def __init__(self) -> None:
        self._cache = EmbeddingCache(max_items=8)
        self._ids: dict[Path, str] = {}

    def get(self, entry: ModelEntry) -> Projection | None:
        folder = entry.folder
        if folder is None:
            return None
        try:
            if folder not in self._ids:
                self._ids[folder] = checkpoint_id(folder)  # a hash of the weights file
            ckpt_id = self._ids[folder]
            projection = self._cache.lookup(ckpt_id, "pca", DEFAULT_N, 0, folder)
        except CheckpointError as exc:
            log.warning("ignoring the stored PCA map of %s: %s", folder, exc)
            return None
        return projection if projection is not None and projection.codes is not None else None


def embed_codes(entry: ModelEntry, codes: np.ndarray, reference: Projection | None) -> dict[str, Any]:
    """``codes`` (N, latent) placed on ``reference`` and their nearest reference codes' classes."""
    out: dict[str, Any] = {"codes": [floats(c) for c in codes], "map": None, "nearest": None}
    if reference is None or reference.codes is None or reference.labels is None:
        return out
    coords = [floats(c, 4) for c in place(reference, None, codes)]
    out["map"] = {"method": "pca", "reference_points": len(reference), "coords": coords}
    classes = DATASETS[entry.checkpoint.dataset][1]
    out["nearest"] = []
    for code in codes:
        labels = [classes[int(reference.labels[i])] for i in nearest(reference.codes, code, K_NEAREST)]
        out["nearest"].append({"classes": labels, "guess": max(labels, key=labels.count)})
    return out


def build(app: AppState) -> None:
    """Register the tools inside the current ``gr.Blocks`` (see the module docstring)."""
    default = app.default_model() or ""
    maps = ReferenceMaps()

    def list_models() -> str:
        """List the autoencoders the tools can use (the app's shipped models), as JSON.

        Returns:
            JSON list, one object per model: name; model_type (mlp or conv); dataset (fashion: Fashion-MNIST clothing, mnist: handwritten digits) and its classes; latent_dim (numbers in a code); test_mse (mean squared error per pixel on the test set, pixels in [0, 1]); default (true for the model used when none is named).
        """  # noqa: E501 - Gradio reads each docstring section as one line
        with _user_errors():
            models = []
            for name in app.shipped.names():
                ckpt = app.shipped.get(name).checkpoint
                mse = ckpt.metrics.get("test_mse")
                models.append({
                    "name": name, "model_type": ckpt.config["model_type"], "dataset": ckpt.dataset,
                    "classes": list(DATASETS[ckpt.dataset][1]), "latent_dim": int(ckpt.config["latent_dim"]),
                    "test_mse": mse if isinstance(mse, float) and np.isfinite(mse) else None,
                    "default": name == default,
                })  # fmt: skip
            return dumps(models)

    def reconstruct(
        image: gr.FileData, model: str = default, noise: str = "", second_model: str = ""
    ) -> tuple[gr.FileData, str]:
        """Reconstruct one image with an autoencoder: the picture becomes the 28x28 grey input of the model's dataset (the object found, cropped and centred, ink bright on black), is encoded to a latent code and decoded back; the error says how well the model knows such images. Optionally corrupt the input first (to test a denoising autoencoder) and compare with a second model.

        Args:
            image: the picture (PNG, JPEG, WebP, GIF, BMP or TIFF, up to 10 MB, any size; a photo or a drawing of one object, dark on light or light on dark).
            model: the name of a model from list_models; empty: the app's default model.
            noise: empty or none: no noise; gaussian:SIGMA (add Gaussian noise of standard deviation SIGMA in [0, 1], pixels in [0, 1]) or mask:FRACTION (set that fraction of pixels to 0), with a fixed seed: the same image and noise give the same noisy input. The models see the noisy input; every error is measured against the clean input.
            second_model: empty: none; else the name of a second model from list_models, which gets the same (noisy) input.

        Returns:
            a PNG figure, 224x224 tiles: model input (and the noisy input), reconstruction, absolute error heatmap, PCA reconstruction, one row per model; the latent codes as bars below.
            JSON: model, dataset; mse (mean squared error between reconstruction and the clean input over the 784 pixels, pixels in [0, 1]); percentile (% of the dataset's test images with a smaller error, null if unknown); pca_mse (PCA with as many components as the code, null if unknown); latent (latent_dim floats); input (the clean input) and reconstruction (28x28 rows of floats in [0, 1], 3 decimals); noise (none or kind:level); noisy_input (28x28, null without noise); second (null, or the second model's model, dataset, mse, percentile, pca_mse, latent, reconstruction).
        """  # noqa: E501
        with _user_errors():
            entry = shipped_entry(app, model)
            other = shipped_entry(app, second_model) if (second_model or "").strip() else None
            r = explain(model_input(image, entry), entry, other, parse_noise(noise))
            first, *more = [tool_numbers(e, a) for e, a in r.models]
            noisy = None if r.noisy is None else grid(r.noisy)
            return png_file(figure(r), "reconstruction"), dumps({
                **first, "input": grid(r.clean), "noise": str(r.noise), "noisy_input": noisy,
                "second": more[0] if more else None,
            })  # fmt: skip

    def encode(image: gr.FileData, model: str = default) -> str:
        """Encode one image to its latent code, the model's summary of it (similar images get nearby codes). The picture first becomes the 28x28 input of the model's dataset, as in reconstruct.

        Args:
            image: the picture (PNG, JPEG, WebP, GIF, BMP or TIFF, up to 10 MB, any size).
            model: the name of a model from list_models; empty: the app's default model.

        Returns:
            JSON: model, dataset, latent_dim, latent (latent_dim floats, unitless; decode turns them back into an image), input (the 28x28 model input, floats in [0, 1], 3 decimals).
        """  # noqa: E501
        with _user_errors():
            entry = shipped_entry(app, model)
            x = model_input(image, entry)
            code = encode_images(entry.checkpoint.model, x)[0]
            if nonfinite_count(code):
                raise FmaeError("The model's code for this image holds NaN or infinity.")
            return dumps({
                "model": entry.name, "dataset": entry.checkpoint.dataset, "latent_dim": len(code),
                "latent": floats(code), "input": grid(x),
            })  # fmt: skip

    def decode(code: list[float], model: str = default) -> tuple[gr.FileData, str]:
        """Decode a latent code into an image with the model's decoder. Codes come from encode, reconstruct or embed; codes between two others decode to images in between.

        Args:
            code: latent_dim numbers (list_models gives latent_dim), each finite with absolute value at most 10000.
            model: the name of a model from list_models; empty: the app's default model.

        Returns:
            a PNG of the decoded image, 224x224 (the 28x28 output enlarged 8 times, bright ink on black as in the dataset).
            JSON: model, dataset, image (the 28x28 output, rows of floats in [0, 1], 3 decimals).
        """  # noqa: E501
        with _user_errors():
            entry = shipped_entry(app, model)
            z = code_array(code, int(entry.checkpoint.config["latent_dim"]))
            x = decode_codes(entry.checkpoint.model, z)[0]
            if nonfinite_count(x):
                raise FmaeError("This code decodes to NaN or infinity: use smaller values.")
            return png_file(gray(x, SCALE), "decoded"), dumps(
                {"model": entry.name, "dataset": entry.checkpoint.dataset, "image": grid(x)}
            )

    def embed(images: list[gr.FileData], model: str = default) -> str:
        """Embed a set of images: each one's latent code, its place on the model's 2-D PCA map of 2,000 test images (the map the app's Embeddings tab shows), and the classes of its 5 nearest test images in latent space.

        Args:
            images: 1 to 64 pictures; each a data: URL (data:image/png;base64,...), base64 of an image file, or the URL or path of a file uploaded to this app.
            model: the name of a model from list_models; empty: the app's default model.

        Returns:
            JSON: model, dataset, latent_dim; codes (per image, latent_dim floats, in input order); map (method pca, reference_points, coords: per image [x, y] on the reference map's axes; null without a stored map); nearest (per image: classes of the 5 nearest reference codes, nearest first, and guess, the most common; null without a stored map).
        """  # noqa: E501
        with _user_errors():
            entry = shipped_entry(app, model)
            if not isinstance(images, list) or not 1 <= len(images) <= MAX_IMAGES:
                raise FmaeError(f"images must be a list of 1 to {MAX_IMAGES} images")
            inputs = []
            for i, image in enumerate(images):
                try:
                    inputs.append(model_input(image, entry))
                except FmaeError as exc:
                    raise InputImageError(f"Image {i + 1} of {len(images)}: {exc}") from None
            codes = encode_images(entry.checkpoint.model, np.stack(inputs))
            if nonfinite_count(codes):
                raise FmaeError("The model's codes for these images hold NaN or infinity.")
            out = {"model": entry.name, "dataset": entry.checkpoint.dataset, "latent_dim": codes.shape[1]}
            return dumps({**out, **embed_codes(entry, codes, maps.get(entry))})

    # Outside the queue: Gradio 6.31's MCP server answers a queued tool with two outputs (image + JSON)
    # as one string of both; unqueued, each output is its own content. _SLOTS bounds the work instead.
    for tool in (list_models, reconstruct, encode, decode, embed):
        gr.api(tool, api_name=tool.__name__, queue=False)


def tool_numbers(entry: ModelEntry, a: Analysis) -> dict[str, Any]:
    """One model's part of ``reconstruct``'s JSON (errors against the clean input)."""
    return {
        "model": entry.name, "dataset": entry.checkpoint.dataset, "mse": a.mse, "percentile": a.percentile,
        "pca_mse": a.pca_mse, "latent": floats(a.latent), "reconstruction": grid(a.recon),
    }  # fmt: skip


def code_array(code: Any, latent_dim: int) -> np.ndarray:
    """A code argument -> (latent_dim,) float32, or FmaeError saying what is wrong with it."""
    if not isinstance(code, list | tuple) or len(code) != latent_dim:
        got = len(code) if isinstance(code, list | tuple) else type(code).__name__
        raise FmaeError(f"code must be a list of {latent_dim} numbers for this model, got {got}")
    if any(isinstance(v, bool) or not isinstance(v, int | float) for v in code):
        raise FmaeError("code must hold numbers only")
    z = np.asarray(code, np.float64)
    if not np.isfinite(z).all() or np.abs(z).max() > MAX_CODE:
        raise FmaeError(f"code values must be finite, with absolute value at most {MAX_CODE:g}")
    return z.astype(np.float32)


def only_agent_tools(demo: gr.Blocks) -> list[str]:
    """Offer agents the tools above, not the UI's events; returns the MCP tool names.

    Call after ``launch(mcp_server=True)``: Gradio makes its MCP server then, with a tool for every
    public event (on a Space the names get the Space's name as a prefix). The events stay API endpoints.
    """
    server = getattr(demo, "mcp_server_obj", None)
    if server is None:
        return []
    server.tool_to_endpoint = {
        tool: endpoint for tool, endpoint in server.tool_to_endpoint.items() if endpoint.lstrip("/") in TOOLS
    }
    return sorted(server.tool_to_endpoint)
