"""Non-finite numbers never get in: weights (any tensor, NaN or infinity) are refused on every load
and save, reference assets too, a model whose output overflows gives a clear error instead of
"MSE nan", and a collapsed encoder is measured by ``code_spread``."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from safetensors.numpy import save_file as save_numpy
from safetensors.torch import save_file

from fmae.errors import CheckpointError, FmaeError, NonFiniteError
from fmae.models import (
    ASSETS_FILE,
    COLLAPSED_SPREAD,
    MODELS,
    ModelAssets,
    analyze,
    build_model,
    code_spread,
    load_assets,
    load_checkpoint,
    save_checkpoint,
)
from fmae.session import ModelEntry, ShippedModels
from ui.reconstruct_tab import render

BAD_VALUES = [math.nan, math.inf, -math.inf]


def tiny(name: str):
    torch.manual_seed(0)
    return build_model(name, latent_dim=3, hidden_dim=8, **({"channels": 2} if name == "conv" else {}))


def poisoned_state(model, key: str, value: float) -> dict[str, torch.Tensor]:
    state = {k: v.detach().clone().contiguous() for k, v in model.state_dict().items()}
    state[key].view(-1)[state[key].numel() // 2] = value  # one entry in the middle of the tensor
    return state


def keys_to_poison(name: str) -> list[str]:
    keys = list(tiny(name).state_dict())
    return [keys[0], keys[1], keys[-1]]  # the first weight, a bias, the output layer


CASES = [(name, key) for name in sorted(MODELS) for key in keys_to_poison(name)]


@pytest.mark.parametrize("value", BAD_VALUES, ids=["nan", "inf", "-inf"])
@pytest.mark.parametrize(("name", "key"), CASES)
def test_a_checkpoint_with_a_non_finite_weight_is_refused_on_load(tmp_path, name, key, value):
    model = tiny(name)
    folder = save_checkpoint(model, tmp_path / "ck")
    save_file(poisoned_state(model, key, value), str(folder / "model.safetensors"))
    with pytest.raises(CheckpointError, match=rf"{key} holds 1 non-finite value \(NaN or infinity\)"):
        load_checkpoint(folder)


@pytest.mark.parametrize("name", sorted(MODELS))
def test_a_non_finite_model_is_never_saved(tmp_path, name):
    model = tiny(name)
    with torch.no_grad():
        next(iter(model.parameters())).view(-1)[0] = math.nan
    with pytest.raises(CheckpointError, match="non-finite"):
        save_checkpoint(model, tmp_path / "ck")
    assert list(tmp_path.iterdir()) == []  # nothing written, no temporary folder left


def test_a_model_beyond_the_config_bounds_or_in_another_dtype_is_never_saved(tmp_path):
    with pytest.raises(CheckpointError, match=r"hidden_dim must be an integer in \[1, 2048\]"):
        save_checkpoint(build_model("mlp").__class__(hidden_dim=2049, latent_dim=2), tmp_path / "a")
    with pytest.raises(CheckpointError, match=r"encoder\.0\.weight .*float64.*expected .*float32"):
        save_checkpoint(tiny("mlp").double(), tmp_path / "b")
    assert list(tmp_path.iterdir()) == []


def test_saving_never_replaces_a_folder_that_is_not_a_checkpoint(tmp_path):
    (tmp_path / "notes.txt").write_text("my own files")
    with pytest.raises(CheckpointError, match="not a checkpoint folder"):
        save_checkpoint(tiny("mlp"), tmp_path)
    assert (tmp_path / "notes.txt").read_text() == "my own files"


def test_a_shipped_model_with_a_nan_is_hidden_not_served(tmp_path):
    for name in ("good", "bad"):
        save_checkpoint(tiny("mlp"), tmp_path / name, {"dataset": "fashion"})
    save_file(
        poisoned_state(tiny("mlp"), "decoder.4.bias", math.nan), str(tmp_path / "bad" / "model.safetensors")
    )
    shipped = ShippedModels(tmp_path)
    shipped.load_all()
    assert shipped.names() == ["good"] and "non-finite" in shipped.errors["bad"]


def _assets(k: int = 3) -> dict[str, np.ndarray]:
    comps = np.eye(k, 784, dtype=np.float32)
    return {
        "test_errors": np.linspace(0.0, 0.1, 50, dtype=np.float32),
        "pca_mean": np.full(784, 0.5, np.float32),
        "pca_components": comps,
    }


@pytest.mark.parametrize("value", BAD_VALUES, ids=["nan", "inf", "-inf"])
@pytest.mark.parametrize("key", ["test_errors", "pca_mean", "pca_components"])
def test_assets_with_a_non_finite_number_are_refused(tmp_path, key, value):
    tensors = _assets()
    tensors[key].reshape(-1)[7] = value
    save_numpy(tensors, str(tmp_path / ASSETS_FILE))
    with pytest.raises(CheckpointError, match=rf"{key} holds 1 non-finite value"):
        load_assets(tmp_path)
    with pytest.raises(NonFiniteError, match=key):
        ModelAssets(tensors["test_errors"], tensors["pca_mean"], tensors["pca_components"])


def test_negative_test_errors_are_refused(tmp_path):
    tensors = _assets()
    tensors["test_errors"][0] = -1.0
    save_numpy(tensors, str(tmp_path / ASSETS_FILE))
    with pytest.raises(CheckpointError, match="negative"):
        load_assets(tmp_path)


def test_a_percentile_is_never_computed_from_nan():
    t = _assets()
    assets = ModelAssets(t["test_errors"], t["pca_mean"], t["pca_components"])
    assert assets.percentile(math.nan) is None and assets.percentile(math.inf) is None
    assert assets.percentile(0.05) == pytest.approx(50.0, abs=2.1)


def overflowing_model():
    """Finite weights whose products overflow float32: the output is NaN for any input."""
    model = tiny("mlp")
    with torch.no_grad():
        model.encoder[0].weight.fill_(3e38)
        model.encoder[0].bias.fill_(-3e38)
    assert all(torch.isfinite(p).all() for p in model.parameters())
    return model.eval()


def test_analyze_refuses_to_explain_a_non_finite_output():
    t = _assets()
    assets = ModelAssets(t["test_errors"], t["pca_mean"], t["pca_components"])
    with pytest.raises(NonFiniteError, match="not finite"):
        analyze(overflowing_model(), np.full((28, 28), 0.5, np.float32), assets)


def test_the_reconstruct_tab_never_shows_nan():
    """The issue's example: 'MSE nan ... a larger error than 0.0% ... the autoencoder does worse'."""
    t = _assets()
    model = overflowing_model()
    assets = ModelAssets(t["test_errors"], t["pca_mean"], t["pca_components"])
    from fmae.models import Checkpoint, model_config

    entry = ModelEntry("broken", Checkpoint(model, None, model_config(model)), assets, "trained")
    with pytest.raises(FmaeError, match="not finite") as info:
        render(np.full((28, 28), 0.5, np.float32), entry)
    assert "nan" not in str(info.value).lower().replace("nan or", "")


