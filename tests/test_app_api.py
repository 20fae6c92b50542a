"""The app through its HTTP API (gradio_client) against a launched `python app.py`."""

from __future__ import annotations

import time

import numpy as np
import pytest
from gradio_client import Client, handle_file
from gradio_client.exceptions import AppError
from gradio_client.utils import Status
from PIL import Image, ImageDraw

from fmae.images import preprocess

SHIPPED = "fashion-mlp"


@pytest.fixture(scope="module")
def client(app_server) -> Client:
    return Client(app_server, verbose=False)


def shirt(path, ink=True) -> np.ndarray:
    """A 280x280 RGBA drawing, black on white (what the Sketchpad sends); blank if not ``ink``."""
    img = Image.new("RGBA", (280, 280), (255, 255, 255, 255))
    if ink:
        ImageDraw.Draw(img).polygon(
            [(70, 50), (210, 50), (250, 110), (215, 125), (205, 240), (75, 240), (65, 125), (30, 110)],
            fill=(0, 0, 0, 255),
        )
    img.save(path)
    return np.asarray(img).copy()


def pad(path) -> dict:
    return {"background": handle_file(str(path)), "layers": [], "composite": handle_file(str(path))}


def test_endpoints_all_have_names(client):
    names = set(client.view_api(print_info=False, return_format="dict")["named_endpoints"])
    expected = {"/reconstruct_sketch", "/reconstruct_upload", "/train", "/stop_training", "/save_checkpoint"}
    assert expected <= names, names


def test_reconstruct_sketch(client, tmp_path):
    arr = shirt(tmp_path / "shirt.png")
    figure, summary, numbers = client.predict(
        pad(tmp_path / "shirt.png"), SHIPPED, api_name="/reconstruct_sketch"
    )
    assert Image.open(figure).size == (932, 380)  # 4 panels of 224 px + gaps, labels, latent bars
    assert "Reconstruction MSE" in summary and numbers["model"] == SHIPPED
    x = np.array(numbers["input"], dtype=np.float32)
    expected = preprocess({"composite": arr, "background": None, "layers": []}, "fashion")
    assert x.shape == (28, 28) and np.abs(x - expected).max() <= 0.0006  # the exact input, to 3 decimals
    recon = np.array(numbers["reconstruction"], dtype=np.float32)
    assert abs(float(((recon - x) ** 2).mean()) - numbers["mse"]) < 2e-3
    assert 0.0 <= numbers["percentile"] <= 100.0  # shipped assets: no dataset needed
    assert numbers["pca_mse"] is not None and len(numbers["latent"]) == 10
    pca = np.array(numbers["pca_reconstruction"], dtype=np.float32)
    assert abs(float(((pca - x) ** 2).mean()) - numbers["pca_mse"]) < 2e-3


def test_empty_pad_gives_a_prompt_not_an_error(client, tmp_path):
    shirt(tmp_path / "blank.png", ink=False)
    figure, summary, numbers = client.predict(
        pad(tmp_path / "blank.png"), SHIPPED, api_name="/reconstruct_sketch"
    )
    assert figure is None and numbers is None and "Draw something" in summary


@pytest.mark.parametrize(
    ("content", "message"),
    [(b"", "empty"), (b"\x89PNG\r\n\x1a\n" + b"\0" * 64, "not an image"), (b"hello world", "not an image")],
)
def test_bad_upload_gets_a_clear_error_and_server_keeps_serving(client, tmp_path, content, message):
    bad = tmp_path / "bad.png"
    bad.write_bytes(content)
    with pytest.raises(AppError, match=message):
        client.predict(handle_file(str(bad)), SHIPPED, api_name="/reconstruct_upload")
    shirt(tmp_path / "ok.png")
    _, summary, _ = client.predict(
        handle_file(str(tmp_path / "ok.png")), SHIPPED, api_name="/reconstruct_upload"
    )
    assert "Reconstruction MSE" in summary


def test_unknown_model_is_a_clear_error(client, tmp_path):
    shirt(tmp_path / "s.png")
    with pytest.raises(AppError, match="Unknown model 'nope'"):
        client.predict(pad(tmp_path / "s.png"), "nope", api_name="/reconstruct_sketch")


TINY = {
    "dataset": "fashion", "model_type": "mlp", "epochs": 1, "batch_size": 64, "lr": 2e-3, "latent_dim": 6,
    "hidden_dim": 32, "seed": 0, "train_size": 1000,
}  # fmt: skip


