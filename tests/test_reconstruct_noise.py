"""The Reconstruct tab's noise and second model (issues 14 and 15): the tab's own handlers, called in
process on a real Fashion-MNIST test image, checked against what the library computes alone; then the
named endpoints through gradio_client (old calls still work, new parameters do what they say)."""

from __future__ import annotations

import json
import os
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest
import torch
from PIL import Image

from fmae.images import Answer, compare_figure, explain_figure, fit_text, preprocess
from fmae.models import analyze
from fmae.training import corrupt, parse_noise
from ui.reconstruct_compare import NOISE_SEED, noise_of
from ui.reconstruct_tab import example_paths
from ui.state import ROOT, AppState

CHECKPOINTS = Path(os.environ.get("FMAE_CHECKPOINTS", ROOT / "checkpoints"))
TROUSER = next(p for p in example_paths() if "trouser" in p.name)  # a Fashion-MNIST test image


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    import app as app_module

    return app_module.build_demo(AppState(CHECKPOINTS, session_root=tmp_path_factory.mktemp("sessions")))


def handler(demo, api_name: str):
    return next(fn.fn for fn in demo.fns.values() if fn.api_name == api_name)


def request(sid: str = "noise-test", lang: str = "en") -> SimpleNamespace:
    return SimpleNamespace(session_hash=sid, headers={"accept-language": lang})


def pad_value() -> dict:
    """The trouser test image as the Sketchpad sends a drawing: 280x280 RGBA, dark ink on white."""
    ink = np.asarray(Image.open(TROUSER).convert("L").resize((280, 280), Image.NEAREST))
    rgba = np.full((280, 280, 4), 255, np.uint8)
    rgba[..., :3] = (255 - ink)[..., None]
    return {"composite": rgba, "background": None, "layers": []}


def library_noisy(x: np.ndarray, noise: str) -> np.ndarray:
    """The noisy input as training's corrupt() makes it with the tab's seed, computed here alone."""
    t = torch.from_numpy(np.asarray(x, np.float32))
    return corrupt(t, parse_noise(noise), torch.Generator().manual_seed(NOISE_SEED)).numpy()


def test_noise_controls_become_trainings_noise_or_a_clear_error():
    assert not noise_of("gaussian", 0).active and not noise_of(None, None).active
    assert str(noise_of("gaussian", 0.3)) == "gaussian:0.3" and str(noise_of("mask", 0.5)) == "mask:0.5"
    assert str(noise_of(None, 0.2)) == "gaussian:0.2"
    for kind, level in (("salt", 0.3), ("none", 0.3), ("gaussian", 1.5), ("mask", -0.1), ("gaussian", "x")):
        with pytest.raises(ValueError, match="noise"):
            noise_of(kind, level)
    with pytest.raises(ValueError):
        noise_of("gaussian", float("nan"))


def test_gaussian_noise_corrupts_reproducibly_and_errors_are_against_the_clean_input(demo):
    sketch = handler(demo, "reconstruct_sketch")
    app = demo.fmae_state
    path, summary, numbers, last = sketch(pad_value(), "fashion-conv", "gaussian", 0.3, "", request())
    figure = np.asarray(Image.open(path).convert("RGB"))  # the tab hands Gradio a PNG file (ui/files.py)
    clean = preprocess(pad_value(), "fashion")
    np.testing.assert_allclose(last, clean)  # the state (and the Embeddings tab) keep the clean input
    np.testing.assert_array_equal(app.session(request()).last_input, clean)
    noisy = np.array(numbers["noisy_input"], np.float32)
    want_noisy = library_noisy(clean, "gaussian:0.3")
    assert np.abs(noisy - want_noisy).max() <= 5e-4  # training's corruption, with the fixed seed
    assert np.abs(noisy - clean).mean() > 0.1  # really noisy
    assert numbers["noise"] == "gaussian:0.3" and numbers["noise_seed"] == NOISE_SEED
    model = app.shipped.get("fashion-conv")
    seen = analyze(model.checkpoint.model, want_noisy, model.assets)
    against_clean = float(((seen.recon - clean) ** 2).mean())
    assert numbers["mse"] == pytest.approx(against_clean, rel=1e-5)
    assert numbers["mse"] != pytest.approx(seen.mse, rel=1e-4)  # not the error against the noisy input
    assert numbers["percentile"] == pytest.approx(model.assets.percentile(against_clean))
    assert numbers["pca_mse"] == pytest.approx(float(((seen.pca_recon - clean) ** 2).mean()), rel=1e-5)
    assert "clean" in summary and "σ = 0.30" in summary and f"{numbers['mse']:.4f}" in summary
    assert figure.shape == (380, 5 * 224 + 4 * 12, 3)  # clean, noisy, reconstruction, error, PCA
    tile = figure[24:248, 236:460, 0][::8, ::8].astype(np.float32)  # the second tile, one pixel per 8x8
    assert np.abs(tile - noisy * 255).max() <= 1  # shows the models' (noisy) input
    again = sketch(pad_value(), "fashion-conv", "gaussian", 0.3, "", request("other-visitor"))
    assert again[0] == path  # same drawing, same slider: the same figure (the same file), same numbers
    assert again[2] == numbers
    stronger = sketch(pad_value(), "fashion-conv", "gaussian", 0.6, "", request())[2]
    assert stronger["mse"] > numbers["mse"]