# ---------------------------------------------------------------- collapse


def test_code_spread_is_zero_when_most_codes_coincide():
    rng = np.random.default_rng(0)
    same = np.tile(rng.normal(size=(1, 5)), (100, 1)).astype(np.float32)
    assert code_spread(same) == 0.0
    assert code_spread(np.zeros((50, 4), np.float32)) == 0.0  # no size at all: collapsed too
    mostly = same.copy()
    mostly[:40] = rng.normal(size=(40, 5))  # 60% share one code: the median code is that code
    assert code_spread(mostly) == 0.0


def test_code_spread_of_spread_codes_is_large_and_scale_free():
    rng = np.random.default_rng(1)
    codes = rng.normal(size=(500, 8)).astype(np.float32)
    value = code_spread(codes)
    assert 0.5 < value <= 1.5
    assert code_spread(1000.0 * codes) == pytest.approx(value, rel=1e-5)
    assert code_spread(codes + 3.0) < value  # an offset makes codes relatively closer


def test_code_spread_refuses_bad_input():
    with pytest.raises(ValueError):
        code_spread(np.zeros(5))
    with pytest.raises(NonFiniteError):
        code_spread(np.array([[0.0, math.nan], [1.0, 1.0]]))
    assert 1e-6 < COLLAPSED_SPREAD < 1e-1


@pytest.mark.parametrize("constant", ["NaN", "Infinity", "-Infinity"])
def test_metrics_json_with_nan_is_refused(tmp_path, constant):
    """Python's json reads NaN and Infinity (not JSON): a header would show 'test MSE nan'."""
    folder = save_checkpoint(tiny("mlp"), tmp_path / "ck")
    (folder / "metrics.json").write_text('{"metrics": {"test_mse": ' + constant + "}}")
    with pytest.raises(CheckpointError, match=rf"metrics\.json is not valid JSON: it holds {constant}"):
        load_checkpoint(folder)


def test_info_with_nan_is_never_saved(tmp_path):
    with pytest.raises(CheckpointError, match=r"metrics\.json"):
        save_checkpoint(tiny("mlp"), tmp_path / "ck", {"metrics": {"test_mse": math.nan}})
    assert list(tmp_path.iterdir()) == []


def test_the_model_header_never_shows_nan():
    from fmae.models import Checkpoint, model_config
    from ui.state import model_info

    model = tiny("mlp")
    for value, shown in ((math.nan, False), (math.inf, False), (0.0123, True)):
        ckpt = Checkpoint(model, None, model_config(model), {"metrics": {"test_mse": value}})
        line = model_info(ModelEntry("m", ckpt))
        assert ("test MSE 0.0123" in line) is shown and "nan" not in line and "inf" not in line


def test_evaluate_refuses_a_model_whose_output_is_not_finite():
    from fmae.data import Dataset
    from fmae.training import evaluate

    images = torch.randint(0, 256, (40, 28, 28), dtype=torch.uint8)
    data = Dataset("fashion", "test", images, torch.arange(40) % 10, tuple("0123456789"), "random")
    with pytest.raises(NonFiniteError, match="not finite"):
        evaluate(overflowing_model(), data, data)
