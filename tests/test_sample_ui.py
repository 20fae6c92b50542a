"""The Embeddings tab's Sample (issue 14's holes lesson): /sample against the library, and the button
in a real browser."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
from gradio_client import Client
from PIL import Image
from test_browser import ARTIFACTS, browser, open_page  # noqa: F401 - the module's fixtures

from fmae.data import load_dataset
from fmae.latent import encode, nearest_image_mse, sample
from fmae.models import load_checkpoint
from ui.sample_ui import sample_sheet


@pytest.mark.parametrize(("name", "prior"), [("fashion-vae-2d", "N(0, I)"), ("fashion-ae-2d", "Gaussian")])
def test_sample_gives_the_library_s_samples_and_number(app_server, name, prior):
    client = Client(app_server, verbose=False)
    sheet, summary, numbers = client.predict(name, 3, api_name="/sample")
    numbers = numbers if isinstance(numbers, dict) else json.loads(numbers)
    ckpt = load_checkpoint(f"checkpoints/{name}")
    test = load_dataset("fashion", "test")
    want = sample(ckpt.model, 16, torch.Generator().manual_seed(3), encode(ckpt.model, test.images))
    assert numbers["prior"].startswith(prior) and numbers["n"] == 16 and numbers["seed"] == 3
    assert np.allclose(numbers["codes"], want.codes, atol=1e-3)
    assert numbers["nearest_test_mse"] == pytest.approx(nearest_image_mse(want.images, test.images), rel=1e-5)
    assert f"{numbers['nearest_test_mse']:.4f}" in summary
    got = np.asarray(Image.open(sheet).convert("L"), np.float32)
    assert got.shape == (4 * 112 + 3 * 4, 4 * 112 + 3 * 4)
    assert np.abs(got[:112, :112][::4, ::4] / 255 - want.images[0]).max() < 0.01  # the first sample, top left


def test_a_bad_seed_is_refused_with_a_message(app_server):
    client = Client(app_server, verbose=False)
    with pytest.raises(Exception, match="less than minimum value 0"):  # Gradio checks the Number first
        client.predict("fashion-conv", -5, api_name="/sample")


def test_the_sheet_tiles_the_samples():
    images = np.stack([np.full((28, 28), i / 15) for i in range(16)])
    sheet = sample_sheet(images)
    assert sheet.shape == (460, 460, 3) and sheet[0, 0, 0] == 0 and sheet[-1, -1, 0] == 255
    assert sheet[112:116, :, :].min() == 255  # the white gap between rows


def test_the_sample_button_shows_16_images(open_page):  # noqa: F811
    page = open_page("?model=fashion-vae-2d&tab=embeddings", ready="#sample-button")
    page.set_default_timeout(60_000)
    page.locator("#sample-button").click()
    page.wait_for_function("document.querySelector('#sample-summary').innerText.includes('N(0, I)')")
    page.wait_for_function(
        "(() => { const i = document.querySelector('#sample-images img');"
        " return i !== null && i.complete && i.naturalWidth === 460; })()"
    )
    page.locator("#sample-button").scroll_into_view_if_needed()
    page.screenshot(path=str(ARTIFACTS / "browser-sample.png"))
