"""One way in and one way out: the models' own Hub methods (``save_pretrained``, ``push_to_hub``,
``from_pretrained``, inherited from ``PyTorchModelHubMixin``) write the same files as fmae's
``save_checkpoint`` / ``push_checkpoint`` and run the same strict checks as ``load_checkpoint`` /
``pull_checkpoint``. Round trips for every writer x every reader x every model type, and each
kind of bad checkpoint refused by every load entry point. Hub traffic goes to the local
Hub-protocol server (tests/hub_server.py)."""

from __future__ import annotations

import json
import math
import uuid
from collections.abc import Callable
from pathlib import Path

import pytest
import torch
from huggingface_hub import CommitOperationAdd, HfApi
from safetensors.torch import save_file

from fmae.__main__ import main
from fmae.errors import CheckpointError
from fmae.hub import pull_checkpoint, push_checkpoint
from fmae.models import MODELS, ConvAutoEncoder, MLPAutoEncoder, build_model, load_checkpoint, save_checkpoint

TOKEN = "hf_DaveMixinToken0123456789abcdefXYZW"
KWARGS = {
    "mlp": {"hidden_dim": 8, "latent_dim": 3},
    "conv": {"channels": 2, "hidden_dim": 8, "latent_dim": 3},
    "conv-vae": {"channels": 2, "hidden_dim": 8, "latent_dim": 3, "beta": 2.0},
    "mlp-vae": {"hidden_dim": 8, "latent_dim": 3, "beta": 2.0},
}
CHECKPOINT_FILES = {"config.json", "model.safetensors", "metrics.json", "README.md"}


@pytest.fixture
def hub(hub_server, monkeypatch):
    hub_server.add_token(TOKEN, "dave")
    monkeypatch.setenv("HF_TOKEN", TOKEN)  # for the writers that take no token argument (the CLI)
    return hub_server


def new_repo() -> str:
    return f"dave/mixin-{uuid.uuid4().hex[:8]}"


def model_of(name: str, seed: int = 0):
    torch.manual_seed(seed)
    return build_model(name, **KWARGS[name])


def same(a: torch.nn.Module, b: torch.nn.Module) -> bool:
    sa, sb = a.state_dict(), b.state_dict()
    return sa.keys() == sb.keys() and all(
        torch.equal(sa[k], sb[k]) and sa[k].dtype == sb[k].dtype for k in sa
    )


def repo_files(hub, repo_id: str) -> dict[str, bytes]:
    files = dict(hub.repos[repo_id].resolve("main").files)
    files.pop(".gitattributes", None)
    return files


# ---------------------------------------------------------------- the examples


def test_save_pretrained_writes_a_folder_fmae_loads(tmp_path):
    model = model_of("mlp")
    model.save_pretrained(tmp_path / "d")
    config = json.loads((tmp_path / "d" / "config.json").read_text())
    assert config == {"model_type": "mlp", "input_dim": 784, "hidden_dim": 8, "latent_dim": 3}
    assert same(load_checkpoint(tmp_path / "d").model, model)


def test_from_pretrained_refuses_a_folder_with_a_layer_missing(tmp_path):
    model = model_of("mlp")
    folder = save_checkpoint(model, tmp_path / "d")
    state = dict(model.state_dict())
    state.pop("decoder.4.weight")
    save_file(state, str(folder / "model.safetensors"))
    with pytest.raises(CheckpointError, match=r"missing \['decoder\.4\.weight'\]"):
        MLPAutoEncoder.from_pretrained(folder)


# ---------------------------------------------------------------- round trips


LOCAL_WRITERS: dict[str, Callable] = {
    "save_checkpoint": lambda model, folder: save_checkpoint(model, folder),
    "save_pretrained": lambda model, folder: model.save_pretrained(folder),
}
LOCAL_READERS: dict[str, Callable] = {
    "load_checkpoint": lambda cls, folder: load_checkpoint(folder).model,
    "from_pretrained": lambda cls, folder: cls.from_pretrained(folder),
    "from_pretrained(str)": lambda cls, folder: cls.from_pretrained(str(folder)),
}


