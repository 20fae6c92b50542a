"""A model's decoder as data: a JSON-able list of layers plus one float32 weight array.

What a web page needs to run the decoder itself (the latent pad decodes in the browser, tens of
times a second). Layers, each a dict with ``op`` and its input and output shapes (``shape_in``,
``shape_out``: [n] for vectors, [c, h, w] for feature maps); weights are slices ``weights[off :
off + size]`` of the one array, in PyTorch's own memory order:

- ``linear``: ``in``, ``out``; ``w`` (out, in) row-major and ``b`` (out,) offsets: y = W x + b
- ``relu``; ``unflatten``: a vector as ``shape_out`` (no data moves)
- ``conv``: stride 1, square kernel ``k``, zero padding ``pad``; weight (out_c, in_c, k, k), bias
- ``conv_transpose``: square kernel ``k``, ``stride``, ``pad``; weight (in_c, out_c, k, k), bias;
  output side (side - 1) * stride - 2 * pad + k
- ``pixel_shuffle``: factor ``r``: (c r^2, h, w) -> (c, h r, w r), out[c, y r + i, x r + j] =
  in[c r^2 + i r + j, y, x]

The layers compute the decoder's logits (784 numbers, one 28x28 image); the image is their sigmoid.
``run_spec`` is the reference implementation in NumPy.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch
from torch import nn

from fmae.models import AutoEncoder, MLPAutoEncoder

CHECK_ATOL = 1e-3  # logits of the spec and of the model on test codes may differ by this much (float32 sums)


class UnsupportedDecoderError(ValueError):
    """The model's decoder has a layer (or a structure) the spec cannot describe."""


@dataclass
class DecoderSpec:
    """``layers`` (JSON-able dicts, see the module docstring), ``weights`` (W,) float32, ``latent_dim``."""

    layers: list[dict[str, Any]]
    weights: np.ndarray
    latent_dim: int
    macs: int = field(default=0)  # multiply-adds per decoded image


def _sequence(model: AutoEncoder) -> list[nn.Module]:
    """The modules whose composition is ``model.decode_logits`` (checked by ``decoder_spec``)."""
    decoder = getattr(model, "decoder", None)
    if not isinstance(decoder, nn.Sequential):
        raise UnsupportedDecoderError(f"{type(model).__name__} has no nn.Sequential decoder")
    layers = list(decoder)
    if isinstance(model, MLPAutoEncoder) and layers and isinstance(layers[-1], nn.Sigmoid):
        layers = layers[:-1]  # decode_logits skips the final Sigmoid
    return layers


class _Blob:
    def __init__(self) -> None:
        self.parts: list[np.ndarray] = []
        self.size = 0

    def add(self, tensor: torch.Tensor) -> int:
        a = tensor.detach().cpu().to(torch.float32).numpy().ravel()
        self.parts.append(a)
        self.size += a.size
        return self.size - a.size


