"""Hosted for many: a short load run, a short soak, and faults (no data, disk full, no Hub).

The load run drives the shared ``python app.py`` server (conftest's ``app_server``) with the load
benchmark's own code (benchmarks/load.py); the soak and the faults use an app launched in this
process, so its session store can be read and its environment broken on purpose.
"""

from __future__ import annotations

import errno
import os
import sys
import time
from pathlib import Path

os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")  # no network calls from the launched app

import numpy as np
import pytest
import torch
from apptools import free_port, serve_in_process
from gradio_client import Client
from gradio_client.exceptions import AppError

import fmae.data
import fmae.models.checkpoint
from fmae.errors import CheckpointError
from fmae.models import (
    Checkpoint,
    MLPAutoEncoder,
    ModelAssets,
    load_checkpoint,
    model_config,
    save_checkpoint,
)
from fmae.session import ModelEntry, ShippedModels
from ui.state import AppState

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "benchmarks"))
import load  # noqa: E402 - benchmarks/load.py: the load benchmark's own client code

CHECKPOINTS = os.environ.get("FMAE_CHECKPOINTS", ROOT / "checkpoints")
SHIPPED = ShippedModels(CHECKPOINTS).names()
TINY = {
    "dataset": "fashion", "model_type": "mlp", "epochs": 1, "batch_size": 64, "lr": 2e-3, "latent_dim": 6,
    "hidden_dim": 32, "seed": 0, "train_size": 1000,
}  # fmt: skip


class Req:
    """Stands in for gr.Request where only the session hash matters."""

    def __init__(self, session_hash: str) -> None:
        self.session_hash = session_hash


def trained_entry(seed: int = 0) -> ModelEntry:
    torch.manual_seed(seed)
    model = MLPAutoEncoder(hidden_dim=16, latent_dim=4).eval()
    ckpt = Checkpoint(model, None, model_config(model), {"dataset": "fashion"})
    assets = ModelAssets(np.zeros(3, np.float32), np.zeros(784, np.float32), np.eye(4, 784, dtype=np.float32))
    return ModelEntry("fashion-mlp", ckpt, assets, "trained")


@pytest.fixture(scope="module")
def drawings(tmp_path_factory) -> list[Path]:
    return load.make_drawings(tmp_path_factory.mktemp("drawings"), n=8)


# ---------------------------------------------------------------- load
def test_short_load_run_while_training(app_server, drawings):
    """8 visitors reconstruct 2 drawings each while a 9th trains: nothing fails, nothing leaks."""
    assert SHIPPED, "no shipped checkpoints"
    trainer = load.Trainer(app_server, {"epochs": 20, "train_size": 20000, "hidden_dim": 32})
    clients = load.connect(app_server, 8)
    try:
        trainer.start()
        phase = load.hammer(clients, drawings, SHIPPED, load.Phase(8, True), per_client=2)
        assert not trainer.job.done()  # the requests really overlapped the training
        assert trainer.finish(stop=True) < 30  # stopped; its model measured and added to its session
        violations = load.check_isolation(
            [*clients, trainer.client], SHIPPED, {8: trainer.models}, trainer.models, drawings[0]
        )
    finally:
        load.close([*clients, trainer.client])
    assert phase.errors == [] and len(phase.latencies) == 16
    assert trainer.models == ["fashion-mlp-session"] and trainer.models[0] not in SHIPPED
    assert violations == []


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    """The app launched in this process: (url, AppState)."""
    with serve_in_process(CHECKPOINTS, tmp_path_factory.mktemp("sessions")) as served_app:
        yield served_app


def reconstructs(client: Client, drawing: Path, model: str = "fashion-mlp") -> bool:
    """The app still explains a drawing for this client."""
    _, summary, numbers = client.predict(load.pad(drawing), model, api_name="/reconstruct_sketch")
    return "Reconstruction MSE" in summary and numbers["model"] == model


# ---------------------------------------------------------------- soak
def test_visitors_who_leave_are_dropped(served, drawings, monkeypatch):
    """Disconnected gradio_client sessions leave the store (Gradio's unload), files and all."""
    monkeypatch.setenv("GRADIO_HEARTBEAT_INTERVAL", "0.3")  # read per heartbeat stream: notice leavers fast
    url, state = served
    before = set(state.store.ids())
    clients = load.connect(url, 6)
    hashes = {c.session_hash for c in clients}
    for c in clients:
        assert reconstructs(c, drawings[1])
    first = Req(clients[0].session_hash)
    name, _ = state.add_model(first, "fashion-mlp", trained_entry())
    folder = state.save(first, name)  # a file of this visitor's own, in its session folder
    assert folder.is_dir() and hashes <= set(state.store.ids())
    load.close(clients)
    deadline = time.monotonic() + 15
    while hashes & set(state.store.ids()) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not hashes & set(state.store.ids()) and not folder.parent.exists()
    assert set(state.store.ids()) <= before | hashes


