"""Push and pull checkpoints through the real huggingface_hub client and a local Hub-protocol server.

What the server (tests/hub_server.py) does NOT cover: LFS and Xet uploads (every file is sent
inline as a "regular" upload, so large-file transfer paths are untested), real authentication
and permissions (a token is valid when the test registered it; there are no scopes, orgs, gated
repos or rate limits), pull requests, tags, pagination, and the Hub's own validation of model
cards (``/api/validate-yaml`` accepts everything; card metadata is checked here with
``huggingface_hub.ModelCard`` instead).
"""

from __future__ import annotations

import hashlib
import json
import os
import pickle
import socket
import subprocess
import sys
import traceback
import uuid
from pathlib import Path

import numpy as np
import pytest
import torch
from huggingface_hub import CommitOperationAdd, HfApi, ModelCard
from PIL import Image
from safetensors.torch import save_file

import fmae.models.checkpoint
from fmae.errors import CheckpointError, HubError
from fmae.hub import SAFE_FILES, pull_checkpoint, push_checkpoint
from fmae.models import (
    MLPAutoEncoder,
    ModelAssets,
    load_assets,
    load_checkpoint,
    render_card,
    save_assets,
    save_checkpoint,
)
from fmae.training import write_card_images

ROOT = Path(__file__).resolve().parents[1]
TOKEN = "hf_AliceWriteToken0123456789abcdefXYZ"  # shaped like a real token, so scrubbing is tested
WRONG = "hf_WrongToken9876543210zyxwvutsrqpo"
INFO = {
    "dataset": "fashion",
    "dataset_source": "/usr/share/datasets/fashion-mnist",
    "train_config": {"epochs": 1, "batch_size": 64, "lr": 0.001},
    "seed": 7,
    "metrics": {"test_bce": 0.29, "test_mse": 0.0155, "pca_mse": 0.0244, "knn_acc": 0.832},
    "history": {"step_loss": [0.69, 0.5, 0.4, 0.35, 0.33, 0.31], "epoch_test_bce": [0.3, 0.29]},
}


@pytest.fixture
def hub(hub_server):
    hub_server.add_token(TOKEN, "alice")
    return hub_server


@pytest.fixture
def repo_id() -> str:
    return f"alice/fmae-{uuid.uuid4().hex[:8]}"


def make_model(seed: int, hidden_dim: int = 16) -> MLPAutoEncoder:
    torch.manual_seed(seed)
    return MLPAutoEncoder(hidden_dim=hidden_dim, latent_dim=4)


def same_weights(a: torch.nn.Module, b: torch.nn.Module) -> bool:
    sa, sb = a.state_dict(), b.state_dict()
    return sa.keys() == sb.keys() and all(torch.equal(sa[k], sb[k]) for k in sa)


def snapshot(folder: Path) -> dict[str, tuple[str, int]]:
    """File name -> (sha256, mtime_ns) for everything in ``folder``."""
    return {
        p.name: (hashlib.sha256(p.read_bytes()).hexdigest(), p.stat().st_mtime_ns)
        for p in sorted(folder.iterdir())
    }


def commit_raw(repo_id: str, files: dict[str, bytes]) -> None:
    """Put arbitrary files in a repo with the plain client (how a hostile repo would look)."""
    api = HfApi(token=TOKEN)
    api.create_repo(repo_id, exist_ok=True)
    ops = [CommitOperationAdd(path_in_repo=k, path_or_fileobj=v) for k, v in files.items()]
    api.create_commit(repo_id, ops, commit_message="raw files")


def weights_bytes(model: torch.nn.Module) -> bytes:
    path = Path(os.environ["HF_HOME"]) / f"w-{uuid.uuid4().hex}.safetensors"
    save_file({k: v.contiguous() for k, v in model.state_dict().items()}, str(path))
    data = path.read_bytes()
    path.unlink()
    return data


class _MakeDir:
    """Unpickling this runs ``os.mkdir(path)``: a stand-in for malicious pickle code."""

    def __init__(self, path: str):
        self.path = path

    def __reduce__(self):
        return (os.mkdir, (self.path,))


