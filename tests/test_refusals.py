"""Refusals found by trying the app as a hostile visitor would (issue 13's breaker pass): each input
below once reached a visitor as a generic error, a raw library message, a traceback or gigabytes
of server memory; now it is one of our errors with a message."""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pytest

import fmae.data
from fmae.errors import CheckpointError, FmaeError, InputImageError
from fmae.images import preprocess
from fmae.models import KNOWN_DATASETS, MLPAutoEncoder, load_checkpoint, save_checkpoint
from fmae.training import TrainConfig
from ui.embed_data import check_settings


def test_known_datasets_are_fmae_datas():
    assert tuple(KNOWN_DATASETS) == tuple(fmae.data.DATASETS)


@pytest.mark.parametrize("shape", [(6001, 6001, 4), (40_000, 1000, 3), (9000, 9000)])
def test_a_huge_sketchpad_composite_is_refused_before_any_pixel_work(shape):
    """The API accepts any PNG as the Sketchpad's composite; a 12000x12000 one took 25 s and ~4 GB."""
    huge = np.broadcast_to(np.uint8(255), shape)  # no memory: only the shape is real
    with pytest.raises(InputImageError, match="megapixels"):
        preprocess({"composite": huge, "background": None, "layers": []}, "fashion")


@pytest.fixture
def saved(tmp_path):
    folder = save_checkpoint(
        MLPAutoEncoder(hidden_dim=8, latent_dim=2), tmp_path / "ck", {"dataset": "fashion"}
    )
    assert load_checkpoint(folder).dataset == "fashion"
    return folder


@pytest.mark.parametrize(
    ("info", "message"),
    [
        ('{"dataset": "fashion", "metrics": {"test_mse": 1e999}}', "too large to be finite"),
        ('{"dataset": "cifar100"}', "names the dataset 'cifar100'"),
        ('{"dataset": 3}', "names the dataset 3"),
        ('{"dataset": "mnist", "metrics": "abc"}', "JSON object of numbers"),
        ('{"dataset": "mnist", "metrics": {"test_mse": "low"}}', "JSON object of numbers"),
    ],
)
def test_metrics_json_the_app_cannot_use_is_refused(saved, info, message):
    (saved / "metrics.json").write_text(info)
    with pytest.raises(CheckpointError, match=message):
        load_checkpoint(saved)


def test_config_with_a_5000_digit_integer_is_refused(saved):
    config = json.loads((saved / "config.json").read_text())
    (saved / "config.json").write_text(json.dumps(config)[:-1] + ', "hidden_dim": ' + "9" * 5000 + "}")
    with pytest.raises(CheckpointError, match="not valid JSON"):
        load_checkpoint(saved)


@pytest.mark.parametrize("seed", [-1, 2**63, 2**64])
def test_train_seed_outside_torchs_range_is_refused(seed):
    with pytest.raises(ValueError, match="seed must be in"):
        TrainConfig(seed=seed).validate()


@pytest.mark.parametrize("seed", [-1, 2**32, 2**64])
def test_embeddings_seed_outside_sklearns_range_is_refused(seed):
    with pytest.raises(FmaeError, match="seed must be between"):
        check_settings(["pca"], 500, seed)
    assert check_settings(["pca"], 500, 2**32 - 1)[2] == 2**32 - 1


def test_cli_refuses_negative_threads():
    out = subprocess.run(
        [sys.executable, "-m", "fmae", "train", "--threads", "-3"], capture_output=True, text=True
    )
    assert out.returncode == 2 and "--threads" in out.stderr and "Traceback" not in out.stderr


def test_a_refused_pull_names_no_path_on_this_machine(hub_server, tmp_path):
    """A refused pull said '/root/.cache/huggingface/hub/models--.../snapshots/<sha>/model.safetensors:
    ...': a Space's paths are none of a visitor's business."""
    import uuid

    from huggingface_hub import HfApi
    from safetensors.torch import save_file

    from fmae.hub import pull_checkpoint

    token = "hf_refusals" + uuid.uuid4().hex
    hub_server.add_token(token, "carol")
    folder = save_checkpoint(MLPAutoEncoder(hidden_dim=8, latent_dim=3), tmp_path / "ck")
    state = {k: v.clone() for k, v in load_checkpoint(folder).model.state_dict().items()}
    state["decoder.4.bias"][0] = float("nan")
    save_file(state, str(folder / "model.safetensors"))
    repo_id = f"carol/nan-{uuid.uuid4().hex[:8]}"
    api = HfApi(token=token)
    api.create_repo(repo_id)
    api.upload_folder(repo_id=repo_id, folder_path=folder)
    with pytest.raises(CheckpointError) as info:
        pull_checkpoint(repo_id, token=token)
    message = str(info.value)
    assert "non-finite" in message and "model.safetensors" in message
    assert "/" not in message.replace(repo_id, ""), message


@pytest.mark.parametrize("value", [np.inf, -np.inf, np.nan])
def test_an_image_array_with_non_finite_pixels_is_refused(value):
    """Found by test_fuzz.py: an all-inf 8x8 float array raised IndexError deep in the photo path."""
    arr = np.full((8, 8), value, np.float32)
    with pytest.raises(InputImageError, match="NaN or infinite"):
        preprocess(arr, "fashion")
