"""`python -m fmae reconstruct` and `python -m fmae embed` (issue 14): the verbs a reader of the tutorial
reaches for, on the shipped checkpoints and real test images, checked against the library itself."""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

import fmae.latent
from fmae.__main__ import main
from fmae.data import load_dataset
from fmae.images import explain_figure, preprocess
from fmae.latent import embedding_figure, encode, map_and_score, subsample
from fmae.models import analyze, load_assets, load_checkpoint

ROOT = Path(__file__).resolve().parents[1]
CHECKPOINTS = Path(os.environ.get("FMAE_CHECKPOINTS", ROOT / "checkpoints"))
PANEL_PX, HEIGHT_PX = 420, 510  # fmae.latent.embedding_figure's 4.2 x 5.1 inch panels, saved at 100 dpi


@pytest.fixture(scope="module")
def test_set():
    return load_dataset("fashion", "test")


@pytest.fixture
def image_png(tmp_path, test_set) -> Path:
    """Test image #0 of Fashion-MNIST (an ankle boot) as the PNG file a reader would pass."""
    path = tmp_path / "boot.png"
    Image.fromarray(test_set.images[0].numpy(), mode="L").save(path)
    return path


def expected_analysis(name: str, image: Path):
    folder = CHECKPOINTS / name
    ckpt = load_checkpoint(folder)
    return analyze(ckpt.model, preprocess(image, ckpt.dataset), load_assets(folder))


def test_reconstruct_prints_the_librarys_numbers_and_writes_the_tabs_figure(image_png, capsys):
    assert main(["reconstruct", str(image_png), "--model", "fashion-conv", "--json"]) == 0
    found = json.loads(capsys.readouterr().out)
    a = expected_analysis("fashion-conv", image_png)
    assert found["mse"] == pytest.approx(a.mse, rel=1e-6, abs=1e-9)
    assert found["pca_mse"] == pytest.approx(a.pca_mse, rel=1e-6) and found["pca_mse"] != found["mse"]
    assert found["percentile"] == pytest.approx(a.percentile)
    np.testing.assert_allclose(found["code"], a.latent, atol=1e-4)
    assert len(found["code"]) == 10 and found["dataset"] == "fashion"
    figure = image_png.with_name("boot-reconstruction.png")  # the default: beside the image
    assert found["figure"] == str(figure)
    drawn = np.asarray(Image.open(figure).convert("RGB"))
    np.testing.assert_array_equal(drawn, explain_figure(a.input, a.recon, a.pca_recon, a.latent, scale=8))
    assert drawn.shape[1] >= 4 * 28 * 8  # input, reconstruction, error, PCA side by side


def test_reconstruct_takes_a_checkpoint_folder_and_prints_error_and_code(image_png, tmp_path, capsys):
    out = tmp_path / "fig.png"
    folder = CHECKPOINTS / "fashion-mlp"
    assert main(["reconstruct", str(image_png), "--model", str(folder), "--out", str(out)]) == 0
    printed = capsys.readouterr().out.splitlines()
    a = expected_analysis("fashion-mlp", image_png)
    assert printed[0].startswith(f"reconstruction MSE {a.mse:.5f} (")
    assert printed[1] == f"PCA with 10 components: MSE {a.pca_mse:.5f}"
    assert printed[2] == "code: " + " ".join(f"{v:.3f}" for v in a.latent)
    assert printed[3] == f"saved {out}" and Image.open(out).size[0] >= 4 * 28 * 8
    conv = expected_analysis("fashion-conv", image_png)
    assert abs(conv.mse - a.mse) > 1e-6  # the model asked for is the one used: two models differ here


def printed_scores(text: str) -> dict[str, str]:
    """'PCA: fit 0.01 s, trustworthiness 0.886, ...' lines -> label -> the rest."""
    return dict(line.split(": ", 1) for line in text.splitlines() if ": fit " in line)