def test_push_twice_then_pull_each_revision(hub, repo_id, tmp_path):
    folder = tmp_path / "ckpt"
    first, second = make_model(0), make_model(1)
    save_checkpoint(first, folder, INFO)
    lines: list[str] = []
    r1 = push_checkpoint(folder, repo_id, token=TOKEN, message="first weights", progress=lines.append)
    save_checkpoint(second, folder, INFO)
    r2 = push_checkpoint(folder, repo_id, token=TOKEN, message="second weights")

    assert r1.commit_oid != r2.commit_oid
    assert r2.commit_url == f"{hub.url}/{repo_id}/commit/{r2.commit_oid}"
    assert any("uploading" in line for line in lines) and r1.commit_url in lines[-1]
    commits = HfApi().list_repo_commits(repo_id)
    assert [c.commit_id for c in commits[:2]] == [r2.commit_oid, r1.commit_oid]
    assert [c.title for c in commits] == ["second weights", "first weights", "initial commit"]

    latest = pull_checkpoint(repo_id)
    older = pull_checkpoint(repo_id, revision=r1.commit_oid)
    assert latest.name == r2.commit_oid and older.name == r1.commit_oid
    assert same_weights(load_checkpoint(latest).model, second)
    assert same_weights(load_checkpoint(older).model, first)
    assert not same_weights(first, second)
    assert {p.name for p in latest.iterdir()} == {
        "config.json",
        "model.safetensors",
        "metrics.json",
        "README.md",
    }

    out = pull_checkpoint(repo_id, revision=r1.commit_oid, out=tmp_path / "pulled")
    assert out == tmp_path / "pulled"
    assert same_weights(load_checkpoint(out).model, first)
    assert load_checkpoint(out).metrics == INFO["metrics"]


def test_push_sends_only_checkpoint_files_and_a_card_for_the_repo(hub, repo_id, tmp_path):
    folder = tmp_path / "ckpt"
    model = make_model(0)
    save_checkpoint(model, folder, INFO)
    images = torch.randint(0, 256, (40, 28, 28), dtype=torch.uint8)
    written = write_card_images(folder, model, INFO, test_images=images, test_labels=torch.arange(40) % 10)
    assert written == ["loss_curve.png", "reconstructions.png", "embedding.png"]
    basis = np.linalg.qr(np.random.default_rng(0).normal(size=(784, 4)))[0].T.astype(np.float32)
    save_assets(
        ModelAssets(np.sort(np.random.default_rng(1).random(50, dtype=np.float32)), basis[0], basis), folder
    )
    (folder / "optimizer.pt").write_bytes(b"not for the hub")
    (folder / "notes.txt").write_text("private")

    push_checkpoint(folder, repo_id, token=TOKEN)
    out = pull_checkpoint(repo_id, out=tmp_path / "pulled")
    assert (out / "embedding.png").is_file() and not (out / "notes.txt").exists()
    assert load_assets(out).pca_components.shape == (4, 784)
    remote = set(HfApi().list_repo_files(repo_id))
    assert remote == {".gitattributes", *SAFE_FILES}
    card = ModelCard(hub.repos[repo_id].resolve("main").files["README.md"].decode())
    assert f'pull_checkpoint("{repo_id}")' in card.text and "![embedding.png](embedding.png)" in card.text
    assert "<namespace>" in (folder / "README.md").read_text()  # the local card is left as it was

    (folder / "embedding.png").unlink()
    push_checkpoint(folder, repo_id, token=TOKEN)
    assert "embedding.png" not in HfApi().list_repo_files(repo_id)
    pulled = pull_checkpoint(repo_id, out=out)  # same folder again: the stale image goes
    assert Image.open(pulled / "reconstructions.png").size[0] > 200
    assert (
        not (pulled / "embedding.png").exists() and "embedding.png" not in (pulled / "README.md").read_text()
    )


def test_card_metadata_lists_metrics_and_images(tmp_path):
    config = {"model_type": "mlp", "input_dim": 784, "hidden_dim": 16, "latent_dim": 4}
    card = ModelCard(render_card(config, INFO, images=["loss_curve.png"]))
    assert card.data.library_name == "fmae" and card.data.license == "mit"
    assert {"autoencoder", "fashion", "mlp"} <= set(card.data.tags)
    results = {r.metric_name: r.metric_value for r in card.data.eval_results}
    assert sorted(results.values()) == sorted(INFO["metrics"].values())
    assert "![loss_curve.png](loss_curve.png)" in card.text and "reconstructions.png" not in card.text
    for text in ("Fashion-MNIST", "MLPAutoEncoder", "**Seed:** 7", '"batch_size": 64', "| 0.8320 |"):
        assert text in card.text
    bare = ModelCard(render_card(config, {}))
    assert bare.data.eval_results is None and "No test metrics" in bare.text