@pytest.mark.parametrize("reader", sorted(LOCAL_READERS))
@pytest.mark.parametrize("writer", sorted(LOCAL_WRITERS))
@pytest.mark.parametrize("name", sorted(MODELS))
def test_local_round_trip(tmp_path, name, writer, reader):
    model = model_of(name)
    LOCAL_WRITERS[writer](model, tmp_path / "ck")
    assert {p.name for p in (tmp_path / "ck").iterdir()} == CHECKPOINT_FILES
    back = LOCAL_READERS[reader](MODELS[name], tmp_path / "ck")
    assert type(back) is MODELS[name] and same(back, model) and not back.training
    x = torch.rand(2, 1, 28, 28)
    with torch.no_grad():
        assert torch.equal(back.eval()(x), model.eval()(x))


def test_both_local_writers_write_the_same_bytes(tmp_path):
    for name in MODELS:
        model = model_of(name)
        save_checkpoint(model, tmp_path / f"{name}-a")
        model.save_pretrained(tmp_path / f"{name}-b")
        for file in CHECKPOINT_FILES:
            assert (tmp_path / f"{name}-a" / file).read_bytes() == (
                tmp_path / f"{name}-b" / file
            ).read_bytes()


def _cli_push(model, repo_id, tmp_path):
    folder = save_checkpoint(model, tmp_path / "cli")
    assert main(["push", str(folder), repo_id]) == 0


HUB_WRITERS: dict[str, Callable] = {
    "push_checkpoint": lambda model, repo_id, tmp: push_checkpoint(
        save_checkpoint(model, tmp / "p"), repo_id
    ),
    "push_to_hub": lambda model, repo_id, tmp: model.push_to_hub(repo_id),
    "save_pretrained(push_to_hub)": lambda model, repo_id, tmp: model.save_pretrained(
        tmp / "s", push_to_hub=True, repo_id=repo_id
    ),
    "cli push": _cli_push,
}


def _cli_pull(cls, repo_id, tmp_path):
    assert main(["pull", repo_id, "--out", str(tmp_path / "pulled")]) == 0
    return load_checkpoint(tmp_path / "pulled").model


HUB_READERS: dict[str, Callable] = {
    "pull_checkpoint": lambda cls, repo_id, tmp: load_checkpoint(pull_checkpoint(repo_id)).model,
    "from_pretrained": lambda cls, repo_id, tmp: cls.from_pretrained(repo_id),
    "cli pull": _cli_pull,
}


@pytest.mark.parametrize("writer", sorted(HUB_WRITERS))
@pytest.mark.parametrize("name", sorted(MODELS))
def test_hub_round_trip_every_writer_every_reader(hub, tmp_path, name, writer):
    model, repo_id = model_of(name, seed=1), new_repo()
    HUB_WRITERS[writer](model, repo_id, tmp_path)
    assert set(repo_files(hub, repo_id)) == CHECKPOINT_FILES
    for reader, read in HUB_READERS.items():
        back = read(MODELS[name], repo_id, tmp_path / reader.replace(" ", "-"))
        assert type(back) is MODELS[name] and same(back, model), reader


def test_push_to_hub_sends_the_same_files_as_fmaes_push(hub, tmp_path):
    for name in MODELS:
        model = model_of(name, seed=2)
        ours, theirs = new_repo(), new_repo()
        push_checkpoint(save_checkpoint(model, tmp_path / name), ours)
        model.push_to_hub(theirs)
        a, b = repo_files(hub, ours), repo_files(hub, theirs)
        assert a.keys() == b.keys() == CHECKPOINT_FILES
        for file in CHECKPOINT_FILES - {"README.md"}:
            assert a[file] == b[file], file
        assert a["README.md"].decode().replace(ours, theirs) == b["README.md"].decode()  # a card for its repo
        assert f'pull_checkpoint("{theirs}")' in b["README.md"].decode()


