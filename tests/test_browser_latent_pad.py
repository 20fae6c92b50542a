"""The latent pad in a real browser (headless Chromium): the page's decoder (ui/latent_pad.js) against
Python's ``decode()``, within 1/255 per pixel on the same codes, for every shipped model and every
decoder family; a mouse drag across ``#latent-pad`` redraws ``#latent-pad-decoded`` many times; the
model picker reloads the pad's decoder."""

from __future__ import annotations

import base64
from pathlib import Path

import numpy as np
import pytest
import torch
from test_browser import ARTIFACTS, PICKER, browser, open_page  # noqa: F401 - the module's fixtures

from fmae.latent import decode, decoder_spec, model_fingerprint
from fmae.models import MLPVAE, ConvAutoEncoder, ConvVAE, load_checkpoint

ROOT = Path(__file__).resolve().parents[1]
JS = (ROOT / "ui" / "latent_pad.js").read_text(encoding="utf-8")
SHIPPED = sorted(p.parent.name for p in (ROOT / "checkpoints").glob("*/config.json"))
TOLERANCE = 1 / 255


def fixed_codes(latent_dim: int, n: int = 6) -> np.ndarray:
    """Codes spread like the shipped models' (within about +-15), seeded."""
    return np.random.default_rng(7).normal(scale=6.0, size=(n, latent_dim)).astype(np.float32)


def spec_json(model: torch.nn.Module) -> dict:
    spec = decoder_spec(model)
    weights = base64.b64encode(spec.weights.astype("<f4").tobytes()).decode()
    return {"layers": spec.layers, "weights": weights, "latent_dim": spec.latent_dim}


def page_decodes(page, spec: dict, codes: np.ndarray) -> np.ndarray:
    """``codes`` decoded by the page's decoder for ``spec``: (n, 28, 28)."""
    out = page.evaluate(
        "([spec, codes]) => { const f = window.fmaeLatentPad.decoderOf(spec, spec.latent_dim);"
        " return codes.map(f); }",
        [spec, codes.tolist()],
    )
    return np.asarray(out, np.float32).reshape(-1, 28, 28)


@pytest.fixture(scope="module")
def bare_page(browser):  # noqa: F811 - the fixture imported above
    """A blank page running ui/latent_pad.js as Gradio would (its element, props, server, watch)."""
    context = browser.new_context()
    page = context.new_page()
    page.set_content("<div id='pad'></div>")
    page.evaluate(
        "(js) => new Function('element', 'props', 'server', 'watch', js)("
        "document.getElementById('pad'), {value: null}, {}, () => {})",
        JS,
    )
    yield page
    context.close()


def random_models() -> list[torch.nn.Module]:
    torch.manual_seed(3)
    return [
        ConvVAE(latent_dim=10, channels=16, hidden_dim=256),
        MLPVAE(hidden_dim=128, latent_dim=2),
        ConvAutoEncoder(latent_dim=10, channels=8, hidden_dim=64, arch=1),  # transposed convolutions
    ]


@pytest.mark.parametrize("name", SHIPPED)
def test_the_page_decodes_each_shipped_model_like_python(bare_page, name):
    model = load_checkpoint(ROOT / "checkpoints" / name).model.eval()
    codes = fixed_codes(model.latent_dim)
    got, want = page_decodes(bare_page, spec_json(model), codes), decode(model, codes)
    assert np.abs(got - want).max() <= TOLERANCE
    assert want.std() > 0.05  # real images, not a blank both sides agree on


@pytest.mark.parametrize("model", random_models(), ids=["conv-vae", "mlp-vae-2d", "conv-arch1"])
def test_the_page_decodes_every_decoder_family_like_python(bare_page, model):
    model.eval()
    codes = fixed_codes(model.latent_dim)
    got, want = page_decodes(bare_page, spec_json(model), codes), decode(model, codes)
    assert np.abs(got - want).max() <= TOLERANCE