def test_pickle_only_repo_is_refused_and_never_unpickled(hub, repo_id, tmp_path):
    payload = pickle.dumps(_MakeDir(str(tmp_path / "would-be-created")))
    pickle.loads(pickle.dumps(_MakeDir(str(tmp_path / "proof"))))
    assert (tmp_path / "proof").is_dir()  # the payload really runs code when unpickled
    config = json.dumps({"model_type": "mlp", "hidden_dim": 16, "latent_dim": 4}).encode()
    commit_raw(repo_id, {"config.json": config, "pytorch_model.bin": payload})

    before = len(hub.requests)
    with pytest.raises(CheckpointError, match=r"only pickle weights \(pytorch_model\.bin\).*never"):
        pull_checkpoint(repo_id)
    assert not (tmp_path / "would-be-created").exists()
    assert not any("pytorch_model.bin" in path for _, path in hub.requests[before:])
    assert not list(Path(os.environ["HF_HOME"]).rglob("pytorch_model.bin"))


def test_pickle_beside_safetensors_is_never_downloaded(hub, repo_id, tmp_path):
    model = make_model(3)
    config = json.dumps({"model_type": "mlp", "hidden_dim": 16, "latent_dim": 4}).encode()
    payload = pickle.dumps(_MakeDir(str(tmp_path / "would-be-created")))
    commit_raw(
        repo_id, {"config.json": config, "model.safetensors": weights_bytes(model), "model.pt": payload}
    )
    before = len(hub.requests)
    folder = pull_checkpoint(repo_id)
    assert same_weights(load_checkpoint(folder).model, model)
    assert not (folder / "model.pt").exists() and not (tmp_path / "would-be-created").exists()
    assert not any(path.endswith("model.pt") for _, path in hub.requests[before:])


def test_huge_config_is_refused_before_any_model_is_built(hub, repo_id, monkeypatch):
    built: list[dict] = []

    class Spy(MLPAutoEncoder):
        def __init__(self, **kwargs):
            built.append(kwargs)
            super().__init__(**kwargs)

    monkeypatch.setitem(fmae.models.checkpoint.MODELS, "mlp", Spy)
    config = json.dumps({"model_type": "mlp", "hidden_dim": 10**9, "latent_dim": 4}).encode()
    commit_raw(repo_id, {"config.json": config, "model.safetensors": weights_bytes(make_model(0))})
    with pytest.raises(
        CheckpointError, match=r"hidden_dim must be an integer in \[1, 2048\], not 1000000000"
    ):
        pull_checkpoint(repo_id)
    assert built == []


@pytest.mark.parametrize(
    ("weights", "message"),
    [
        (
            lambda: make_model(0, hidden_dim=32),
            r"encoder\.0\.weight has shape \(32, 784\).*expected \(16, 784\)",
        ),
        (lambda: torch.nn.Linear(4, 4), r"weights do not match the config \(missing \[.*unexpected \['bias'"),
    ],
)
def test_weights_must_match_the_config_exactly(hub, repo_id, weights, message):
    config = json.dumps({"model_type": "mlp", "hidden_dim": 16, "latent_dim": 4}).encode()
    commit_raw(repo_id, {"config.json": config, "model.safetensors": weights_bytes(weights())})
    with pytest.raises(CheckpointError, match=message):
        pull_checkpoint(repo_id)


@pytest.mark.parametrize(
    "bad", ["", "a/b/c", "foo--bar", "../etc", "has space/x", "x" * 97, "me/name.git", None]
)
def test_bad_repo_ids_are_refused_before_any_request(hub, tmp_path, bad):
    save_checkpoint(make_model(0), tmp_path / "ckpt", INFO)
    before = len(hub.requests)
    with pytest.raises(HubError, match="repo id"):
        pull_checkpoint(bad)
    with pytest.raises(HubError, match="repo id"):
        push_checkpoint(tmp_path / "ckpt", bad, token=TOKEN)
    assert len(hub.requests) == before


def test_push_needs_a_namespace_and_a_token(hub, tmp_path, monkeypatch):
    folder = tmp_path / "ckpt"
    save_checkpoint(make_model(0), folder, INFO)
    with pytest.raises(CheckpointError, match="does not exist"):
        push_checkpoint(tmp_path / "missing", "alice/fmae-x", token=TOKEN)
    with pytest.raises(HubError, match="needs a namespace: write it as 'username/fmae'"):
        push_checkpoint(folder, "fmae", token=TOKEN)
    monkeypatch.delenv("HF_TOKEN", raising=False)
    with pytest.raises(HubError, match=r"needs a Hugging Face token.*set HF_TOKEN.*hf auth login"):
        push_checkpoint(folder, "alice/fmae-x")
    monkeypatch.setenv("HF_TOKEN", TOKEN)  # the environment variable is used when no token is passed
    assert push_checkpoint(folder, f"alice/env-{uuid.uuid4().hex[:6]}").commit_oid


def dead_endpoint() -> str:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    return f"http://127.0.0.1:{port}"  # nothing listens there any more