@pytest.mark.parametrize("writer", ["push_checkpoint", "push_to_hub"])
def test_a_push_removes_files_the_new_checkpoint_lacks(hub, tmp_path, writer):
    """Assets (test-error percentiles) or card images of an older push must not stay beside new weights."""
    repo_id = new_repo()
    api = HfApi(token=TOKEN)
    api.create_repo(repo_id)
    ops = [
        CommitOperationAdd(path_in_repo=n, path_or_fileobj=b"old")
        for n in ("assets.safetensors", "embedding.png")
    ]
    api.create_commit(repo_id, ops, commit_message="an older checkpoint's extras")
    HUB_WRITERS[writer](model_of("mlp"), repo_id, tmp_path)
    assert set(repo_files(hub, repo_id)) == CHECKPOINT_FILES


# ---------------------------------------------------------------- refusals, every load entry point


def _bad_state(name: str, kind: str) -> tuple[dict, dict[str, torch.Tensor]]:
    model = model_of(name)
    config = {"model_type": name, **KWARGS[name]}
    state = {k: v.detach().clone().contiguous() for k, v in model.state_dict().items()}
    last = list(state)[-1]
    if kind == "missing layer":
        state.pop(last)
    elif kind == "extra key":
        state["extra.weight"] = torch.zeros(2)
    elif kind == "wrong shape":
        config["hidden_dim"] = 9
    elif kind == "wrong dtype":
        state[last] = state[last].double()
    elif kind in ("nan", "inf"):
        state[last].view(-1)[0] = math.nan if kind == "nan" else math.inf
    elif kind == "no model_type":  # what the mixin's own save_pretrained used to write
        config.pop("model_type")
    elif kind == "config out of bounds":
        config["latent_dim"] = 10**6
    return config, state


BAD = {
    "missing layer": r"missing \[",
    "extra key": r"unexpected \['extra\.weight'\]",
    "wrong shape": r"has shape .*expected",
    "wrong dtype": r"torch\.float64, expected .*torch\.float32",
    "nan": r"non-finite value",
    "inf": r"non-finite value",
    "no model_type": r"model_type must be one of \['conv', 'conv-vae', 'mlp', 'mlp-vae'\], not None",
    "config out of bounds": r"latent_dim must be an integer in \[1, 256\]",
}


def write_bad(folder: Path, name: str, kind: str) -> Path:
    config, state = _bad_state(name, kind)
    folder.mkdir(parents=True)
    (folder / "config.json").write_text(json.dumps(config))
    save_file(state, str(folder / "model.safetensors"))
    return folder


@pytest.mark.parametrize("kind", sorted(BAD))
@pytest.mark.parametrize("name", sorted(MODELS))
def test_bad_folders_are_refused_by_every_local_entry_point(tmp_path, capsys, name, kind):
    folder = write_bad(tmp_path / "bad", name, kind)
    with pytest.raises(CheckpointError, match=BAD[kind]):
        load_checkpoint(folder)
    with pytest.raises(CheckpointError, match=BAD[kind]):
        MODELS[name].from_pretrained(folder)
    assert main(["evaluate", str(folder)]) == 2  # refused before any data is loaded
    assert "error: " in capsys.readouterr().err


@pytest.mark.parametrize("kind", sorted(BAD))
@pytest.mark.parametrize("name", sorted(MODELS))
def test_bad_repos_are_refused_by_every_hub_entry_point(hub, tmp_path, capsys, name, kind):
    folder = write_bad(tmp_path / "bad", name, kind)
    repo_id = new_repo()
    api = HfApi(token=TOKEN)
    api.create_repo(repo_id)
    api.upload_folder(repo_id=repo_id, folder_path=folder)
    with pytest.raises(CheckpointError, match=BAD[kind]):
        pull_checkpoint(repo_id)
    with pytest.raises(CheckpointError, match=BAD[kind]):
        MODELS[name].from_pretrained(repo_id)
    assert main(["pull", repo_id, "--out", str(tmp_path / "out")]) == 2
    assert "was refused" in capsys.readouterr().err and not (tmp_path / "out").exists()