def test_embed_draws_the_tutorials_side_by_side_figure(tmp_path, test_set, capsys, monkeypatch):
    figures = []

    def keep(*args, **kwargs):  # the library's figure, kept to read its titles
        figures.append(embedding_figure(*args, **kwargs))
        return figures[-1]

    monkeypatch.setattr(fmae.latent, "embedding_figure", keep)
    out = tmp_path / "maps.png"
    args = ["embed", "fashion-conv", "--methods", "pca,kpca,tsne", "--points", "300", "--out", str(out)]
    assert main(args) == 0
    lines = printed_scores(capsys.readouterr().out)
    assert list(lines) == ["PCA", "Kernel PCA (rbf)", "t-SNE"]
    titles = [ax.get_title() for ax in figures[0].axes]
    for (label, rest), title in zip(lines.items(), titles, strict=True):
        seconds = float(rest.removeprefix("fit ").split(" s,")[0])
        assert 0 <= seconds < 120
        head = title.splitlines()[0]  # each panel's title: the method and its fit time
        assert head.startswith(f"{label} · ") and head.endswith(" s"), title
        assert abs(float(head.removeprefix(f"{label} · ").removesuffix(" s")) - seconds) <= 0.051, (
            title,
            rest,
        )
    assert Image.open(out).size == (3 * PANEL_PX, HEIGHT_PX)  # three panels side by side
    # the same points (300, class-balanced, seed 0) mapped by the library: the same numbers
    labels = test_set.labels.numpy()
    rows = subsample(labels, 300, 0)
    assert np.bincount(labels[rows]).tolist() == [30] * 10
    codes = encode(load_checkpoint(CHECKPOINTS / "fashion-conv").model, test_set.images[rows])
    pca = map_and_score(codes, labels[rows], "pca", 0)
    assert f"trustworthiness {pca.scores['trustworthiness']:.3f}," in lines["PCA"]
    assert f"(latent {pca.scores['knn_latent_acc']:.3f})" in lines["t-SNE"]
    # colours: every class colour of the legend shows up in the scatter (tab:blue and tab:cyan at least)
    pixels = np.asarray(Image.open(out).convert("RGB")).reshape(-1, 3)
    for rgb in ((31, 119, 180), (23, 190, 207)):
        assert (np.abs(pixels.astype(int) - rgb).sum(1) < 6).sum() > 50, rgb


def test_embed_first_n_points_from_a_folder(tmp_path, test_set, capsys):
    out = tmp_path / "first.png"
    folder = CHECKPOINTS / "fashion-mlp"
    assert (
        main(["embed", str(folder), "--methods", "pca", "--points", "200", "--first", "--out", str(out)]) == 0
    )
    lines = printed_scores(capsys.readouterr().out)
    labels = test_set.labels.numpy()[:200]
    pca = map_and_score(encode(load_checkpoint(folder).model, test_set.images[:200]), labels, "pca", 0)
    assert f"trustworthiness {pca.scores['trustworthiness']:.3f}," in lines["PCA"]
    assert Image.open(out).size == (PANEL_PX, HEIGHT_PX)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["reconstruct", "{tmp}/missing.png"], "does not exist"),
        (["reconstruct", "{tmp}/notes.png"], "not an image"),
        (["reconstruct", "{image}", "--model", "no-such-model"], "no checkpoint folder"),
        (["reconstruct", "{image}", "--out", "{tmp}/nowhere/fig.png"], "No such file or directory"),
        (
            ["embed", "fashion-conv", "--methods", "pca,umapx", "--out", "{tmp}/f.png"],
            "unknown method(s) ['umapx']",
        ),
        (["embed", "fashion-conv", "--methods", ",", "--out", "{tmp}/f.png"], "unknown method(s)"),
        (
            ["embed", "fashion-conv", "--points", "10", "--out", "{tmp}/f.png"],
            "--points must be between 30 and 10000",
        ),
        (["embed", "fashion-conv", "--points", "10001", "--out", "{tmp}/f.png"], "between 30 and 10000"),
        (["embed", "{tmp}", "--out", "{tmp}/f.png"], "no checkpoint folder"),
        (["embed", "fashion-conv", "--out", "{tmp}/nowhere/f.png"], "no folder"),
    ],
)
def test_bad_inputs_exit_2_with_one_clear_line(args, message, tmp_path, image_png, capsys):
    (tmp_path / "notes.png").write_text("not a picture at all")
    argv = [a.format(tmp=tmp_path, image=image_png) for a in args]
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and err.count("\n") == 1 and message in err, err
    assert not (tmp_path / "f.png").exists() and not (tmp_path / "missing-reconstruction.png").exists()
