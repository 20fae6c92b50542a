"""Model shapes, config bounds, and strict safetensors checkpoints."""

from __future__ import annotations

import json
import pickle

import pytest
import torch
from safetensors.torch import save_file

from fmae.errors import CheckpointError
from fmae.models import (
    MODELS,
    ConvAutoEncoder,
    MLPAutoEncoder,
    build_model,
    load_checkpoint,
    model_config,
    save_checkpoint,
    validate_config,
)


@pytest.mark.parametrize("name", sorted(MODELS))
def test_shapes_and_output_range(name):
    model = build_model(name, latent_dim=7)
    x = torch.rand(5, 1, 28, 28)
    z = model.encode(x)
    assert z.shape == (5, 7)
    y = model(x).detach()
    assert y.shape == (5, 1, 28, 28) and float(y.min()) >= 0 and float(y.max()) <= 1
    assert torch.allclose(torch.sigmoid(model.logits(x)), y, atol=1e-6)
    assert model.decode(z).shape == (5, 1, 28, 28)


def test_mlp_is_the_tutorials_architecture():
    model = MLPAutoEncoder(hidden_dim=128, latent_dim=10)
    shapes = {k: tuple(v.shape) for k, v in model.state_dict().items()}
    assert shapes == {
        "encoder.0.weight": (128, 784), "encoder.0.bias": (128,),
        "encoder.2.weight": (128, 128), "encoder.2.bias": (128,),
        "encoder.4.weight": (10, 128), "encoder.4.bias": (10,),
        "decoder.0.weight": (128, 10), "decoder.0.bias": (128,),
        "decoder.2.weight": (128, 128), "decoder.2.bias": (128,),
        "decoder.4.weight": (784, 128), "decoder.4.bias": (784,),
    }  # fmt: skip
    assert isinstance(model.decoder[-1], torch.nn.Sigmoid)
    assert MLPAutoEncoder().hidden_dim == 256  # the tutorial class's own default


@pytest.mark.parametrize(
    "config, reason",
    [
        ({"model_type": "mlp", "hidden_dim": 10**9}, "hidden_dim"),
        ({"model_type": "mlp", "latent_dim": 0}, "latent_dim"),
        ({"model_type": "conv", "channels": 1.5}, "channels"),
        ({"model_type": "conv", "channels": True}, "channels"),
        ({"model_type": "gan"}, "model_type"),
        ({"model_type": "mlp", "evil": 1}, "unknown"),
        ([1, 2], "object"),
    ],
)
def test_config_out_of_bounds_is_refused(config, reason):
    with pytest.raises(ValueError, match=reason):
        validate_config(config)


@pytest.mark.parametrize(
    "model", [MLPAutoEncoder(hidden_dim=32, latent_dim=4), ConvAutoEncoder(channels=4, latent_dim=3)]
)
def test_save_load_round_trip_is_exact(tmp_path, model):
    info = {"dataset": "fashion", "metrics": {"test_mse": 0.5}}
    folder = save_checkpoint(model, tmp_path / "ck", info)
    assert sorted(p.name for p in folder.iterdir()) == [
        "README.md",
        "config.json",
        "metrics.json",
        "model.safetensors",
    ]
    ckpt = load_checkpoint(folder)
    assert ckpt.config == model_config(model) and ckpt.metrics == {"test_mse": 0.5}
    x = torch.rand(3, 1, 28, 28)
    model.eval()
    assert torch.equal(ckpt.model(x), model(x))
    assert not ckpt.model.training


def test_save_replaces_an_existing_checkpoint_whole(tmp_path):
    save_checkpoint(MLPAutoEncoder(hidden_dim=8, latent_dim=2), tmp_path / "ck", {"note": "old"})
    (tmp_path / "ck" / "stray.txt").write_text("from the old save")
    save_checkpoint(MLPAutoEncoder(hidden_dim=16, latent_dim=2), tmp_path / "ck", {"note": "new"})
    ckpt = load_checkpoint(tmp_path / "ck")
    assert ckpt.config["hidden_dim"] == 16 and ckpt.info["note"] == "new"
    assert not (tmp_path / "ck" / "stray.txt").exists()
    assert [p.name for p in tmp_path.iterdir()] == ["ck"]  # no temporary folders left behind


def _saved(tmp_path):
    return save_checkpoint(MLPAutoEncoder(hidden_dim=8, latent_dim=2), tmp_path / "ck")


def test_shape_mismatch_is_refused(tmp_path):
    folder = _saved(tmp_path)
    (folder / "config.json").write_text(json.dumps({"model_type": "mlp", "hidden_dim": 9, "latent_dim": 2}))
    with pytest.raises(CheckpointError, match="shape"):
        load_checkpoint(folder)


def test_missing_and_extra_keys_are_refused(tmp_path):
    folder = _saved(tmp_path)
    state = MLPAutoEncoder(hidden_dim=8, latent_dim=2).state_dict()
    state.pop("decoder.4.bias")
    state["extra"] = torch.zeros(1)
    save_file(state, str(folder / "model.safetensors"))
    with pytest.raises(CheckpointError, match=r"missing \['decoder.4.bias'\], unexpected \['extra'\]"):
        load_checkpoint(folder)


