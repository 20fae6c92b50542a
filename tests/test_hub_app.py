"""The app's Hub tab through its HTTP API (gradio_client), against the local Hub-protocol server.

The app runs in this process (``app.build_demo()`` launched on a free port), so the HF_ENDPOINT
that conftest.py sets applies to it. What the local server does not cover (LFS/Xet uploads, real
authentication) is listed in tests/test_hub.py.
"""

from __future__ import annotations

import json
import os
import urllib.request
import uuid
from pathlib import Path

os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")  # no network calls from the launched app

import pytest
import torch
from apptools import serve_in_process
from gradio_client import Client, handle_file
from gradio_client.exceptions import AppError

from fmae.models import load_checkpoint
from ui.reconstruct_tab import example_paths

ROOT = Path(__file__).resolve().parents[1]
SHIPPED = "fashion-mlp"
TOKEN = "hf_CarolHubTabToken0123456789abcdefXYZ"  # token-shaped, so scrubbing is exercised
WRONG = "hf_CarolWrongToken9876543210zyxwvutsrq"


@pytest.fixture(scope="module")
def hub(hub_server):
    hub_server.add_token(TOKEN, "carol")
    return hub_server


@pytest.fixture(scope="module")
def served(hub, tmp_path_factory):
    """The app (in this process) and its state; HF_TOKEN is unset by conftest."""
    with serve_in_process(ROOT / "checkpoints", tmp_path_factory.mktemp("sessions")) as served_app:
        yield served_app


@pytest.fixture
def client(served) -> Client:
    return Client(served[0], verbose=False)  # a session of its own per test


class _Req:
    """Stands in for gr.Request where only the session hash matters."""

    def __init__(self, session_hash: str):
        self.session_hash = session_hash


def repo() -> str:
    return f"carol/tab-{uuid.uuid4().hex[:8]}"


def reconstruct(client: Client, model: str) -> dict:
    """The Reconstruct tab's numbers for the first example image with ``model``."""
    _, summary, numbers = client.predict(
        handle_file(str(example_paths()[0])), model, api_name="/reconstruct_upload"
    )
    assert "Reconstruction MSE" in summary
    return numbers


def test_push_then_pull_into_the_session(hub, served, client):
    repo_id = repo()
    status = client.predict(SHIPPED, TOKEN, repo_id, False, "from the app", api_name="/hub_push")
    head = hub.repos[repo_id].commits[-1]
    assert head.title == "from the app" and head.author == "carol"
    assert f"[`{head.oid[:8]}`]({hub.url}/{repo_id}/commit/{head.oid})" in status
    assert f"[{repo_id}]({hub.url}/{repo_id})" in status and "Pushed **fashion-mlp**" in status
    folder = ROOT / "checkpoints" / SHIPPED
    shipped = load_checkpoint(folder)
    assert head.files["model.safetensors"] == (folder / "model.safetensors").read_bytes()

    status, picker = client.predict(repo_id, "", "", api_name="/hub_pull")
    name = repo_id.split("/")[1]
    assert picker["value"] == name and [f"{name} (pulled)", name] in picker["choices"]
    assert [f"{SHIPPED} (shipped)", SHIPPED] in picker["choices"]
    assert f"Pulled `{repo_id}@main` as **{name}**" in status
    # assets travel with the checkpoint if fmae.hub sends them, else the tab computes them from the data
    how = "from the repo" if "assets.safetensors" in head.files else "computed on the fashion test set"
    assert how in status
    session = served[1].store.peek(client.session_hash)
    entry = session.get_model(name)
    assert session.current == name and entry.source == "pulled" and entry.folder.is_dir()
    pulls = served[1].session_dir(_Req(client.session_hash)) / ".hub-pulls"
    assert entry.folder.parent == pulls  # inside the visitor's own directory
    sd, ref = entry.checkpoint.model.state_dict(), shipped.model.state_dict()
    assert sd.keys() == ref.keys() and all(torch.equal(sd[k], ref[k]) for k in sd)

    mine, theirs = reconstruct(client, name), reconstruct(client, SHIPPED)
    assert mine["model"] == name and mine["mse"] == pytest.approx(theirs["mse"], abs=1e-7)
    assert mine["percentile"] is not None and 0.0 <= mine["percentile"] <= 100.0
    assert mine["pca_mse"] is not None and len(mine["latent"]) == shipped.config["latent_dim"]

    # the older revision (the repo's empty first commit) is not a checkpoint: a clear refusal
    first = hub.repos[repo_id].commits[0].oid
    with pytest.raises(AppError, match=rf"{repo_id}@{first} is not an fmae checkpoint"):
        client.predict(repo_id, first, "", api_name="/hub_pull")
    _, picker = client.predict(repo_id, head.oid, "", api_name="/hub_pull")  # by commit id
    assert picker["value"] == f"{name}@{head.oid[:8]}"
    assert len(list(pulls.iterdir())) == 2  # one folder per pulled model, none left by the failure
    first_folder = entry.folder
    for _ in range(2):  # the session keeps 3 models: the oldest goes, and its folder with it
        client.predict(repo_id, "", "", api_name="/hub_pull")
    assert session.model_names() == [f"{name}@{head.oid[:8]}", f"{name}-2", f"{name}-3"]
    assert not first_folder.exists() and len(list(pulls.iterdir())) == 3