def test_a_pickle_only_repo_is_never_unpickled_by_from_pretrained(hub, tmp_path):
    repo_id = new_repo()
    api = HfApi(token=TOKEN)
    api.create_repo(repo_id)
    config = json.dumps({"model_type": "mlp", **KWARGS["mlp"]}).encode()
    ops = [
        CommitOperationAdd(path_in_repo="config.json", path_or_fileobj=config),
        CommitOperationAdd(path_in_repo="pytorch_model.bin", path_or_fileobj=b"pickle bytes, never read"),
    ]
    api.create_commit(repo_id, ops, commit_message="pickle only")
    before = len(hub.requests)
    with pytest.raises(CheckpointError, match=r"only pickle weights \(pytorch_model\.bin\)"):
        MLPAutoEncoder.from_pretrained(repo_id)
    assert not any("pytorch_model.bin" in path for _, path in hub.requests[before:])


# ---------------------------------------------------------------- what the mixin API may not do


def test_from_pretrained_refuses_another_model_type(tmp_path):
    folder = save_checkpoint(model_of("conv"), tmp_path / "conv")
    message = r"holds a conv model \(ConvAutoEncoder\); MLPAutoEncoder\.from_pretrained loads only"
    with pytest.raises(CheckpointError, match=message):
        MLPAutoEncoder.from_pretrained(folder)
    assert type(ConvAutoEncoder.from_pretrained(folder)) is ConvAutoEncoder


def test_from_pretrained_loads_strictly_only(tmp_path):
    folder = save_checkpoint(model_of("mlp"), tmp_path / "ck")
    with pytest.raises(ValueError, match="strict"):
        MLPAutoEncoder.from_pretrained(folder, strict=False)
    with pytest.raises(ValueError, match=r"hidden_dim.*config\.json"):
        MLPAutoEncoder.from_pretrained(folder, hidden_dim=16)  # the mixin would build a mismatched model
    assert MLPAutoEncoder.from_pretrained(folder, map_location="cpu").hidden_dim == 8


def test_save_pretrained_refuses_a_config_that_is_not_the_models(tmp_path):
    with pytest.raises(CheckpointError, match="config"):
        model_of("mlp").save_pretrained(tmp_path / "ck", config={"hidden_dim": 999})
    model_of("mlp").save_pretrained(tmp_path / "ok", config={"model_type": "mlp", **KWARGS["mlp"]})
    assert not (tmp_path / "ck").exists() and load_checkpoint(tmp_path / "ok").config["hidden_dim"] == 8


def test_push_to_hub_refuses_a_non_finite_model_before_any_request(hub):
    model = model_of("mlp")
    with torch.no_grad():
        model.decoder[4].bias[0] = math.nan
    before, repo_id = len(hub.requests), new_repo()
    with pytest.raises(CheckpointError, match="non-finite"):
        model.push_to_hub(repo_id)
    assert len(hub.requests) == before and repo_id not in hub.repos


def test_the_base_class_methods_reach_the_same_code_through_the_mixin_hooks(tmp_path):
    """Calling huggingface_hub's own save_pretrained/from_pretrained on our models (as generic
    Hub code may) still writes fmae's files and loads strictly, through _save/_from_pretrained."""
    from huggingface_hub import ModelHubMixin

    model = model_of("mlp")
    ModelHubMixin.save_pretrained(model, tmp_path / "d")
    assert {p.name for p in (tmp_path / "d").iterdir()} == CHECKPOINT_FILES
    assert same(load_checkpoint(tmp_path / "d").model, model)
    base_from_pretrained = ModelHubMixin.from_pretrained.__func__
    assert same(base_from_pretrained(MLPAutoEncoder, tmp_path / "d"), model)
    write_bad(tmp_path / "bad", "mlp", "missing layer")
    with pytest.raises(CheckpointError, match="missing"):
        base_from_pretrained(MLPAutoEncoder, tmp_path / "bad")


def test_from_pretrained_reads_the_cache_with_local_files_only(hub):
    model, repo_id = model_of("conv", seed=4), new_repo()
    model.push_to_hub(repo_id)
    assert same(ConvAutoEncoder.from_pretrained(repo_id), model)
    before = len(hub.requests)
    assert same(ConvAutoEncoder.from_pretrained(repo_id, local_files_only=True), model)
    assert len(hub.requests) == before  # nothing asked of the Hub