def test_huge_config_is_refused_before_allocating(tmp_path):
    folder = _saved(tmp_path)
    (folder / "config.json").write_text(json.dumps({"model_type": "mlp", "hidden_dim": 10**9}))
    with pytest.raises(CheckpointError, match="hidden_dim must be an integer"):
        load_checkpoint(folder)


@pytest.mark.parametrize("content", [b"", b"not json {", b"\xff\xfe"])
def test_corrupt_config_is_refused(tmp_path, content):
    folder = _saved(tmp_path)
    (folder / "config.json").write_bytes(content)
    with pytest.raises(CheckpointError, match="not valid JSON"):
        load_checkpoint(folder)


def test_corrupt_weights_are_refused(tmp_path):
    folder = _saved(tmp_path)
    (folder / "model.safetensors").write_bytes(b"\x00" * 64)
    with pytest.raises(CheckpointError, match="not a readable safetensors"):
        load_checkpoint(folder)


def test_pickle_only_folder_is_refused_without_unpickling(tmp_path):
    folder = _saved(tmp_path)
    (folder / "model.safetensors").unlink()
    marker = tmp_path / "pwned"

    class Exploit:
        def __reduce__(self):
            return (open, (str(marker), "w"))

    (folder / "pytorch_model.bin").write_bytes(pickle.dumps(Exploit()))
    with pytest.raises(CheckpointError, match="never unpickles"):
        load_checkpoint(folder)
    assert not marker.exists()


def test_missing_folder_is_a_clear_error(tmp_path):
    with pytest.raises(CheckpointError, match="does not exist"):
        load_checkpoint(tmp_path / "nope")


def test_mlp_keeps_the_tutorials_flat_shape():
    model = MLPAutoEncoder(hidden_dim=16, latent_dim=3)
    flat = torch.rand(4, 784)
    with torch.no_grad():
        assert model(flat).shape == (4, 784)
        assert torch.equal(model(flat), model(flat.reshape(4, 1, 28, 28)).reshape(4, 784))


# The conv designs: config.json files written before ``arch`` existed keep loading as the first design;
# fmae trains the fast one.
FIRST_CONV_SHAPES = {
    "encoder.0.weight": (32, 1, 4, 4), "encoder.2.weight": (64, 32, 4, 4), "encoder.5.weight": (128, 3136),
    "encoder.7.weight": (10, 128), "decoder.0.weight": (128, 10), "decoder.2.weight": (3136, 128),
    "decoder.5.weight": (64, 32, 4, 4), "decoder.7.weight": (32, 16, 4, 4), "decoder.9.weight": (1, 16, 3, 3),
}  # fmt: skip


def test_a_config_without_arch_loads_the_first_conv_design(tmp_path):
    old = ConvAutoEncoder(latent_dim=10, channels=32, hidden_dim=128, arch=1)
    shapes = {k: tuple(v.shape) for k, v in old.state_dict().items() if k.endswith("weight")}
    assert shapes == FIRST_CONV_SHAPES  # the layers (names and shapes) of the checkpoints shipped before
    folder = save_checkpoint(old, tmp_path / "ck")
    config = json.loads((folder / "config.json").read_text())
    assert config["arch"] == 1
    del config["arch"]  # as the old fashion-conv/mnist-conv config.json files were
    (folder / "config.json").write_text(json.dumps(config))
    ckpt = load_checkpoint(folder)
    assert ckpt.model.arch == 1
    x = torch.rand(2, 1, 28, 28)
    assert torch.equal(ckpt.model(x), old.eval()(x))


def test_the_fast_conv_design_round_trips_and_computes_nothing_at_28x28(tmp_path):
    model = ConvAutoEncoder(latent_dim=5, channels=4, hidden_dim=16, arch=2).eval()
    folder = save_checkpoint(model, tmp_path / "ck")
    assert json.loads((folder / "config.json").read_text())["arch"] == 2
    x = torch.rand(3, 1, 28, 28)
    assert torch.equal(load_checkpoint(folder).model(x), model(x))
    sizes = []
    for layer in model.modules():
        if isinstance(layer, torch.nn.Conv2d | torch.nn.ConvTranspose2d):
            layer.register_forward_hook(lambda m, i, o: sizes.append(o.shape[-1]))
    model(x)
    assert sizes and max(sizes) == 14  # every convolution at 14x14 or 7x7


@pytest.mark.parametrize("arch", [0, 3, True, 2.0])
def test_unknown_conv_designs_are_refused(arch):
    with pytest.raises(ValueError, match="arch"):
        validate_config({"model_type": "conv", "arch": arch})


def test_training_builds_the_fast_conv_design():
    from fmae.training import TrainConfig, initial_model

    model = initial_model(TrainConfig(model="conv", channels=4, hidden_dim=16))
    assert model.arch == 2 and model_config(model)["arch"] == 2
