"""The app in a real browser: headless Chromium driven by Playwright, against `python app.py`.

Uses the system Chromium (/usr/bin/chromium); never downloads one. Screenshots go to
``artifacts/`` (git-ignored). Covered: drawing at once (no tool to pick), training, a phone
(390x844, touch), dark mode, links that restore the page, Chinese.
"""

from __future__ import annotations

import hashlib
import io
import os
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import numpy as np
import pytest
from PIL import Image

ROOT = Path(__file__).resolve().parents[1]
ARTIFACTS = ROOT / "artifacts"
CHROMIUM = os.environ.get("FMAE_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
    "--disable-sync", "--no-first-run",
]  # fmt: skip


@pytest.fixture(scope="module")
def browser():
    if not Path(CHROMIUM).is_file():
        pytest.fail(
            f"{CHROMIUM} not found: the browser tests need Chromium; run `apt-get install -y chromium`"
        )
    from playwright.sync_api import sync_playwright

    ARTIFACTS.mkdir(exist_ok=True)
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield b
        b.close()


PHONE = {"viewport": {"width": 390, "height": 844}, "is_mobile": True, "has_touch": True}
SUMMARY = "#reconstruct-summary"


@pytest.fixture
def open_page(browser, app_server):
    """``open_page(query="", ready=selector, **context options)``: a page of the app in its own
    browser context (locale, colour scheme, phone), once ``ready`` (the canvas) shows; closed after
    the test."""
    contexts = []

    def open_(query: str = "", ready: str = "#sketchpad canvas", **options):
        options.setdefault("viewport", {"width": 1400, "height": 1100})
        context = browser.new_context(**options)
        contexts.append(context)
        page = context.new_page()
        page.set_default_timeout(30_000)
        page.goto(app_server + query)
        page.wait_for_selector(ready)
        return page

    yield open_
    for context in contexts:
        context.close()


@pytest.fixture
def page(open_page):
    return open_page()


def stroke_points(page) -> list[tuple[float, float]]:
    """A thick vertical-ish stroke on the canvas (a "trouser leg"), in page coordinates."""
    box = page.locator("#sketchpad canvas").first.bounding_box()
    x0, y0 = box["x"] + box["width"] * 0.35, box["y"] + box["height"] * 0.2
    return [(x0 + i * 2.4, y0 + i * box["height"] * 0.06) for i in range(11)]  # few moves: fast on a busy CPU


def draw(page) -> None:
    """The stroke with the mouse, without touching the toolbar first."""
    (x0, y0), *rest = stroke_points(page)
    page.mouse.move(x0, y0)
    page.mouse.down()
    for x, y in rest:
        page.mouse.move(x, y)
    page.mouse.up()


def touch_draw(page) -> None:
    """The stroke with a finger: touch events through the DevTools protocol (what a phone sends)."""
    cdp = page.context.new_cdp_session(page)
    (x0, y0), *rest = stroke_points(page)
    cdp.send("Input.dispatchTouchEvent", {"type": "touchStart", "touchPoints": [{"x": x0, "y": y0}]})
    for x, y in rest:
        cdp.send("Input.dispatchTouchEvent", {"type": "touchMove", "touchPoints": [{"x": x, "y": y}]})
    cdp.send("Input.dispatchTouchEvent", {"type": "touchEnd", "touchPoints": []})


def wait_for_summary(page, text: str = "Reconstruction MSE") -> str:
    page.wait_for_function(f"document.querySelector('{SUMMARY}').innerText.includes({text!r})")
    return page.locator(SUMMARY).inner_text()


def wait_for_figure(page) -> int:
    """Wait until the reconstruction figure's image has loaded (the summary text can arrive a
    moment before the browser has fetched and decoded the PNG); its natural width in pixels."""
    page.wait_for_function(
        "(() => { const i = document.querySelector('#reconstruct-figure img');"
        " return i !== null && i.complete && i.naturalWidth > 0; })()"
    )
    return page.evaluate("document.querySelector('#reconstruct-figure img').naturalWidth")


def figure_digest(page) -> str:
    """SHA-256 of the reconstruction figure's PNG bytes (same input -> same figure)."""
    wait_for_figure(page)
    data = page.evaluate(
        """async () => {
        const img = document.querySelector('#reconstruct-figure img');
        const bytes = new Uint8Array(await (await fetch(img.src)).arrayBuffer());
        return Array.from(bytes);
    }"""
    )
    return hashlib.sha256(bytes(data)).hexdigest()


