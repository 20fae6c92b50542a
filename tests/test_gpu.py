"""The library on whatever device the model is on (CUDA on a GPU machine; here the CPU runs the same
code), and the optional ZeroGPU wrapper. benchmarks/gpu_check.py compares CUDA with the CPU."""

from __future__ import annotations

import sys
import types

import numpy as np
import torch

from fmae.latent import decode, encode
from fmae.models import MLPAutoEncoder, load_checkpoint, save_checkpoint
from fmae.training import on_zero_gpu, resolve_device


def test_on_zero_gpu_is_a_no_op_without_spaces(monkeypatch):
    monkeypatch.setitem(sys.modules, "spaces", None)  # "import spaces" raises ImportError

    def run() -> int:
        return 1

    assert on_zero_gpu(run) is run


def test_on_zero_gpu_wraps_with_spaces_gpu(monkeypatch):
    seen = {}

    def gpu(duration: int):
        seen["duration"] = duration
        return lambda fn: ("wrapped", fn)

    monkeypatch.setitem(sys.modules, "spaces", types.SimpleNamespace(GPU=gpu))
    assert on_zero_gpu(print, duration=30) == ("wrapped", print) and seen == {"duration": 30}


def test_auto_device_and_device_independent_code(tmp_path):
    assert resolve_device("auto").type == ("cuda" if torch.cuda.is_available() else "cpu")
    device = resolve_device("auto")
    torch.manual_seed(0)
    model = MLPAutoEncoder(hidden_dim=32, latent_dim=4).to(device)
    images = np.random.default_rng(0).integers(0, 256, (5, 28, 28), dtype=np.uint8)
    codes = encode(model, images)  # numpy out, whatever the device
    assert codes.shape == (5, 4) and decode(model, codes).shape == (5, 28, 28)
    folder = save_checkpoint(model, tmp_path / "ck", {"dataset": "fashion"})
    loaded = load_checkpoint(folder).model  # saved as CPU tensors: loads anywhere
    assert all(p.device.type == "cpu" for p in loaded.parameters())
    np.testing.assert_allclose(encode(loaded, images), codes, atol=1e-5)
