"""The Embeddings tab against models and failures that used to crash or confuse the server
(issue 13, part 1), through its HTTP API (gradio_client) on real servers.

A collapsed model (every image gets the same code) and a model with latent size 1 are built
directly and put in a visitor's session, as the Train tab would. The worker tests kill the
server's projection worker in the middle of a t-SNE: the computing visitor gets a message,
other visitors keep getting answers, and the next computation gets a fresh worker. One of them
runs ``python app.py`` itself (which builds its UI at import: the worker must not re-run that).
"""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path

os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")  # no network calls from the launched app

import numpy as np
import pytest
import torch
from apptools import free_port, serve_in_process, start_server, stop_server
from gradio_client import Client
from gradio_client.exceptions import AppError
from proctools import children, cpu_ticks, gone, pid_alive, wait_for_cpu

from fmae.latent import METHODS, worker_pids
from fmae.models import MLPAutoEncoder, load_checkpoint, save_checkpoint
from fmae.session import ModelEntry
from ui.embed_scatter import STRIP_SUBTITLE, unpack

ROOT = Path(__file__).resolve().parents[1]
SHIPPED = "fashion-mlp"
WALK = (0.0, 0.0, 0.0, 0.0)


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    with serve_in_process(ROOT / "checkpoints", tmp_path_factory.mktemp("sessions")) as served_app:
        yield served_app


def call(client: Client, endpoint: str, model: str, methods, n: int = 500, seed: int = 0) -> tuple:
    return client.predict(model, list(methods), n, seed, *WALK, api_name=endpoint)


def by_method(out: tuple) -> dict[str, dict]:
    return dict(zip(METHODS, out[: len(METHODS)], strict=True))


def give_model(served, client: Client, name: str, model: MLPAutoEncoder, tmp_path: Path) -> None:
    """Put ``model`` in the client's session as a trained model called ``name`` (as the Train tab does)."""
    call(client, "/embed_paint", SHIPPED, ["pca"], n=2000)  # the session exists once it made a call
    ckpt = load_checkpoint(save_checkpoint(model, tmp_path / name, {"dataset": "fashion"}))
    served[1].store.get(client.session_hash).add_model(name, ModelEntry(name, ckpt, None, "trained"))


def collapsed_model() -> MLPAutoEncoder:
    model = MLPAutoEncoder(hidden_dim=16, latent_dim=10)
    with torch.no_grad():
        model.encoder[-1].weight.zero_()  # every image -> the bias: one code for all
    return model.eval()


def test_a_collapsed_model_gets_a_clear_message_from_every_method(served, tmp_path):
    client = Client(served[0], verbose=False)
    give_model(served, client, "collapsed", collapsed_model(), tmp_path)
    for methods in (["tsne"], ["kpca"], ["isomap"], list(METHODS)):
        with pytest.raises(AppError, match="The encoder has collapsed: all 500 codes are the same") as info:
            call(client, "/embed_compute", "collapsed", methods)
        assert "upstream" not in str(info.value) and "Arpack" not in str(info.value)
    out = call(client, "/embed_paint", SHIPPED, ["pca"], n=2000)  # the server is still there
    assert by_method(out)["pca"]["visible"] is True


def test_the_issue_train_settings_then_tsne_is_a_message_not_a_dead_server(served, tmp_path):
    """The issue's recipe: fashion, mlp, lr 0.1, hidden 16, batch 16, 1,000 images, 1 epoch, seed 0;
    then Embeddings, t-SNE only, Compute. On the old code this killed the server (SIGSEGV)."""
    from fmae.data import load_dataset
    from fmae.training import TrainConfig, train_to_end

    config = TrainConfig(
        dataset="fashion", model="mlp", lr=0.1, hidden_dim=16, batch_size=16, train_limit=1000, epochs=1,
        seed=0, device="cpu",
    )  # fmt: skip
    model = train_to_end(config, load_dataset("fashion", "train"), load_dataset("fashion", "test")).model
    client = Client(served[0], verbose=False)
    give_model(served, client, "lr-0.1", model, tmp_path)
    for methods in (["tsne"], ["kpca", "isomap"]):
        with pytest.raises(AppError, match="The encoder has collapsed"):
            call(client, "/embed_compute", "lr-0.1", methods, n=2000)
    assert by_method(call(client, "/embed_paint", SHIPPED, ["tsne"], n=2000))["tsne"]["visible"] is True