def _layer(m: nn.Module, shape: list[int], blob: _Blob) -> tuple[dict[str, Any], int]:
    """One module -> (its spec dict, its multiply-adds)."""
    if isinstance(m, nn.Linear):
        if shape != [m.in_features]:
            raise UnsupportedDecoderError(f"Linear({m.in_features}) after shape {shape}")
        b = blob.add(m.bias) if m.bias is not None else -1
        spec = {"op": "linear", "in": m.in_features, "out": m.out_features, "w": blob.add(m.weight), "b": b}
        return {**spec, "shape_out": [m.out_features]}, m.in_features * m.out_features
    if isinstance(m, nn.ReLU):
        return {"op": "relu", "shape_out": shape}, 0
    if isinstance(m, nn.Unflatten):
        out = [int(s) for s in m.unflattened_size]
        if m.dim != 1 or len(shape) != 1 or int(np.prod(out)) != shape[0]:
            raise UnsupportedDecoderError(f"Unflatten to {out} after shape {shape}")
        return {"op": "unflatten", "shape_out": out}, 0
    if isinstance(m, nn.PixelShuffle):
        r = int(m.upscale_factor)
        if len(shape) != 3 or shape[0] % (r * r):
            raise UnsupportedDecoderError(f"PixelShuffle({r}) after shape {shape}")
        return {
            "op": "pixel_shuffle",
            "r": r,
            "shape_out": [shape[0] // r // r, shape[1] * r, shape[2] * r],
        }, 0
    if isinstance(m, nn.Conv2d | nn.ConvTranspose2d):
        return _conv(m, shape, blob)
    raise UnsupportedDecoderError(f"no page version of the layer {type(m).__name__}")


def _conv(m: nn.Conv2d | nn.ConvTranspose2d, shape: list[int], blob: _Blob) -> tuple[dict[str, Any], int]:
    k, s, p = m.kernel_size, m.stride, m.padding
    plain = m.groups == 1 and m.dilation == (1, 1) and k[0] == k[1] and s[0] == s[1] and p[0] == p[1]
    plain = plain and m.padding_mode == "zeros" and len(shape) == 3 and shape[0] == m.in_channels
    transposed = isinstance(m, nn.ConvTranspose2d)
    if not plain or (transposed and m.output_padding != (0, 0)) or (not transposed and s[0] != 1):
        raise UnsupportedDecoderError(f"{m} after shape {shape}")
    c, h, w = shape
    if transposed:
        oh, ow = (h - 1) * s[0] - 2 * p[0] + k[0], (w - 1) * s[0] - 2 * p[0] + k[0]
    else:
        oh, ow = h + 2 * p[0] - k[0] + 1, w + 2 * p[0] - k[0] + 1
    spec = {
        "op": "conv_transpose" if transposed else "conv", "in": c, "out": m.out_channels, "k": k[0],
        "stride": s[0], "pad": p[0], "w": blob.add(m.weight), "b": -1 if m.bias is None else blob.add(m.bias),
        "shape_out": [m.out_channels, oh, ow],
    }  # fmt: skip
    return spec, c * m.out_channels * k[0] * k[0] * (h * w if transposed else oh * ow)


@torch.inference_mode()
def decoder_spec(model: AutoEncoder) -> DecoderSpec:
    """The decoder of ``model`` (MLP and conv autoencoders of both designs, VAEs) as layers + weights.

    Checked before it is returned: ``run_spec`` on a few codes must give the model's own logits
    (within ``CHECK_ATOL``). Raises UnsupportedDecoderError (a ValueError) for a decoder it cannot
    describe or whose ``decode_logits`` is not its ``decoder`` layers."""
    shape, layers, macs, blob = [int(model.latent_dim)], [], 0, _Blob()
    for m in _sequence(model):
        spec, cost = _layer(m, shape, blob)
        layers.append({**spec, "shape_in": shape})
        shape, macs = spec["shape_out"], macs + cost
    if int(np.prod(shape)) != 28 * 28:
        raise UnsupportedDecoderError(f"the decoder ends in shape {shape}, not 784 numbers")
    weights = np.concatenate(blob.parts).astype(np.float32) if blob.parts else np.zeros(0, np.float32)
    spec = DecoderSpec(layers, weights, int(model.latent_dim), macs)
    param = next(model.parameters())
    z = torch.linspace(-2.0, 2.0, 3 * spec.latent_dim).reshape(3, -1).to(param.device, param.dtype)
    want = model.decode_logits(z).reshape(3, -1).float().cpu().numpy()
    if not np.allclose(
        run_spec(spec, z.float().cpu().numpy(), logits=True), want, atol=CHECK_ATOL, rtol=1e-4
    ):
        raise UnsupportedDecoderError(f"{type(model).__name__}.decode_logits is not its decoder's layers")
    return spec


def _conv_np(x: np.ndarray, w: np.ndarray, pad: int) -> np.ndarray:
    """Stride-1 convolution: x (B, C, H, W), w (O, C, k, k) -> (B, O, H', W')."""
    k = w.shape[-1]
    xp = np.pad(x, ((0, 0), (0, 0), (pad, pad), (pad, pad)))
    oh, ow = xp.shape[2] - k + 1, xp.shape[3] - k + 1
    out = np.zeros((x.shape[0], w.shape[0], oh, ow), np.float32)
    for i in range(k):
        for j in range(k):
            out += np.einsum("oc,bchw->bohw", w[:, :, i, j], xp[:, :, i : i + oh, j : j + ow])
    return out


def _conv_transpose_np(x: np.ndarray, w: np.ndarray, stride: int, pad: int) -> np.ndarray:
    """Transposed convolution: x (B, C, H, W), w (C, O, k, k) -> (B, O, (H-1)s - 2p + k, ...)."""
    b, _, h, wd = x.shape
    k, s = w.shape[-1], stride
    full = np.zeros((b, w.shape[1], (h - 1) * s + k, (wd - 1) * s + k), np.float32)
    for i in range(k):
        for j in range(k):
            full[:, :, i : i + (h - 1) * s + 1 : s, j : j + (wd - 1) * s + 1 : s] += np.einsum(
                "co,bchw->bohw", w[:, :, i, j], x
            )
    return full[:, :, pad : full.shape[2] - pad, pad : full.shape[3] - pad]


def run_spec(spec: DecoderSpec, codes: np.ndarray, logits: bool = False) -> np.ndarray:
    """Run ``spec`` on codes (B, latent) in NumPy float32: images (B, 28, 28) in [0, 1], or the
    logits (B, 784) when ``logits``. Raises ValueError for codes of the wrong width."""
    x = np.atleast_2d(np.asarray(codes, np.float32))
    if x.shape[1] != spec.latent_dim:
        raise ValueError(f"codes need {spec.latent_dim} numbers, got {x.shape[1]}")
    wt = spec.weights

    def part(off: int, shape: tuple[int, ...]) -> np.ndarray:
        return wt[off : off + int(np.prod(shape))].reshape(shape)

    for layer in spec.layers:
        op, out = layer["op"], layer["shape_out"]
        if op == "linear":
            x = x @ part(layer["w"], (layer["out"], layer["in"])).T
        elif op == "relu":
            x = np.maximum(x, 0.0)
        elif op == "unflatten":
            x = x.reshape(len(x), *out)
        elif op == "pixel_shuffle":
            r, (c, h, w) = layer["r"], out
            x = (
                x.reshape(len(x), c, r, r, h // r, w // r)
                .transpose(0, 1, 4, 2, 5, 3)
                .reshape(len(x), c, h, w)
            )
        elif op in ("conv", "conv_transpose"):
            k = layer["k"]
            if op == "conv":
                x = _conv_np(x, part(layer["w"], (layer["out"], layer["in"], k, k)), layer["pad"])
            else:
                w = part(layer["w"], (layer["in"], layer["out"], k, k))
                x = _conv_transpose_np(x, w, layer["stride"], layer["pad"])
        else:
            raise UnsupportedDecoderError(f"unknown op {op!r}")
        if layer.get("b", -1) >= 0:  # one bias per output feature or channel
            x = x + part(layer["b"], (out[0],) + (1,) * (len(out) - 1))
    flat = x.reshape(len(x), -1).astype(np.float32)
    return flat if logits else (1.0 / (1.0 + np.exp(-flat))).reshape(-1, 28, 28).astype(np.float32)