def test_train_streams_log_lines_and_gives_a_usable_model(app_server, tmp_path):
    client = Client(app_server, verbose=False)  # a session of its own
    job = client.submit(**TINY, api_name="/train")
    updates = list(job)  # every streamed update: (status, log, curve, grid, picker)
    assert job.status().success, job.exception()
    final = job.outputs()[-1]
    assert len(updates) >= 3 and updates[0][0].startswith("Loading")
    streamed = [u[1] for u in updates[:-1] if isinstance(u[1], str)]
    assert any("Epoch [1/1], Step [15/15], Loss: " in log for log in streamed), streamed
    status, log, curve, grid, picker = final
    assert "Training done" in status and "Epoch [1/1] done: train BCE" in log
    assert "Before training: test BCE 0.6" in log  # the untrained model scores ~ln 2
    test_points = [(step, loss) for step, loss, series in curve["data"] if series == "test"]
    assert [step for step, _ in test_points] == [0, 15] and test_points[1][1] < test_points[0][1]
    name = picker["value"]  # the picker's update: the new model is selected and listed
    assert name == "fashion-mlp-session" and (f"{name} (trained)", name) in [
        tuple(c) for c in picker["choices"]
    ]
    assert Image.open(grid).size[0] > 280  # test images over their reconstructions
    shirt(tmp_path / "s.png")
    _, _, numbers = client.predict(pad(tmp_path / "s.png"), name, api_name="/reconstruct_sketch")
    assert numbers["model"] == name and len(numbers["latent"]) == 6  # the trained model, not a shipped one
    assert (
        numbers["percentile"] is not None and numbers["pca_mse"] is not None
    )  # assets computed at train end
    status, zip_path = client.predict(name, api_name="/save_checkpoint")
    import zipfile

    with zipfile.ZipFile(zip_path) as z:
        files = {n.split("/", 1)[1] for n in z.namelist() if not n.endswith("/")}
    assert {"config.json", "model.safetensors", "metrics.json", "README.md", "assets.safetensors"} <= files
    other = Client(app_server, verbose=False)  # another visitor never sees this session's model
    with pytest.raises(AppError, match="Unknown model"):
        other.predict(pad(tmp_path / "s.png"), name, api_name="/reconstruct_sketch")


def test_stop_ends_training_promptly(app_server):
    client = Client(app_server, verbose=False)
    job = client.submit(**{**TINY, "epochs": 20, "train_size": 20000}, api_name="/train")
    wait_training(job)
    assert client.predict(api_name="/stop_training") == "Stopping…"
    t0 = time.monotonic()
    job.result(timeout=60)
    status, log = job.outputs()[-1][:2]
    assert "stopped" in status and "Epoch [20/20]" not in log
    assert time.monotonic() - t0 < 15  # includes measuring the stopped model on the test set
    assert client.predict(api_name="/stop_training") == "Nothing is training in this session."