@pytest.mark.parametrize(
    ("case", "message"),
    [
        ("wrong token", r"rejected the token for alice/.* \(401 Unauthorized\)"),
        ("other namespace", r"has no write access to bob/.* \(403 Forbidden\)"),
        ("no network", r"cannot reach the Hub at http://127\.0\.0\.1:\d+"),
    ],
)
def test_failed_push_says_why_hides_the_token_and_keeps_the_checkpoint(
    hub, tmp_path, monkeypatch, case, message
):
    folder = tmp_path / "ckpt"
    save_checkpoint(make_model(0), folder, INFO)
    before = snapshot(folder)
    token, repo, endpoint = TOKEN, f"alice/fail-{uuid.uuid4().hex[:6]}", None
    if case == "wrong token":
        token = WRONG
        with pytest.raises(Exception, match=WRONG):  # the server does echo it: scrubbing is needed
            HfApi(token=WRONG).create_repo(repo, exist_ok=True)
    elif case == "other namespace":
        repo = "bob/fmae"
    else:
        endpoint = dead_endpoint()
    monkeypatch.setenv("HF_TOKEN", token)
    with pytest.raises(HubError, match=message) as info:
        push_checkpoint(folder, repo, endpoint=endpoint)
    shown = "".join(traceback.format_exception(info.value))
    assert token not in shown and info.value.__context__ is None
    assert snapshot(folder) == before
    assert repo not in hub.repos or len(hub.repos[repo].commits) == 1


def test_unexpected_hub_answers_are_reported_without_the_token(hub, repo_id, tmp_path):
    save_checkpoint(make_model(0), tmp_path / "ckpt", INFO)
    hub.fail_next = 500  # the server's error text carries the Authorization header
    with pytest.raises(HubError, match=r"the Hub answered 500 for alice/.*injected failure") as info:
        push_checkpoint(tmp_path / "ckpt", repo_id, token=TOKEN)
    assert "***" in str(info.value) and TOKEN not in str(info.value)


def test_pull_errors_are_clear(hub, repo_id, tmp_path):
    save_checkpoint(make_model(0), tmp_path / "ckpt", INFO)
    push_checkpoint(tmp_path / "ckpt", repo_id, token=TOKEN, private=True)
    with pytest.raises(HubError, match=rf"repository {repo_id} was not found .*private"):
        pull_checkpoint(repo_id)  # private, and no token
    assert load_checkpoint(pull_checkpoint(repo_id, token=TOKEN)).config["hidden_dim"] == 16
    with pytest.raises(HubError, match=rf"{repo_id} has no revision 'v9'"):
        pull_checkpoint(repo_id, revision="v9", token=TOKEN)
    with pytest.raises(HubError, match="rejected the token") as info:
        pull_checkpoint(repo_id, token=WRONG)
    assert WRONG not in "".join(traceback.format_exception(info.value)) and info.value.__context__ is None
    with pytest.raises(HubError, match=r"not in the local cache and the Hub at http://127.0.0.1:\d+ cannot"):
        pull_checkpoint("alice/never-pulled", endpoint=dead_endpoint())


def test_reload_offline_from_the_cache_in_a_subprocess(hub, repo_id, tmp_path):
    model = make_model(5)
    save_checkpoint(model, tmp_path / "ckpt", INFO)
    push_checkpoint(tmp_path / "ckpt", repo_id, token=TOKEN)
    online = pull_checkpoint(repo_id)
    script = f"""
import json
from fmae.models import load_checkpoint
from fmae.errors import HubError
from fmae.hub import pull_checkpoint, push_checkpoint
folder = pull_checkpoint({repo_id!r})
state = load_checkpoint(folder).model.state_dict()
try:
    pull_checkpoint("alice/never-pulled")
    missing = "no error"
except HubError as exc:
    missing = str(exc)
try:
    push_checkpoint(folder, {repo_id!r}, token="hf_x")
except HubError as exc:
    push = str(exc)
print(json.dumps({{"folder": str(folder), "sum": float(sum(v.double().sum() for v in state.values())),
                  "missing": missing, "push": push}}))
"""
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "PYTHONPATH": str(ROOT)}
    before = len(hub.requests)
    done = subprocess.run(
        [sys.executable, "-c", script], env=env, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout.strip().splitlines()[-1])
    assert len(hub.requests) == before  # nothing reached the server
    assert result["folder"] == str(online)
    expected = float(sum(v.double().sum() for v in model.state_dict().values()))
    assert result["sum"] == pytest.approx(expected, rel=1e-12)
    assert "alice/never-pulled@main is not in the local cache" in result["missing"]
    assert "HF_HUB_OFFLINE=1 is set" in result["missing"] and "HF_HUB_OFFLINE=1 is set" in result["push"]
