"""Embeddings tab: "Sample" decodes 16 random codes and says how far they land from real images (the
holes lesson, issue 14). A VAE samples N(0, I); a plain autoencoder the Gaussian fitted to its own
test codes, the fair comparison (``fmae.latent.sample``). Under the images: the mean MSE from each
sample to its nearest test image (``fmae.latent.nearest_image_mse``), lower when they look real.
"""

from __future__ import annotations

from typing import Any

import gradio as gr
import numpy as np
import torch
from gradio.utils import get_upload_folder

from fmae.data import load_dataset
from fmae.errors import FmaeError
from fmae.images import gray
from fmae.latent import nearest_image_mse, sample
from ui.embed_data import EmbedData
from ui.files import png_file
from ui.i18n import lang_of, t, tr
from ui.state import AppState, user_error

N_SAMPLES = 16  # a 4 x 4 sheet
SCALE = 4  # 28 px -> 112 px tiles
MAX_SEED = 2**31 - 1


def sample_sheet(images: np.ndarray, columns: int = 4, gap: int = 4) -> np.ndarray:
    """Images (n, 28, 28) in [0, 1] as one RGB uint8 sheet, ``columns`` wide, ``gap`` px of white between."""
    tile = 28 * SCALE
    rows = -(-len(images) // columns)
    sheet = np.full((rows * (tile + gap) - gap, columns * (tile + gap) - gap, 3), 255, np.uint8)
    for i, x in enumerate(images):
        r, c = divmod(i, columns)
        top, left = r * (tile + gap), c * (tile + gap)
        sheet[top : top + tile, left : left + tile] = gray(x, SCALE)
    return sheet


def draw_samples(data: EmbedData, entry: Any, seed: int, lang: str = "en") -> tuple[np.ndarray, str, dict]:
    """(sheet, summary, numbers) of ``N_SAMPLES`` samples of ``entry``'s model with ``seed``.
    Raises FmaeError when the model's dataset is not on this machine."""
    model = entry.checkpoint.model
    codes = None if hasattr(model, "posterior") else data.test_codes(entry)[0]
    drawn = sample(model, N_SAMPLES, torch.Generator().manual_seed(seed), codes)
    test = load_dataset(entry.checkpoint.dataset, "test")
    distance = nearest_image_mse(drawn.images, test.images)
    vae = drawn.prior == "N(0, I)"
    text = tr(lang, "sample_vae" if vae else "sample_ae", n=N_SAMPLES, mse=distance, seed=seed)
    numbers = {"model": entry.name, "prior": drawn.prior, "n": N_SAMPLES, "seed": seed,
               "nearest_test_mse": distance, "codes": np.round(drawn.codes, 4).tolist()}  # fmt: skip
    return sample_sheet(drawn.images), text, numbers


def build(app: AppState, data: EmbedData) -> None:
    """The Sample section: a button, a seed, the sheet and its number."""
    gr.Markdown(t("sample_help"), elem_id="sample-help")
    with gr.Row(equal_height=True):
        button = gr.Button(t("sample_button"), variant="primary", elem_id="sample-button", min_width=120)
        seed_box = gr.Number(
            0, precision=0, minimum=0, maximum=MAX_SEED, label=t("sample_seed"), min_width=120
        )
    with gr.Row():
        sheet = gr.Image(
            show_label=False,
            format="png",
            interactive=False,
            height=300,
            elem_id="sample-images",
            min_width=240,
        )
        with gr.Column(min_width=240):
            summary = gr.Markdown(elem_id="sample-summary")
            numbers = gr.JSON(visible=False)

    def sample_images(model: str | None, seed: float | None, request: gr.Request) -> tuple[str, str, dict]:
        """16 images decoded from random codes of ``model`` (a VAE: N(0, I); a plain autoencoder: the
        Gaussian fitted to its test codes), seeded by ``seed``; returns the sheet (PNG), a summary and
        JSON numbers: ``prior``, ``n``, ``seed``, ``nearest_test_mse`` (mean per-pixel MSE from each
        sample to its nearest test image), ``codes`` (16, latent)."""
        lang = lang_of(request)
        try:
            entry = app.resolve(request, model)
            value = int(seed or 0)
            if not 0 <= value <= MAX_SEED:
                raise ValueError(tr(lang, "sample_bad_seed", high=MAX_SEED))
            image, text, found = draw_samples(data, entry, value, lang)
        except (FmaeError, ValueError) as exc:
            raise user_error(exc, lang) from None
        return png_file(image, get_upload_folder(), "samples"), text, found

    button.click(
        sample_images,
        [app.picker, seed_box],
        [sheet, summary, numbers],
        api_name="sample",
        concurrency_limit=4,
    )