def canvas_pixels(page) -> np.ndarray:
    """The middle of the drawing area as the screen shows it: (H, W) grey levels. (The canvas
    element also holds the toolbar and, around the 280x280 sheet, the editor's background.)"""
    png = page.locator("#sketchpad canvas").first.screenshot()
    grey = np.asarray(Image.open(io.BytesIO(png)).convert("L"))
    h, w = grey.shape
    return grey[h // 4 : 3 * h // 4, w // 4 : 3 * w // 4]


def test_draw_a_stroke_at_once_and_see_its_reconstruction(page):
    """No tool to pick first: the brush is on when the canvas shows; undo and clear still work."""
    assert "Draw something" in page.locator(SUMMARY).inner_text()  # the friendly prompt before any drawing
    brush = page.locator("#sketchpad").get_by_role("button", name="Brush", exact=True)
    page.wait_for_function("document.querySelector('#sketchpad button[aria-label=\"Brush\"]')"
                           ".classList.contains('highlight')")  # fmt: skip
    assert "select the draw tool" not in page.locator("#sketchpad").inner_text()
    draw(page)  # no click on the Brush before
    wait_for_summary(page)
    assert "highlight" in (brush.get_attribute("class") or "")
    assert wait_for_figure(page) == 932
    page.screenshot(path=str(ARTIFACTS / "browser-reconstruct.png"), full_page=True)
    undo = page.locator("#sketchpad").get_by_role("button", name="Undo", exact=True)
    assert undo.is_enabled()
    page.locator("#sketchpad").get_by_role("button", name="Clear canvas", exact=True).click()
    wait_for_summary(page, "Draw something")  # cleared: the prompt again
    draw(page)  # and drawing works at once after a clear too
    wait_for_summary(page)


def test_start_a_tiny_training_run_and_see_log_lines(page):
    page.get_by_role("tab", name="Train").click()
    for label, value in (("number input for Epochs", "1"), ("number input for Training images", "1000")):
        box = page.get_by_label(label)
        box.fill(value)
        box.press("Enter")
    page.locator("#train-start").click()
    page.wait_for_function(
        "(document.querySelector('#train-log textarea') || {}).value?.includes('Step [')", timeout=60_000
    )
    page.screenshot(path=str(ARTIFACTS / "browser-train-log.png"), full_page=True)
    page.wait_for_function(
        "document.querySelector('#train-status').innerText.includes('Training done')", timeout=90_000
    )
    log = page.locator("#train-log textarea").input_value()
    assert "Epoch [1/1], Step [15/15], Loss: " in log and "Epoch [1/1] done" in log
    assert "fashion-mlp" in page.locator("#model-picker input").input_value()  # the new model is picked
    plot = page.locator("#train-curve").bounding_box()
    for name in ("train (smoothed)", "test"):  # the legend is inside the plot's box, not cut off
        entry = page.locator("#train-curve svg text", has_text=name).first.bounding_box()
        assert entry, name
        assert plot["y"] < entry["y"] and entry["y"] + entry["height"] <= plot["y"] + plot["height"], name
    page.screenshot(path=str(ARTIFACTS / "browser-train-done.png"), full_page=True)


def no_horizontal_scroll(page) -> bool:
    return page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")


def test_a_phone_draws_with_a_finger_and_sees_the_result(open_page):
    """390x844 (in the phone's dark mode): nothing wider than the screen on any tab, the model info
    readable, the canvas on screen and white, a finger's stroke reconstructed and the result right
    under the canvas."""
    page = open_page(**PHONE, color_scheme="dark")  # the system setting alone, no ?__theme
    assert page.evaluate("document.body.classList.contains('dark')")
    info = page.locator("#model-info").bounding_box()
    assert info["width"] >= 300, info  # its own line, not a column a few characters wide
    page.evaluate("document.querySelector('#sketchpad canvas').scrollIntoView({block: 'center'})")
    canvas = page.locator("#sketchpad canvas").first.bounding_box()
    assert canvas["x"] >= 0 and canvas["x"] + canvas["width"] <= 390, canvas
    assert canvas["y"] >= 0 and canvas["y"] + canvas["height"] <= 844, canvas  # all of it on screen at once
    assert canvas_pixels(page).min() >= 245  # a white sheet in dark mode too
    touch_draw(page)
    wait_for_summary(page)
    figure = page.locator("#reconstruct-figure").bounding_box()
    assert 0 <= figure["y"] - (canvas["y"] + canvas["height"]) < 120  # the result is next on the page
    assert figure["width"] >= 300
    assert no_horizontal_scroll(page)
    page.screenshot(path=str(ARTIFACTS / "browser-phone-reconstruct.png"), full_page=True)
    for tab in ("train", "embeddings", "hub"):
        page.locator(f'#main-tabs [role="tab"][data-tab-id="{tab}"]').click()
        page.wait_for_timeout(300)
        assert no_horizontal_scroll(page), tab
    page.screenshot(path=str(ARTIFACTS / "browser-phone-hub.png"), full_page=True)


def test_latent_maps_keep_their_shape_and_the_nearest_images_show_whole(open_page):
    """Phone and desktop: each latent map gets at least 300 px (one under the other on a phone, not
    three slivers side by side), is drawn with one scale for x and y (distances on a map mean
    something), and the drawing's 5 nearest test images lie whole inside their 150 px strip."""
    for size, options in (("phone", PHONE), ("desktop", {"viewport": {"width": 1280, "height": 900}})):
        page = open_page(**options)
        page.locator("#examples img").nth(8).click()
        wait_for_summary(page)
        page.locator('#main-tabs [role="tab"][data-tab-id="embeddings"]').click()
        for method in ("pca", "kpca", "tsne"):
            drawn = page.locator(f"#embed-{method} [data-scale]")
            drawn.wait_for(state="attached")
            sx, sy = (float(v) for v in drawn.get_attribute("data-scale").split(","))
            assert sx == pytest.approx(sy, rel=1e-5), (size, method)
            assert page.locator(f"#embed-{method} canvas").bounding_box()["width"] >= 300, (size, method)
        page.locator("#embed-nearest img").first.wait_for()
        page.locator("#embed-nearest").scroll_into_view_if_needed()  # Gradio's thumbnails load lazily
        page.wait_for_function(
            "[...document.querySelectorAll('#embed-nearest img')].filter(i => i.naturalWidth > 0).length == 5"
        )
        strip = page.locator("#embed-nearest").bounding_box()
        for k in range(5):
            img = page.locator("#embed-nearest img").nth(k).bounding_box()
            assert img["height"] >= 50 and img["y"] + img["height"] <= strip["y"] + strip["height"], (size, k)
            assert img["x"] + img["width"] <= strip["x"] + strip["width"], (size, k)
        assert no_horizontal_scroll(page), size
        page.screenshot(path=str(ARTIFACTS / f"browser-{size}-embeddings.png"))


def test_dark_mode_keeps_a_white_canvas_and_the_same_model_input(open_page):
    """The same stroke in light and dark mode (``?__theme=dark``; the phone test has the system's
    dark mode): white drawing area with black ink in both, the same 28x28 input (identical numbers
    and figure)."""
    seen = {}
    for theme in ("light", "dark"):
        page = open_page(f"?__theme={theme}", color_scheme="light")
        body = page.evaluate("getComputedStyle(document.querySelector('gradio-app')).backgroundColor")
        rgb = [int(v) for v in body[body.index("(") + 1 : body.index(")")].split(",")[:3]]
        assert (sum(rgb) < 150) == (theme == "dark"), body  # the page itself follows the theme
        blank = canvas_pixels(page)
        assert blank.min() >= 245, theme  # white before drawing
        draw(page)
        summary = wait_for_summary(page)
        ink = canvas_pixels(page)
        assert ink.min() < 30 and (ink >= 245).mean() > 0.7, theme  # black ink on white
        seen[theme] = summary, figure_digest(page)
        page.screenshot(path=str(ARTIFACTS / f"browser-{theme}.png"), full_page=True)
    assert seen["dark"] == seen["light"]


PICKER = "#model-picker input"
LINK = "?model=mnist-conv&tab=train&dataset=mnist&model_type=conv&epochs=5&batch_size=128&lr=0.01&seed=7"


def train_settings(page) -> dict[str, str]:
    """The Train tab's settings as the page shows them."""
    checked = "#train-{} input[type=radio]:checked"
    return {
        "dataset": page.locator(checked.format("dataset")).get_attribute("value") or "",
        "model_type": page.locator(checked.format("model-type")).get_attribute("value") or "",
        "epochs": page.locator("#train-epochs input[type=number]").input_value(),
        "batch_size": page.locator("#train-batch-size input").input_value(),
        "lr": page.locator("#train-lr input").input_value(),
        "seed": page.locator("#train-seed input").input_value(),
    }


def opened(page) -> tuple[str, str | None, dict[str, str]]:
    """(picked model, open tab, Train settings) once a link's load events have run."""
    page.wait_for_function("document.querySelector('#model-picker input').value.includes('mnist-conv')")
    tab = page.evaluate("document.querySelector('#main-tabs [role=tab][aria-selected=true]').dataset.tabId")
    page.wait_for_function("document.querySelector('#train-epochs input[type=number]').value === '5'")
    return page.locator("#model-picker input").input_value(), tab, train_settings(page)


def test_a_link_restores_model_tab_and_train_settings_and_copy_link_makes_one(open_page, app_server):
    page = open_page(LINK, ready=PICKER)
    want = {k: v[0] for k, v in parse_qs(LINK[1:]).items() if k not in ("model", "tab")}
    assert opened(page) == ("mnist-conv (shipped)", "train", want)
    assert not page.locator("#link-note").is_visible()  # nothing to complain about
    page.context.grant_permissions(["clipboard-read", "clipboard-write"], origin=app_server.rstrip("/"))
    page.locator("#copy-link").click()
    box = page.locator("#link-box input, #link-box textarea").first
    page.wait_for_function("(document.querySelector('#link-box input, #link-box textarea') || {}).value")
    link = box.input_value()
    assert link.startswith(app_server) and parse_qs(urlsplit(link).query) == parse_qs(LINK[1:])
    page.wait_for_function(f"navigator.clipboard.readText().then(t => t === {link!r})")
    assert "Link copied" in page.locator("#link-note").inner_text()
    assert parse_qs(urlsplit(page.url).query) == parse_qs(LINK[1:])  # the address bar has it too
    again = open_page(link[len(app_server) :], ready=PICKER)  # the copied link restores the same page
    assert opened(again) == ("mnist-conv (shipped)", "train", want)
    page.screenshot(path=str(ARTIFACTS / "browser-link.png"), full_page=True)


def test_a_link_to_a_session_model_falls_back_with_a_message(open_page):
    query = "?model=fashion-mlp-session&tab=embeddings&epochs=500&lr=abc&batch_size=128"
    page = open_page(query, ready=PICKER)
    note = page.locator("#link-note")
    note.wait_for(state="visible")
    text = note.inner_text()
    assert "fashion-mlp-session" in text and "exists only in that visitor's session" in text
    assert "epochs=500" in text and "lr=abc" in text and "press Start" in text
    tab = page.evaluate("document.querySelector('#main-tabs [role=tab][aria-selected=true]').dataset.tabId")
    assert tab == "embeddings"
    assert page.locator("#model-picker input").input_value() == "fashion-conv (shipped)"
    page.locator('#main-tabs [role="tab"][data-tab-id="train"]').click()
    assert train_settings(page)["epochs"] == "2" and train_settings(page)["batch_size"] == "128"


def test_chinese_from_the_browser_language(open_page, tmp_path):
    """locale zh-CN: tab names, labels, help, the model line, results and errors in Chinese."""
    page = open_page(locale="zh-CN")
    tabs = page.locator('#main-tabs [role="tab"]').all_inner_texts()
    assert tabs == ["训练", "重建", "嵌入", "Hub"]
    page.wait_for_function("document.querySelector('#model-info').innerText.includes('自编码器')")
    assert "画点什么" in page.locator(SUMMARY).inner_text()
    assert "复制链接" in page.locator("#copy-link").inner_text()
    draw(page)
    assert "784 个像素的平均值" in wait_for_summary(page, "重建 MSE")
    bad = tmp_path / "broken.png"
    bad.write_bytes(b"\x89PNG\r\n\x1a\n" + b"not really a png" * 10)
    page.locator("#upload input[type=file]").set_input_files(str(bad))
    page.get_by_text("无法使用这张图片").first.wait_for()  # the error, in Chinese too
    page.screenshot(path=str(ARTIFACTS / "browser-zh.png"), full_page=True)
    page.locator('#main-tabs [role="tab"][data-tab-id="train"]').click()
    assert page.get_by_text("训练轮数").first.is_visible()