def test_soak_keeps_the_store_bounded(tmp_path, monkeypatch):
    """60 visitors with real sessions, models and saved files: at most 10 stay; the others' runs are told
    to stop and their files are gone."""
    monkeypatch.setenv("FMAE_MAX_SESSIONS", "10")
    state = AppState(CHECKPOINTS, session_root=tmp_path / "sessions")
    seen = []
    for i in range(60):
        req = Req(f"visitor-{i}")
        session = state.session(req)
        assert state.resolve(req, None).name in SHIPPED
        state.add_model(req, "fashion-mlp", trained_entry(i))
        state.save(req, None)
        session.running = i % 3 == 0  # a training run in progress (its loop polls stop_requested)
        seen.append((req, session, state.session_dir(req)))
        if i % 4 == 1:
            state.drop(req)  # the tab closed
        assert len(state.store) <= 10
    alive = set(state.store.ids())
    assert len(alive) == 10 and state.store.total_weight() <= 10 * seen[0][1].nbytes
    for req, session, folder in seen:
        if req.session_hash in alive:
            assert folder.is_dir() and not session.stop_requested.is_set()
        else:  # evicted or dropped: a run would stop at its next step, and the files are gone
            assert session.stop_requested.is_set() and not folder.exists()
            assert state.store.peek(req.session_hash) is not session
    assert len(list((tmp_path / "sessions").iterdir())) == 10
    state.store.ttl_s = 1e-3  # everyone idle for longer than that: the idle timeout empties the store
    time.sleep(0.01)
    assert state.store.prune() == 10 and len(state.store) == 0
    assert list((tmp_path / "sessions").iterdir()) == []


# ---------------------------------------------------------------- faults
@pytest.fixture
def no_data(tmp_path, monkeypatch):
    """No Fashion-MNIST anywhere fmae.data looks, and any download fails at once (a dead proxy)."""
    monkeypatch.chdir(tmp_path)  # no ./datasets
    monkeypatch.setattr(fmae.data, "DEBIAN_FASHION_DIR", tmp_path / "no-debian-package")
    monkeypatch.setenv("FMAE_DATA_DIR", str(tmp_path / "data"))
    dead = f"http://127.0.0.1:{free_port()}"
    for var in ("http_proxy", "https_proxy", "HTTP_PROXY", "HTTPS_PROXY"):
        monkeypatch.setenv(var, dead)
    for var in ("no_proxy", "NO_PROXY"):
        monkeypatch.setenv(var, "127.0.0.1,localhost")
    return tmp_path / "data"


@pytest.mark.parametrize("fault", ["missing", "unreadable"])
def test_no_dataset_gives_the_ways_to_get_it_and_reconstruct_still_works(served, drawings, no_data, fault):
    if fault == "unreadable":
        raw = no_data / "FashionMNIST" / "raw"
        raw.mkdir(parents=True)
        for name in ("train-images-idx3-ubyte", "train-labels-idx1-ubyte", "t10k-images-idx3-ubyte",
                     "t10k-labels-idx1-ubyte"):  # fmt: skip
            (raw / name).write_bytes(b"\0\0\x08\x03 not an idx file")
    client = Client(served[0], verbose=False)
    job = client.submit(**TINY, api_name="/train")
    with pytest.raises(AppError) as info:
        job.result(timeout=60)
    message = str(info.value)
    expected = "dataset is not available" if fault == "missing" else "are unreadable"
    assert expected in message and "Ways to get it" in message, message
    assert "FMAE_DATA_DIR" in message and "apt-get install dataset-fashion-mnist" in message
    assert job.outputs()[-1][0].startswith("**Cannot train:**")  # the status box says it too
    assert not any((no_data / "FashionMNIST" / "raw").glob("*.gz"))  # nothing was downloaded
    assert reconstructs(client, drawings[2])