def test_latent_size_1_gets_strips_with_scores(served, tmp_path):
    torch.manual_seed(0)
    client = Client(served[0], verbose=False)
    give_model(served, client, "latent1", MLPAutoEncoder(hidden_dim=32, latent_dim=1).eval(), tmp_path)
    out = call(client, "/embed_compute", "latent1", ["pca", "tsne", "lle"])
    details, status = out[len(METHODS) + 1], out[len(METHODS)]
    assert not details["failed"] and "each map is a strip" in status
    for method in ("pca", "tsne", "lle"):
        plot = by_method(out)[method]
        xy = unpack(plot["value"])[0]
        assert plot["visible"] and xy.shape == (500, 2) and np.isfinite(xy).all()
        assert plot["value"]["subtitle"].endswith(STRIP_SUBTITLE)
        lo_y, hi_y = plot["value"]["bounds"][2:]
        assert np.abs(xy[:, 1]).max() <= 0.25 * (hi_y - lo_y)  # a band in the middle, not a cloud
        assert 0.9 < details["maps"][method]["trustworthiness"] <= 1


def test_killing_the_worker_mid_computation_keeps_the_server_answering(served):
    computing, other = Client(served[0], verbose=False), Client(served[0], verbose=False)
    call(other, "/embed_compute", SHIPPED, ["pca"], seed=5)  # starts the app's worker (and loads codes)
    # other tests in this pytest process may have left workers of their own: the app's is the one
    # that starts computing once the t-SNE is submitted
    candidates = [p for p in worker_pids() if p != os.getpid()]
    job = computing.submit(SHIPPED, ["tsne"], 10_000, 7, *WALK, api_name="/embed_compute")
    pid = busy_one(candidates)  # the t-SNE of 10,000 codes is running in this worker
    out = call(other, "/embed_paint", SHIPPED, ["pca", "tsne"], n=2000)  # served meanwhile
    assert by_method(out)["tsne"]["visible"] is True
    os.kill(pid, signal.SIGKILL)
    result = job.result(timeout=120)
    status, details = result[len(METHODS)], result[len(METHODS) + 1]
    assert "**t-SNE failed**: t-SNE of 10000 codes: the projection worker crashed (SIGKILL)" in status
    assert "The server is fine" in details["failed"]["tsne"]
    assert by_method(result)["tsne"]["visible"] is False
    assert gone(pid)
    again = call(other, "/embed_compute", SHIPPED, ["pca", "kpca"], seed=6)  # a fresh worker
    assert not again[len(METHODS) + 1]["failed"]
    assert [by_method(again)[m]["visible"] for m in ("pca", "kpca")] == [True, True]
    assert worker_pids() and pid not in worker_pids()


def busy_one(pids: list[int], ticks: int = 50, give_up_s: float = 60.0) -> int:
    """The first of ``pids`` to use ``ticks`` more clock ticks (the one computing)."""
    start = {p: cpu_ticks(p) for p in pids if pid_alive(p)}
    deadline = time.monotonic() + give_up_s
    while time.monotonic() < deadline:
        for p, ticks0 in start.items():
            if pid_alive(p) and cpu_ticks(p) >= ticks0 + ticks:
                return p
        time.sleep(0.05)
    raise AssertionError(f"none of the workers {sorted(start)} started computing")


def loky_worker_of(server_pid: int) -> int | None:
    for child in children(server_pid):
        try:
            cmdline = Path(f"/proc/{child}/cmdline").read_bytes().decode(errors="replace")
        except OSError:
            continue
        if "popen_loky" in cmdline:
            return child
    return None


def test_python_app_py_survives_a_killed_worker():
    proc = start_server(free_port(), timeout=180)
    fresh = None
    try:
        computing = Client(proc.url, verbose=False, ssl_verify=False)
        other = Client(proc.url, verbose=False, ssl_verify=False)
        before = call(other, "/embed_compute", SHIPPED, ["pca"], seed=5)  # starts the worker
        assert by_method(before)["pca"]["visible"] is True
        pid = loky_worker_of(proc.pid)
        assert pid is not None, children(proc.pid)
        # the worker did not re-run app.py (its module-level build_demo() imports gradio, which loads
        # pydantic's and orjson's native libraries); the worker needs neither
        maps = Path(f"/proc/{pid}/maps").read_text()
        assert "pydantic_core" not in maps and "orjson" not in maps
        job = computing.submit(SHIPPED, ["tsne"], 10_000, 7, *WALK, api_name="/embed_compute")
        wait_for_cpu(pid)
        os.kill(pid, signal.SIGSEGV)  # as a native crash would
        status = job.result(timeout=120)[len(METHODS)]
        assert "t-SNE of 10000 codes: the projection worker crashed (SIGSEGV)" in status
        assert proc.poll() is None  # the server lives
        out = call(other, "/embed_paint", SHIPPED, ["pca", "kpca", "tsne"], n=2000)
        assert all(by_method(out)[m]["visible"] for m in ("pca", "kpca", "tsne"))
        again = call(other, "/embed_compute", SHIPPED, ["kpca"], seed=6)
        assert by_method(again)["kpca"]["visible"] is True
        fresh = loky_worker_of(proc.pid)
        assert fresh not in (None, pid)
    finally:
        stop_server(proc)
    assert fresh is not None and gone(fresh, give_up_s=30)  # it notices its server is gone (checks every 1 s)