def test_mask_noise_zeroes_that_share_of_the_pixels(demo):
    numbers = handler(demo, "reconstruct_sketch")(pad_value(), "fashion-mlp", "mask", 0.5, "", request())[2]
    clean, noisy = np.array(numbers["input"]), np.array(numbers["noisy_input"])
    inked = clean > 0.05
    zeroed = (noisy[inked] == 0).mean()
    assert 0.4 < zeroed < 0.6, zeroed
    kept = noisy[inked] > 0
    np.testing.assert_allclose(noisy[inked][kept], clean[inked][kept])  # kept pixels are untouched


def test_a_second_model_gives_both_errors_as_the_library_computes_them(demo):
    app = demo.fmae_state
    path, summary, numbers, _ = handler(demo, "reconstruct_upload")(
        str(TROUSER), "fashion-conv", "gaussian", 0.0, "fashion-mlp", request()
    )
    figure = np.asarray(Image.open(path).convert("RGB"))
    x = preprocess(str(TROUSER), "fashion")
    conv, mlp = app.shipped.get("fashion-conv"), app.shipped.get("fashion-mlp")
    want_a = analyze(conv.checkpoint.model, x, conv.assets)
    want_b = analyze(mlp.checkpoint.model, x, mlp.assets)
    assert numbers["mse"] == pytest.approx(want_a.mse, rel=1e-6) and numbers["model"] == "fashion-conv"
    second = numbers["second"]
    assert second["model"] == "fashion-mlp" and second["mse"] == pytest.approx(want_b.mse, rel=1e-6)
    assert second["percentile"] == pytest.approx(want_b.percentile)
    np.testing.assert_allclose(second["reconstruction"], want_b.recon, atol=6e-4)
    assert numbers["noise"] == "none" and numbers["noisy_input"] is None
    assert f"{want_a.mse:.4f}" in summary and f"{want_b.mse:.4f}" in summary
    better = "A's" if want_a.mse < want_b.mse else "B's"
    assert f"{better} reconstruction is closer" in summary
    assert figure.shape[1] == 4 * 224 + 3 * 12 and figure.shape[0] > 2 * 248  # a row per model


def test_noise_and_a_second_model_together_and_switching_them_without_redrawing(demo):
    app = demo.fmae_state
    x = preprocess(str(TROUSER), "fashion")
    again = handler(demo, "reconstruct_again")
    _, summary, numbers, last = again(x, "fashion-conv", "mask", 0.4, "mnist-conv", request(lang="zh"))
    noisy = library_noisy(x, "mask:0.4")
    other = app.shipped.get("mnist-conv")
    seen = analyze(other.checkpoint.model, noisy, other.assets)
    assert numbers["second"]["mse"] == pytest.approx(float(((seen.recon - x) ** 2).mean()), rel=1e-5)
    assert "噪声" in summary and "MNIST" in summary  # Chinese, and B's other dataset is named
    np.testing.assert_array_equal(last, x)  # the clean input stays the one to come back to
    off = again(x, "fashion-conv", "mask", 0.0, "", request())[2]
    assert off["second"] is None and off["noisy_input"] is None
    assert off["mse"] == pytest.approx(analyze(app.shipped.get("fashion-conv").checkpoint.model, x).mse)


