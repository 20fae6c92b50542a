"""The app as an MCP server, through the ``mcp`` package's own client (streamable HTTP).

``python app.py`` (the shared ``app_server``) serves Gradio's MCP server at ``/gradio_api/mcp/``;
its tools are ``ui/agent_tools.py``'s verbs, not the UI's events. The numbers a tool returns are
checked against the library's own ``analyze``/``encode``/``place`` on the same image.
"""

from __future__ import annotations

import asyncio
import base64
import io
import json
import re
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from mcp import ClientSession
from mcp.client.streamable_http import streamable_http_client
from PIL import Image

from fmae.images import preprocess
from fmae.latent import checkpoint_id, embedding_path, encode, load_projection, place
from fmae.models import analyze, load_assets, load_checkpoint
from ui.agent_tools import TOOLS

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = ROOT / "ui" / "examples"
TSHIRT, TROUSER = EXAMPLES / "fashion-00-t-shirt-top.png", EXAMPLES / "fashion-01-trouser.png"


def data_url(path: Path) -> str:
    return "data:image/png;base64," + base64.b64encode(path.read_bytes()).decode()


def png_data_url(array: np.ndarray) -> str:
    buf = io.BytesIO()
    Image.fromarray(array).save(buf, format="PNG")
    return "data:image/png;base64," + base64.b64encode(buf.getvalue()).decode()


@pytest.fixture(scope="module")
def mcp_url(app_server: str) -> str:
    return app_server + "gradio_api/mcp/"


def with_session(url: str, work: Callable[[ClientSession], Awaitable[Any]]) -> Any:
    """Open one MCP client session on ``url``, run ``work`` in it, close it."""

    async def run() -> Any:
        async with streamable_http_client(url) as (read, write, _), ClientSession(read, write) as session:
            await session.initialize()
            return await work(session)

    return asyncio.run(run())


def call(url: str, tool: str, **arguments: Any) -> Any:
    return with_session(url, lambda s: s.call_tool(tool, arguments))


def numbers(result: Any) -> dict | list:
    """The JSON text of a tool's answer (its last text content)."""
    assert not result.isError, result.content
    return json.loads([c for c in result.content if c.type == "text"][-1].text)


def image(result: Any) -> np.ndarray:
    """The first image of a tool's answer, decoded."""
    content = next(c for c in result.content if c.type == "image")
    assert content.mimeType == "image/png"
    return np.asarray(Image.open(io.BytesIO(base64.b64decode(content.data))))


def test_the_tools_are_the_agent_verbs_with_documented_parameters(mcp_url):
    tools = {t.name: t for t in with_session(mcp_url, lambda s: s.list_tools()).tools}
    assert set(tools) == set(TOOLS)  # not every UI event: no reconstruct_sketch, train, hub_push, ...
    recon = tools["reconstruct"]
    assert "28x28" in recon.description and "mean squared error" in recon.description
    props = recon.inputSchema["properties"]
    assert props["image"]["type"] == "string" and "url" in props["image"]["format"]
    assert props["model"]["default"] == "fashion-conv" and "list_models" in props["model"]["description"]
    assert recon.inputSchema["required"] == ["image"]
    code = tools["decode"].inputSchema["properties"]["code"]
    assert code["type"] == "array" and code["items"] == {"type": "number"}
    assert "latent_dim" in code["description"]
    assert tools["embed"].inputSchema["properties"]["images"]["type"] == "array"
    assert "[0, 1]" in tools["encode"].description and "PCA map" in tools["embed"].description


def test_list_models_names_the_shipped_checkpoints(mcp_url):
    models = numbers(call(mcp_url, "list_models"))
    shipped = sorted(p.parent.name for p in (ROOT / "checkpoints").glob("*/config.json"))
    assert [m["name"] for m in models] == shipped
    for m in models:
        config = json.loads((ROOT / "checkpoints" / m["name"] / "config.json").read_text())
        assert m["latent_dim"] == config["latent_dim"] and 0 < m["test_mse"] < 0.1
        assert len(m["classes"]) == 10 and m["default"] == (m["name"] == "fashion-conv")


def test_reconstruct_gives_the_numbers_the_library_gives(mcp_url):
    result = call(mcp_url, "reconstruct", image=data_url(TSHIRT), model="fashion-conv")
    got = numbers(result)
    folder = ROOT / "checkpoints" / "fashion-conv"
    x = preprocess(TSHIRT, "fashion")
    want = analyze(load_checkpoint(folder).model, x, load_assets(folder))
    assert got["model"] == "fashion-conv" and got["dataset"] == "fashion"
    assert np.isfinite(got["mse"]) and got["mse"] == pytest.approx(want.mse, rel=1e-4, abs=1e-7)
    assert got["pca_mse"] == pytest.approx(want.pca_mse, rel=1e-4)
    assert got["percentile"] == pytest.approx(want.percentile, abs=0.1)
    np.testing.assert_allclose(got["latent"], want.latent, atol=1e-4)
    np.testing.assert_allclose(got["input"], np.round(want.input, 3), atol=1e-6)
    np.testing.assert_allclose(got["reconstruction"], want.recon, atol=2e-3)
    figure = image(result)  # input, reconstruction, error, PCA tiles (224 px each) and the code's bars
    assert figure.shape[1] >= 4 * 224 and figure.shape[0] > 224
    assert any(c.type == "text" and c.text.startswith("Image URL: http") for c in result.content)