def test_private_repo_needs_the_token_to_pull(hub, client):
    repo_id = repo()
    status = client.predict(SHIPPED, TOKEN, repo_id, True, "", api_name="/hub_push")
    assert "(private)" in status and hub.repos[repo_id].private
    with pytest.raises(AppError, match=rf"repository {repo_id} was not found .*private"):
        client.predict(repo_id, "", "", api_name="/hub_pull")
    status, picker = client.predict(repo_id, "main", TOKEN, api_name="/hub_pull")
    assert picker["value"] == repo_id.split("/")[1] + "@main" and TOKEN not in status


@pytest.mark.parametrize(
    ("endpoint", "args", "message"),
    [
        ("/hub_push", (SHIPPED, TOKEN, "a/b/c", False, ""), r"invalid repo id 'a/b/c'"),
        ("/hub_push", (SHIPPED, TOKEN, "fmae", False, ""), r"needs a namespace: write it as 'username/fmae'"),
        ("/hub_push", (SHIPPED, "", "carol/x", False, ""), r"needs a Hugging Face token.*HF_TOKEN"),
        ("/hub_push", (SHIPPED, WRONG, "carol/x", False, ""), r"rejected the token for carol/x \(401"),
        ("/hub_push", ("nope", TOKEN, "carol/x", False, ""), r"Unknown model 'nope'"),
        ("/hub_pull", ("../etc", "", TOKEN), r"invalid repo id '\.\./etc'"),
        ("/hub_pull", ("carol/never-pushed", "", TOKEN), r"repository carol/never-pushed was not found"),
        ("/hub_pull", ("carol/never-pushed", "", WRONG), r"rejected the token"),
    ],
)
def test_errors_are_clear_and_never_show_the_token(hub, client, endpoint, args, message):
    before = len(hub.requests)
    with pytest.raises(AppError, match=message) as info:
        client.predict(*args, api_name=endpoint)
    assert TOKEN not in str(info.value) and WRONG not in str(info.value)
    if "repo id" in message or "namespace" in message:
        assert len(hub.requests) == before  # refused before any request


def test_server_token_is_used_locally_but_not_lent_on_a_space(hub, client, monkeypatch):
    monkeypatch.setenv("HF_TOKEN", TOKEN)  # the app runs in this process: handlers see it
    repo_id = repo()
    assert "Pushed" in client.predict(SHIPPED, "", repo_id, False, "", api_name="/hub_push")
    assert hub.repos[repo_id].commits[-1].author == "carol"
    monkeypatch.setenv("SPACE_ID", "someone/fmae")
    with pytest.raises(AppError, match="paste one into the token box") as info:
        client.predict(SHIPPED, "", repo(), False, "", api_name="/hub_push")
    assert TOKEN not in str(info.value)
    monkeypatch.setenv("FMAE_HUB_USE_ENV_TOKEN", "1")  # the Space's owner opts in
    assert "Pushed" in client.predict(SHIPPED, "", repo_id, False, "", api_name="/hub_push")


def test_token_box_is_a_password_field(served):
    with urllib.request.urlopen(served[0] + "config") as answer:
        components = json.load(answer)["components"]
    box = next(c for c in components if c.get("props", {}).get("elem_id") == "hub-token")
    assert box["type"] == "textbox" and box["props"]["type"] == "password" and not box["props"].get("value")


def test_a_model_pushed_with_its_own_push_to_hub_is_pulled_by_the_app(hub, served, client):
    """The issue's example: the mixin's config.json had no model_type, so the Hub tab refused it."""
    from fmae.models import ConvAutoEncoder

    torch.manual_seed(0)
    model, repo_id = ConvAutoEncoder(channels=2, hidden_dim=8, latent_dim=3), repo()
    model.push_to_hub(repo_id, token=TOKEN)
    status, picker = client.predict(repo_id, "", "", api_name="/hub_pull")
    name = repo_id.split("/")[1]
    assert picker["value"] == name and "conv autoencoder, latent size 3" in status
    entry = served[1].store.peek(client.session_hash).get_model(name)
    sd, ref = entry.checkpoint.model.state_dict(), model.state_dict()
    assert all(torch.equal(sd[k], ref[k]) for k in ref)


@pytest.mark.parametrize("value", [float("nan"), float("inf")])
def test_a_checkpoint_with_a_non_finite_weight_is_refused_by_the_app(hub, client, tmp_path, value):
    """The issue's example: a NaN in the weights was accepted and the Reconstruct tab showed 'MSE nan'."""
    from huggingface_hub import HfApi
    from safetensors.torch import save_file

    from fmae.models import MLPAutoEncoder, save_checkpoint

    folder = save_checkpoint(MLPAutoEncoder(hidden_dim=8, latent_dim=3), tmp_path / "ck")
    state = {k: v.clone() for k, v in load_checkpoint(folder).model.state_dict().items()}
    state["decoder.4.bias"][5] = value
    save_file(state, str(folder / "model.safetensors"))
    repo_id = repo()
    api = HfApi(token=TOKEN)
    api.create_repo(repo_id)
    api.upload_folder(repo_id=repo_id, folder_path=folder)
    with pytest.raises(AppError, match=r"decoder\.4\.bias holds 1 non-finite value \(NaN or infinity\)"):
        client.predict(repo_id, "", "", api_name="/hub_pull")
    assert reconstruct(client, SHIPPED)["mse"] < 1  # the session still works, on a finite model