def test_the_denoising_checkpoint_beats_the_plain_one_on_noisy_test_images(demo):
    """What the comparison is for: fashion-dae (conv, trained with gaussian:0.3) against fashion-conv
    on the 8 Fashion-MNIST example images with that noise, both judged against the clean images."""
    assert "fashion-dae" in demo.fmae_state.shipped.names()  # shipped: its absence is a failure
    upload = handler(demo, "reconstruct_upload")
    for path in (p for p in example_paths() if p.name.startswith("fashion")):
        numbers = upload(str(path), "fashion-conv", "gaussian", 0.3, "fashion-dae", request())[2]
        assert numbers["second"]["mse"] < numbers["mse"], path.name


def test_bad_settings_and_unknown_models_are_messages(demo):
    import gradio as gr

    sketch = handler(demo, "reconstruct_sketch")
    with pytest.raises(gr.Error, match="Unknown model 'nope'"):
        sketch(pad_value(), "fashion-conv", "gaussian", 0.2, "nope", request())
    with pytest.raises(gr.Error, match="noise"):
        sketch(pad_value(), "fashion-conv", "gaussian", 3.0, "", request())
    empty = sketch(None, "fashion-conv", "gaussian", 0.5, "fashion-mlp", request())
    assert empty[0] is None and "Draw something" in empty[1]  # nothing drawn: the prompt, noise or not


def test_second_picker_lists_none_then_the_models_in_the_visitors_language(demo):
    choices = handler(demo, "second_choices")(request(lang="zh"))["choices"]
    assert choices[0] == ("不对比", "") and ("fashion-mlp（内置）", "fashion-mlp") in choices


def test_compare_figure_is_explain_figure_for_one_model_and_refuses_three():
    rng = np.random.default_rng(0)
    x, r = rng.random((28, 28)), rng.random((28, 28))
    z = rng.normal(size=10)
    one = compare_figure(x, [Answer("m", r, None, z)])
    np.testing.assert_array_equal(one, explain_figure(x, r, None, z))
    with pytest.raises(ValueError, match="1 or 2"):
        compare_figure(x, [Answer("m", r, None, z)] * 3)
    long = fit_text("user/a-very-long-model-name-from-the-hub-that-will-not-fit", 224)
    assert long.endswith("...") and len(long) < 40


# ---------------------------------------------------------------- through the API (python app.py)


@pytest.fixture(scope="module")
def client(app_server):
    from gradio_client import Client

    return Client(app_server, verbose=False, ssl_verify=False)


def test_the_endpoints_take_noise_and_a_second_model_and_old_calls_still_work(client, tmp_path):
    from gradio_client import handle_file

    png = tmp_path / "trouser.png"
    Image.fromarray(pad_value()["composite"]).save(png)
    pad = {"background": handle_file(str(png)), "layers": [], "composite": handle_file(str(png))}
    _, _, old = client.predict(pad, "fashion-conv", api_name="/reconstruct_sketch")  # the old call
    assert old["noise"] == "none" and old["second"] is None
    fig, _, new = client.predict(
        pad, "fashion-conv", noise_kind="gaussian", noise_level=0.3, second_model="fashion-mlp",
        api_name="/reconstruct_sketch",
    )  # fmt: skip
    assert new["noise"] == "gaussian:0.3" and new["second"]["model"] == "fashion-mlp"
    assert new["input"] == old["input"] and new["noisy_input"] != new["input"]
    assert Image.open(fig).size[0] == 5 * 224 + 4 * 12
    _, text = client.predict(
        handle_file(str(TROUSER)), "fashion-conv", "gaussian:0.3", "fashion-mlp", api_name="/reconstruct"
    )
    tool = json.loads(text)
    assert tool["noise"] == "gaussian:0.3" and tool["second"]["model"] == "fashion-mlp"
    plain = json.loads(client.predict(handle_file(str(TROUSER)), "fashion-conv", api_name="/reconstruct")[1])
    assert plain["noise"] == "none" and plain["second"] is None and plain["noisy_input"] is None
    assert tool["input"] == plain["input"] and tool["mse"] > plain["mse"]