def open_pad(browser, url: str, query: str = "", **options):  # noqa: F811
    """A page of the app on the Embeddings tab, once its pad has a decoder; (context, page)."""
    options.setdefault("viewport", {"width": 1400, "height": 1000})
    context = browser.new_context(**options)
    page = context.new_page()
    page.set_default_timeout(60_000)
    page.goto(url + query)
    page.wait_for_selector("#main-tabs [role=tab][data-tab-id=embeddings]")
    page.locator('#main-tabs [role="tab"][data-tab-id="embeddings"]').click()
    page.wait_for_selector("#latent-pad[data-points]")
    return context, page


def wait_for_model(page, name: str) -> None:
    key = model_fingerprint(load_checkpoint(ROOT / "checkpoints" / name).model)
    page.wait_for_function(f"window.fmaeLatentPad && window.fmaeLatentPad.key === {key!r}")


def decoded_pixels(page) -> str:
    return page.evaluate("document.getElementById('latent-pad-decoded').toDataURL()")


def drag(page, steps: int = 40) -> list[str]:
    """A mouse drag across the plane; the decoded canvas's pixels after each move."""
    page.locator("#latent-pad").scroll_into_view_if_needed()
    box = page.locator("#latent-pad").bounding_box()
    x0, y0 = box["x"] + box["width"] * 0.1, box["y"] + box["height"] * 0.1
    page.mouse.move(x0, y0)
    page.mouse.down()
    seen = []
    for i in range(1, steps + 1):
        page.mouse.move(x0 + i * box["width"] * 0.8 / steps, y0 + i * box["height"] * 0.8 / steps)
        page.evaluate("new Promise((done) => requestAnimationFrame(() => requestAnimationFrame(done)))")
        seen.append(decoded_pixels(page))
    page.mouse.up()
    return seen


def test_dragging_decodes_in_the_page_and_the_picker_reloads_the_decoder(browser, app_server):  # noqa: F811
    context, page = open_pad(browser, app_server, "?model=fashion-conv")
    try:
        wait_for_model(page, "fashion-conv")
        assert page.evaluate("window.fmaeLatentPad.mode") == "page"
        note = page.locator("#latent-pad-box .lp-note").inner_text()
        assert "principal components" in note  # a 10-D model: the page says which plane this is
        before = page.evaluate("window.fmaeLatentPad.frames")
        seen = drag(page)
        assert page.evaluate("window.fmaeLatentPad.frames") - before >= 30
        assert len(set(seen)) >= 20  # the image changed as the pointer moved
        # the page's decoder is the model's: its images equal Python's on the same codes
        model = load_checkpoint(ROOT / "checkpoints" / "fashion-conv").model.eval()
        codes = fixed_codes(model.latent_dim, 3)
        got = np.asarray(page.evaluate("(cs) => cs.map(window.fmaeLatentPad.decode)", codes.tolist()))
        assert np.abs(got.reshape(-1, 28, 28) - decode(model, codes)).max() <= TOLERANCE
        page.screenshot(path=str(ARTIFACTS / "latent-pad.png"), full_page=True)
        # another model from the picker: the pad loads its decoder
        page.locator(PICKER).click()
        page.get_by_role("option", name="fashion-mlp (shipped)", exact=True).click()
        wait_for_model(page, "fashion-mlp")
        mlp = load_checkpoint(ROOT / "checkpoints" / "fashion-mlp").model.eval()
        got = np.asarray(page.evaluate("(cs) => cs.map(window.fmaeLatentPad.decode)", codes.tolist()))
        assert np.abs(got.reshape(-1, 28, 28) - decode(mlp, codes)).max() <= TOLERANCE
        assert len(set(drag(page, 10))) >= 5
    finally:
        context.close()