def test_encode_decode_and_embed_agree_with_each_other_and_the_library(mcp_url):
    model = "fashion-mlp"
    folder = ROOT / "checkpoints" / model
    ckpt = load_checkpoint(folder)
    coded = numbers(call(mcp_url, "encode", image=data_url(TROUSER), model=model))
    want = encode(ckpt.model, preprocess(TROUSER, "fashion"))[0]
    assert coded["latent_dim"] == len(coded["latent"]) == ckpt.config["latent_dim"]
    np.testing.assert_allclose(coded["latent"], want, atol=1e-4)

    result = call(mcp_url, "decode", code=coded["latent"], model=model)
    decoded = numbers(result)["image"]
    recon = numbers(call(mcp_url, "reconstruct", image=data_url(TROUSER), model=model))["reconstruction"]
    np.testing.assert_allclose(decoded, recon, atol=2e-3)  # decode(encode(x)) is the reconstruction
    assert image(result).shape[:2] == (224, 224)

    embedded = numbers(call(mcp_url, "embed", images=[data_url(TSHIRT), data_url(TROUSER)], model=model))
    assert len(embedded["codes"]) == 2
    np.testing.assert_allclose(embedded["codes"][1], coded["latent"], atol=1e-5)
    projection, made_for = load_projection(embedding_path(folder, "pca", 2000, 0))
    assert made_for == checkpoint_id(folder)
    where = place(projection, None, np.asarray(embedded["codes"], np.float32))
    np.testing.assert_allclose(embedded["map"]["coords"], where, atol=1e-3)
    assert embedded["map"]["reference_points"] == 2000
    assert [n["guess"] for n in embedded["nearest"]] == ["T-shirt/top", "Trouser"]
    assert all(len(n["classes"]) == 5 for n in embedded["nearest"])


@pytest.mark.parametrize(
    ("tool", "arguments", "message"),
    [
        ("reconstruct", {"image": "data:image/png;base64,aGVsbG8="}, "not an image"),
        ("reconstruct", {"image": png_data_url(np.full((64, 64), 255, np.uint8))}, "No ink found"),
        ("reconstruct", {"image": data_url(TSHIRT), "model": "nope"}, "Unknown model 'nope'"),
        # Gradio itself turns a single image's data: URL into a file (its message), a list's is ours
        ("encode", {"image": "data:image/png,plain"}, "Invalid base64"),
        ("encode", {"image": "C:/x.png"}, "provide a url"),
        ("embed", {"images": ["data:image/png,plain"]}, "must be base64-encoded"),
        ("decode", {"code": [0.0, 1.0]}, "code must be a list of 10 numbers"),
        ("decode", {"code": [1e9] * 10}, "absolute value at most 10000"),
        ("embed", {"images": []}, "list of 1 to 64 images"),
        ("embed", {"images": [data_url(TSHIRT), "https://example.com/x.png"]}, "Image 2 of 2: .*not fetched"),
        ("embed", {"images": ["%%%"]}, "Image 1 of 1: An image given as text must be a data: URL"),
    ],
)
def test_bad_input_gets_our_message_never_a_traceback(mcp_url, tool, arguments, message):
    result = call(mcp_url, tool, **arguments)
    text = " ".join(c.text for c in result.content if c.type == "text")
    assert result.isError and "Traceback" not in text and 'File "' not in text
    assert re.search(message, text), text


def test_scripts_get_the_same_tools_through_gradio_client(app_server, mcp_url):
    from gradio_client import Client, handle_file

    client = Client(app_server, verbose=False, ssl_verify=False)
    figure, text = client.predict(handle_file(str(TSHIRT)), "fashion-conv", api_name="/reconstruct")
    assert Path(figure).suffix == ".png" and Image.open(figure).width >= 4 * 224
    via_mcp = numbers(call(mcp_url, "reconstruct", image=data_url(TSHIRT), model="fashion-conv"))
    assert json.loads(text)["mse"] == via_mcp["mse"]
    files = [handle_file(str(TSHIRT)), handle_file(str(TROUSER))]  # uploaded, then passed as file paths
    embedded = json.loads(client.predict(files, "fashion-mlp", api_name="/embed"))
    assert [n["guess"] for n in embedded["nearest"]] == ["T-shirt/top", "Trouser"]


@pytest.mark.parametrize(
    "value",
    [
        {"path": "/etc/passwd", "meta": {"_type": "gradio.FileData"}},
        "/etc/passwd",
        "http://127.0.0.1:7860/gradio_api/file=/etc/passwd",
        "http://127.0.0.1:7860/gradio_api/file=/tmp/gradio/../../etc/passwd",
        None,
        42,
    ],
)
def test_an_image_argument_is_an_upload_or_inline_data_never_any_server_file(value):
    from fmae.errors import InputImageError
    from ui.agent_tools import image_source

    with pytest.raises(InputImageError):
        image_source(value)
    assert image_source(data_url(TSHIRT)) == TSHIRT.read_bytes()
    assert image_source(base64.b64encode(TSHIRT.read_bytes()).decode()) == TSHIRT.read_bytes()