def wait_training(job, timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while not any(str(o[0]).startswith("Training:") for o in job.outputs()):
        assert time.monotonic() < deadline and not job.done(), job.outputs()
        time.sleep(0.05)


def test_one_run_at_a_time_and_stop_while_queued(app_server):
    a, b = Client(app_server, verbose=False), Client(app_server, verbose=False)
    # a's run must outlast the checks below: the fast MLP trains 20 epochs of 20,000 images in ~8 s
    job_a = a.submit(**{**TINY, "model_type": "conv", "epochs": 20, "train_size": 20000}, api_name="/train")
    wait_training(job_a)
    b.predict(api_name="/train_queued")  # what the Start button does before queueing the run
    job_b = b.submit(**TINY, api_name="/train")
    time.sleep(1.0)
    assert job_b.status().code == Status.IN_QUEUE and job_b.outputs() == []  # waits for a's run
    assert b.predict(api_name="/stop_training") == "Stopping…"
    assert a.predict(api_name="/stop_training") == "Stopping…"
    job_a.result(timeout=60)
    job_b.result(timeout=60)
    assert "stopped" in job_a.outputs()[-1][0]
    assert job_b.outputs()[-1][0] == "Stopped before it started."


def test_abandoned_run_stops_training(app_server):
    """A cancelled job (as when the tab closes) ends the run: the generator is closed, not left running."""
    client = Client(app_server, verbose=False)
    job = client.submit(**{**TINY, "epochs": 20, "train_size": 20000}, api_name="/train")
    wait_training(job)
    job.cancel()
    time.sleep(3)  # the run's current frame takes at most ~0.3 s; then Gradio closes the generator
    # one probe only: /stop_training would itself stop a run that was still going
    assert client.predict(api_name="/stop_training") == "Nothing is training in this session."


def test_out_of_bounds_settings_are_refused(app_server):
    client = Client(app_server, verbose=False)
    for key, value in (("epochs", 500), ("hidden_dim", 4096), ("train_size", 10**6)):
        with pytest.raises(AppError, match=f"Value {value} is greater than maximum value"):
            client.predict(**{**TINY, key: value}, api_name="/train")
    with pytest.raises(AppError, match="Value: 100000 is not in the list of choices"):
        client.predict(**{**TINY, "batch_size": 100000}, api_name="/train")


def test_no_data_on_disk_gives_the_way_to_get_it(monkeypatch, tmp_path):
    """In process: when the dataset is missing, the Train tab says how to get it (and raises gr.Error)."""
    import gradio as gr

    from fmae.errors import DataUnavailableError
    from fmae.training import TrainConfig
    from ui import train_tab
    from ui.state import AppState

    def missing(name, split):
        raise DataUnavailableError(
            f"The {name} dataset is not available. Ways to get it: apt-get install ..."
        )

    monkeypatch.setattr(train_tab, "load_dataset", missing)
    app = AppState(checkpoints=tmp_path, session_root=tmp_path / "sessions")

    class Request:
        session_hash = "s1"

    frames = train_tab.stream_training(app, Request(), TrainConfig(epochs=1), 1000)
    assert next(frames)[0].startswith("Loading")
    status = next(frames)[0]
    assert status.startswith("**Cannot train:** The fashion dataset is not available") and "apt-get" in status
    with pytest.raises(DataUnavailableError):
        next(frames)
    assert isinstance(train_tab.user_error(DataUnavailableError("x")), gr.Error)


@pytest.mark.parametrize(
    ("kwargs", "train_size", "message"),
    [
        ({"epochs": 21}, 1000, "epochs must be between 1 and 20"),
        ({}, 60_001, "train subset size must be between 64 and 60000"),
        ({"batch_size": 2048}, 1000, "batch size must be between 1 and 1024"),
        ({"hidden_dim": 1025}, 1000, "hidden size must be between 1 and 1024"),
        ({"latent_dim": 65}, 1000, "latent size must be between 1 and 64"),
        ({"lr": 0.5}, 1000, r"learning rate must be in \(0, 0.1\]"),
    ],
)
def test_server_side_limits_back_up_the_widgets(kwargs, train_size, message):
    from fmae.training import TrainConfig
    from ui.train_tab import check_limits

    check_limits(TrainConfig(epochs=20, batch_size=1024, hidden_dim=1024, latent_dim=64, lr=0.1), 60_000)
    with pytest.raises(ValueError, match=message):
        check_limits(TrainConfig(**kwargs), train_size)


def test_reconstruct_needs_no_dataset(monkeypatch, tmp_path):
    """In process: shipped models explain a drawing with every dataset loader broken."""
    import os

    import fmae.data
    import fmae.training.reference
    from fmae.errors import DataUnavailableError
    from ui.reconstruct_tab import render
    from ui.state import ROOT, AppState

    def no_data(*args, **kwargs):
        raise DataUnavailableError("no data in this test")

    monkeypatch.setattr(fmae.data, "load_dataset", no_data)
    monkeypatch.setattr(fmae.training.reference, "dataset_pca", no_data)
    app = AppState(
        checkpoints=os.environ.get("FMAE_CHECKPOINTS", ROOT / "checkpoints"), session_root=tmp_path
    )
    arr = shirt(tmp_path / "s.png")
    assert app.shipped.names(), "no shipped checkpoints found"
    for name in app.shipped.names():
        entry = app.shipped.get(name)
        figure, summary, numbers, _ = render(preprocess({"composite": arr}, entry.checkpoint.dataset), entry)
        assert figure.shape == (380, 932, 3) and "Reconstruction MSE" in summary
        assert numbers["percentile"] is not None and numbers["pca_mse"] is not None, name