def test_a_finger_drag_on_a_phone_decodes_without_scrolling(browser, app_server):  # noqa: F811
    phone = {"viewport": {"width": 390, "height": 844}, "is_mobile": True, "has_touch": True}
    context, page = open_pad(browser, app_server, "?model=mnist-conv", **phone)
    try:
        wait_for_model(page, "mnist-conv")
        page.locator("#latent-pad").scroll_into_view_if_needed()
        box = page.locator("#latent-pad").bounding_box()
        assert box["x"] >= 0 and box["x"] + box["width"] <= 390  # no overflow on a phone
        scroll, before = page.evaluate("window.scrollY"), page.evaluate("window.fmaeLatentPad.frames")
        cdp = page.context.new_cdp_session(page)
        x, y = box["x"] + box["width"] * 0.3, box["y"] + box["height"] * 0.3
        cdp.send("Input.dispatchTouchEvent", {"type": "touchStart", "touchPoints": [{"x": x, "y": y}]})
        for i in range(1, 16):
            point = {"x": x + i * 6, "y": y + i * 8}
            cdp.send("Input.dispatchTouchEvent", {"type": "touchMove", "touchPoints": [point]})
            page.evaluate("new Promise((done) => requestAnimationFrame(done))")
        cdp.send("Input.dispatchTouchEvent", {"type": "touchEnd", "touchPoints": []})
        assert page.evaluate("window.fmaeLatentPad.frames") - before >= 8
        assert page.evaluate("window.scrollY") == scroll  # touch-action: none, the drag did not scroll
    finally:
        context.close()


def test_the_pad_endpoints_give_the_plane_the_decoder_and_decoded_points(app_server):
    from gradio_client import Client

    from fmae.latent import DecoderSpec, run_spec

    client = Client(app_server, verbose=False, ssl_verify=False)
    data = client.predict("fashion-mlp", api_name="/latent_pad")
    model = load_checkpoint(ROOT / "checkpoints" / "fashion-mlp").model.eval()
    assert data["plane"] == "pca" and data["key"] == model_fingerprint(model)
    layers, blob = data["decoder"]["layers"], base64.b64decode(data["decoder"]["weights"])
    spec = DecoderSpec(layers, np.frombuffer(blob, "<f4"), model.latent_dim)
    codes = fixed_codes(model.latent_dim, 3)
    assert np.abs(run_spec(spec, codes) - decode(model, codes)).max() < 1e-5
    assert len(data["points"]["xy"]) == len(data["points"]["labels"]) == 2000
    xy = np.asarray(data["points"]["xy"])
    mean, axes = np.asarray(data["mean"]), np.asarray(data["axes"])
    np.testing.assert_allclose(axes @ axes.T, np.eye(2), atol=1e-5)
    x0, x1, y0, y1 = data["extent"]
    assert ((xy[:, 0] >= x0) & (xy[:, 0] <= x1) & (xy[:, 1] >= y0) & (xy[:, 1] <= y1)).mean() > 0.98
    out = client.predict(1.5, -2.0, "fashion-mlp", api_name="/latent_pad_decode")
    np.testing.assert_allclose(out["code"], mean + 1.5 * axes[0] - 2.0 * axes[1], atol=1e-4)
    want = decode(model, np.asarray(out["code"], np.float32)[None])[0]
    assert np.abs(np.asarray(out["image"]) - want).max() <= 0.0006  # 3 decimals


def test_the_pad_decodes_a_model_trained_in_the_page(open_page):  # noqa: F811
    """A model that lives only in the visitor's session: the page's own calls for its decoder carry no
    session, so the pad finds it by the key its value came with (found broken by a tester)."""
    page = open_page(
        "?tab=train&latent_dim=2&train_size=1000&epochs=1", ready="#train-start",
        viewport={"width": 1400, "height": 1000},
    )  # fmt: skip
    page.set_default_timeout(90_000)
    page.locator("#train-start").click()
    page.wait_for_function("document.querySelector('#train-status').innerText.includes('Training done')")
    page.locator('#main-tabs [role="tab"][data-tab-id="embeddings"]').click()
    page.wait_for_function(
        "window.fmaeLatentPad && window.fmaeLatentPad.key !== null && window.fmaeLatentPad.mode === 'page'"
    )
    assert "latent space itself" in page.locator("#latent-pad-box .lp-note").inner_text()
    assert len(set(drag(page, 12))) >= 6  # the trained model's images follow the pointer
