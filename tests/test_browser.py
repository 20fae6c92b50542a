"""The app in a real browser: headless Chromium driven by Playwright, against `python app.py`.

Uses the system Chromium (/usr/bin/chromium); never downloads one. Screenshots go to
``artifacts/`` (git-ignored).
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

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


@pytest.fixture
def page(browser, app_server):
    page = browser.new_page(viewport={"width": 1400, "height": 1100})
    page.set_default_timeout(30_000)
    page.goto(app_server)
    page.wait_for_selector("#sketchpad canvas")
    yield page
    page.close()


def test_draw_a_stroke_and_see_its_reconstruction(page):
    summary = page.locator("#reconstruct-summary")
    assert "Draw something" in summary.inner_text()  # the friendly prompt before any drawing
    page.locator("#sketchpad").get_by_role("button", name="Brush", exact=True).click()
    box = page.locator("#sketchpad canvas").first.bounding_box()
    x0, y0 = box["x"] + box["width"] * 0.35, box["y"] + box["height"] * 0.2
    page.mouse.move(x0, y0)
    page.mouse.down()
    for i in range(1, 25):  # a thick vertical-ish stroke: a "trouser leg"
        page.mouse.move(x0 + i, y0 + i * box["height"] * 0.025)
    page.mouse.up()
    page.wait_for_function(
        "document.querySelector('#reconstruct-summary').innerText.includes('Reconstruction MSE')"
    )
    figure = page.locator("#reconstruct-figure img")
    figure.wait_for(state="visible")
    assert page.evaluate("document.querySelector('#reconstruct-figure img').naturalWidth") == 932
    page.screenshot(path=str(ARTIFACTS / "browser-reconstruct.png"), full_page=True)


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
