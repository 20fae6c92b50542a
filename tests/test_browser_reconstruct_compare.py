"""The Reconstruct tab's noise slider and second model in a real browser (headless Chromium against
`python app.py`, as tests/test_browser.py): move the slider, pick a second model, see the noisy input
and both reconstructions with both errors; on a phone the controls fit and the result stays right
under the canvas. Screenshots go to ``artifacts/``."""

from __future__ import annotations

import io
import re

import numpy as np
import test_browser
from PIL import Image
from test_browser import (  # the app's drawing helpers
    ARTIFACTS,
    PHONE,
    SUMMARY,
    draw,
    no_horizontal_scroll,
    touch_draw,
    wait_for_figure,
    wait_for_summary,
)

browser, open_page = test_browser.browser, test_browser.open_page  # its fixtures: Chromium, a page

TILE, GAP, LABEL = 224, 12, 24  # the figure's layout (fmae.images.compare_figure)
BOTH = re.compile(r"A fashion-conv: MSE (\d\.\d{4}) · B fashion-mlp: MSE (\d\.\d{4})")


def set_noise(page, level: float) -> None:
    """Move the noise slider (its range input, as a drag would) to ``level``."""
    page.locator("#noise-level input[type=range]").fill(str(level))


def pick_second(page, label: str) -> None:
    page.locator("#second-model input").click()
    page.get_by_role("option", name=label, exact=True).click()


def figure_array(page) -> np.ndarray:
    """The reconstruction figure as the browser received it: (H, W, 3) uint8."""
    wait_for_figure(page)
    data = page.evaluate(
        """async () => {
        const img = document.querySelector('#reconstruct-figure img');
        return Array.from(new Uint8Array(await (await fetch(img.src)).arrayBuffer()));
    }"""
    )
    return np.asarray(Image.open(io.BytesIO(bytes(data))).convert("RGB"))


def test_noise_slider_and_a_second_model_show_both_reconstructions(open_page):
    page = open_page()
    set_noise(page, 0.3)
    draw(page)
    text = wait_for_summary(page, "Noise: Gaussian, σ = 0.30")
    assert "clean" in text and "Reconstruction MSE" in text
    pick_second(page, "fashion-mlp (shipped)")
    page.wait_for_function(f"document.querySelector('{SUMMARY}').innerText.includes('closer to the input')")
    text = page.locator(SUMMARY).inner_text()
    mse_a, mse_b = (float(v) for v in BOTH.search(text).groups())
    assert mse_a > 0 and mse_b > 0 and "Noise: Gaussian" in text
    fig = figure_array(page)
    assert fig.shape[1] == 5 * TILE + 4 * GAP  # clean input, noisy input, reconstruction, error, PCA
    row_b = LABEL + TILE + GAP + LABEL  # top of the second model's tiles
    x0 = 2 * (TILE + GAP)  # the reconstructions' column: A's row, then B's, both drawn (not blank)
    for top in (LABEL, row_b):
        assert fig[top : top + TILE, x0 : x0 + TILE].std() > 10, top
    assert (fig[row_b : row_b + TILE, :TILE] == 255).all()  # under the inputs: white, not a third model
    noisy = fig[LABEL : LABEL + TILE, TILE + GAP : 2 * TILE + GAP]
    clean = fig[LABEL : LABEL + TILE, :TILE]
    assert np.abs(noisy.astype(int) - clean).mean() > 20  # the noisy input differs from the drawing
    page.screenshot(path=str(ARTIFACTS / "browser-compare-noise.png"), full_page=True)
    set_noise(page, 0)  # noise off: the same drawing again, both models, no noisy column
    page.wait_for_function(f"!document.querySelector('{SUMMARY}').innerText.includes('Noise:')")
    page.wait_for_function(
        "(() => { const i = document.querySelector('#reconstruct-figure img');"
        f" return i && i.complete && i.naturalWidth === {4 * TILE + 3 * GAP}; }})()"
    )
    clean_a, clean_b = (float(v) for v in BOTH.search(page.locator(SUMMARY).inner_text()).groups())
    assert clean_a < mse_a and clean_b < mse_b  # noise makes both errors (against the clean input) larger
    pick_second(page, "none")
    page.wait_for_function(f"!document.querySelector('{SUMMARY}').innerText.includes('closer to the input')")
    assert wait_for_figure(page) == 4 * TILE + 3 * GAP


def test_on_a_phone_the_controls_fit_and_the_result_stays_under_the_canvas(open_page):
    page = open_page(**PHONE, color_scheme="dark")
    for control in ("#noise-level", "#noise-kind", "#second-model"):
        box = page.locator(control).bounding_box()
        assert box["x"] >= 0 and box["x"] + box["width"] <= 390, (control, box)
    set_noise(page, 0.5)
    page.locator("#noise-kind").get_by_text("Mask", exact=False).click()
    page.evaluate("document.querySelector('#sketchpad canvas').scrollIntoView({block: 'center'})")
    touch_draw(page)
    wait_for_summary(page, "Noise: mask")
    canvas = page.locator("#sketchpad canvas").first.bounding_box()
    figure = page.locator("#reconstruct-figure").bounding_box()
    assert 0 <= figure["y"] - (canvas["y"] + canvas["height"]) < 120  # the result is next on the page
    assert no_horizontal_scroll(page)
    page.screenshot(path=str(ARTIFACTS / "browser-compare-phone.png"), full_page=True)