@pytest.mark.parametrize("where", ["weights", "assets"])
def test_disk_full_on_save_is_clear_and_keeps_the_previous_checkpoint(served, drawings, monkeypatch, where):
    url, state = served
    client = Client(url, verbose=False)
    req = Req(client.session_hash)
    name, _ = state.add_model(req, "fashion-mlp", trained_entry())
    client.predict(name, api_name="/save_checkpoint")  # a first save works
    folder = state.session_dir(req) / name
    before = {p.name: p.read_bytes() for p in folder.iterdir()}

    def full(*args, **kwargs):
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    if where == "weights":
        monkeypatch.setattr(fmae.models.checkpoint, "save_file", full)
    else:  # written after the atomic swap: checkpoint.py cannot turn this one into a CheckpointError
        monkeypatch.setattr("ui.state.save_assets", full)
    with pytest.raises(AppError, match="disk is full") as info:
        client.predict(name, api_name="/save_checkpoint")
    assert "Unexpected error" not in str(info.value)
    if where == "weights":
        assert {p.name: p.read_bytes() for p in folder.iterdir()} == before  # the previous one, intact
        assert [p.name for p in folder.parent.iterdir() if ".tmp-" in p.name] == []
    load_checkpoint(folder)  # loadable either way
    monkeypatch.undo()
    assert reconstructs(client, drawings[3], name) and reconstructs(client, drawings[3])


def test_unreachable_hub_is_clear_and_the_app_keeps_serving(served, drawings, monkeypatch):
    from huggingface_hub import constants

    dead = f"http://127.0.0.1:{free_port()}"
    monkeypatch.setattr(constants, "ENDPOINT", dead)  # what HF_ENDPOINT sets when huggingface_hub loads
    template = dead + "/{repo_id}/resolve/{revision}/{filename}"
    monkeypatch.setattr(constants, "HUGGINGFACE_CO_URL_TEMPLATE", template)
    client = Client(served[0], verbose=False)
    token = "hf_SomeoneWhoCannotReachTheHub0123456789"
    t0 = time.monotonic()
    with pytest.raises(AppError, match=f"cannot reach the Hub at {dead}") as info:
        client.predict("fashion-mlp", token, "carol/x", False, "", api_name="/hub_push")
    assert token not in str(info.value)
    with pytest.raises(AppError, match=f"not in the local cache and the Hub at {dead} cannot be reached"):
        client.predict("carol/never-pulled", "", token, api_name="/hub_pull")
    assert time.monotonic() - t0 < 20  # refused connections fail fast: no long retries
    assert reconstructs(client, drawings[4])
    picker, _ = client.predict(api_name="/init_session")
    assert [c[1] for c in picker["choices"]] == SHIPPED  # the failed pull added nothing


def test_extra_files_land_with_the_weights_or_not_at_all(tmp_path):
    """AppState.save writes assets.safetensors this way: a failure keeps the old folder whole."""
    model = trained_entry().checkpoint.model
    folder = save_checkpoint(
        model, tmp_path / "ck", {"i": 1}, extra_files=lambda d: (d / "extra.txt").write_text("1")
    )
    assert (folder / "extra.txt").read_text() == "1"
    before = {p.name: p.read_bytes() for p in folder.iterdir()}

    def disk_full(tmp: Path) -> None:
        (tmp / "extra.txt").write_text("2")
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    with pytest.raises(CheckpointError, match=r"the disk is full.*unchanged"):
        save_checkpoint(model, folder, {"i": 2}, extra_files=disk_full)
    assert {p.name: p.read_bytes() for p in folder.iterdir()} == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["ck"]


@pytest.mark.parametrize(
    ("code", "says"),
    [
        (errno.ENOSPC, "the disk is full"),
        (errno.EROFS, "the file system is read-only"),
        (errno.EACCES, "permission denied"),
    ],
)
def test_save_checkpoint_turns_os_errors_into_clear_messages(tmp_path, monkeypatch, code, says):
    model = trained_entry().checkpoint.model
    folder = save_checkpoint(model, tmp_path / "ck", {"dataset": "fashion", "i": 1})
    before = {p.name: p.read_bytes() for p in folder.iterdir()}

    def fail(*args, **kwargs):
        raise OSError(code, os.strerror(code))

    monkeypatch.setattr(fmae.models.checkpoint, "save_file", fail)
    with pytest.raises(CheckpointError, match=f"could not save the checkpoint {folder}: {says}.*unchanged"):
        save_checkpoint(model, folder, {"dataset": "fashion", "i": 2})
    assert {p.name: p.read_bytes() for p in folder.iterdir()} == before
    with pytest.raises(CheckpointError, match=f"{says}.*nothing was written"):
        save_checkpoint(model, tmp_path / "new", {})
    assert sorted(p.name for p in tmp_path.iterdir()) == ["ck"]  # no temporary folders left
