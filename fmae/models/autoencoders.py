"""Autoencoders. Each takes images (B, 1, 28, 28) in [0, 1] and knows nothing about data.

Every model is a ``PyTorchModelHubMixin`` (``CheckpointHubMixin``: its ``save_pretrained``,
``push_to_hub`` and ``from_pretrained`` are fmae's strict checkpoint code): its typed ``__init__``
keyword arguments are its config, so a checkpoint rebuilds it from config.json + model.safetensors.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from fmae.models.hubmixin import CheckpointHubMixin

_HUB_KWARGS = {
    "library_name": "fmae",
    "tags": ["autoencoder", "fashion-mnist", "fmae"],
    "license": "mit",
}


class AutoEncoder(nn.Module):
    """Shared API: ``encode`` -> latent, ``decode_logits``/``decode`` -> image, ``forward``."""

    latent_dim: int

    def encode(self, x: torch.Tensor) -> torch.Tensor:  # (B, 1, 28, 28) -> (B, latent)
        raise NotImplementedError

    def decode_logits(self, z: torch.Tensor) -> torch.Tensor:  # (B, latent) -> (B, 1, 28, 28)
        raise NotImplementedError

    def decode(self, z: torch.Tensor) -> torch.Tensor:
        """Latent codes (B, latent) -> images (B, 1, 28, 28) in [0, 1]."""
        return torch.sigmoid(self.decode_logits(z))

    def logits(self, x: torch.Tensor) -> torch.Tensor:
        """Reconstruction logits; training uses these with BCE-with-logits (stable, fast)."""
        return self.decode_logits(self.encode(x))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Images (B, 1, 28, 28) -> reconstructions (B, 1, 28, 28) in [0, 1]."""
        return self.decode(self.encode(x))

    def loss_terms(self, x: torch.Tensor, target: torch.Tensor) -> dict[str, torch.Tensor]:
        """The training loss of inputs ``x`` (B, 1, 28, 28) against clean images ``target`` (the
        same, or the uncorrupted images for a denoising run): ``{"loss": what is minimised, ...its
        named terms}``, scalars. Here the mean per-pixel binary cross-entropy (the tutorial's
        ``BCELoss``, from logits for stability); a VAE adds its KL term."""
        bce = F.binary_cross_entropy_with_logits(self.logits(x), target)
        return {"loss": bce, "bce": bce}


def mlp_stack(n_in: int, hidden: int, n_out: int, *tail: nn.Module) -> nn.Sequential:
    """Linear(n_in, hidden), ReLU, Linear(hidden, hidden), ReLU, Linear(hidden, n_out), then ``tail``:
    the tutorial's encoder and decoder shape (indices 0, 2, 4 hold the weights, as in its checkpoints)."""
    return nn.Sequential(
        nn.Linear(n_in, hidden),
        nn.ReLU(),
        nn.Linear(hidden, hidden),
        nn.ReLU(),
        nn.Linear(hidden, n_out),
        *tail,
    )


class MLPAutoEncoder(AutoEncoder, CheckpointHubMixin, **_HUB_KWARGS):
    """The tutorial's autoencoder: 784 -> hidden -> hidden -> latent and back, ReLU, sigmoid.

    Defaults are the tutorial class's own (hidden 256); its training run used hidden 128.
    Layer names match the tutorial (``encoder``/``decoder`` Sequentials) so its weights load.
    """

    def __init__(self, input_dim: int = 28 * 28, hidden_dim: int = 256, latent_dim: int = 10):
        super().__init__()
        self.input_dim = input_dim
        self.hidden_dim = hidden_dim
        self.latent_dim = latent_dim
        self.encoder = mlp_stack(input_dim, hidden_dim, latent_dim)
        self.decoder = mlp_stack(latent_dim, hidden_dim, input_dim, nn.Sigmoid())

    def encode(self, x: torch.Tensor) -> torch.Tensor:
        return self.encoder(x.reshape(x.shape[0], -1))  # (B, 784) -> (B, latent)

    def decode_logits(self, z: torch.Tensor) -> torch.Tensor:
        flat = self.decoder[:-1](z)  # every layer but the final Sigmoid: (B, 784)
        return flat.reshape(z.shape[0], 1, 28, 28)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Reconstructions in the input's own shape: (B, 784) as in the tutorial, or (B, 1, 28, 28)."""
        return super().forward(x).reshape(x.shape)


#: ``ConvAutoEncoder`` designs, the ``arch`` config key. 1: the first design (4x4 stride-2 convolutions
#: down, 4x4 transposed convolutions up to a 28x28 feature map); config.json files without ``arch``
#: hold this one. 2: the fast design (see the class docstring); new models are built with it.
CONV_ARCHS = (1, 2)
FAST_CONV_ARCH = 2
#: images per forward pass when a whole set is scored or encoded (each epoch's test pass, codes,
#: per-image errors). On a CPU a batch of ~256 keeps a conv layer's activations in the L2 cache
#: (2 MiB a core here): in one run (2 threads) the 10,000 test images through the fashion-conv design
#: took 0.63 s in batches of 250, 0.83 s in 1,000s and 1.02 s in 2,000s; ``benchmarks/conv_speed.py``
#: measures 0.45-0.48 s at 256 on a quiet machine.
EVAL_BATCH = 256


class ConvAutoEncoder(AutoEncoder, CheckpointHubMixin, **_HUB_KWARGS):
    """Convolutional autoencoder with the same latent size as the MLP.

    ``arch=2`` (what fmae trains): no feature map at 28x28. The encoder folds each 2x2 pixel block
    into 4 channels (``PixelUnshuffle``: (B, 4, 14, 14)), applies two 3x3 convolutions at 14x14 and a
    stride-2 one to 7x7, then a linear bottleneck. The decoder mirrors it with sub-pixel convolutions:
    a 3x3 convolution at 7x7 makes 4x the channels and ``PixelShuffle`` spreads them to 14x14; after
    one more 3x3 convolution, a last one makes 4 channels at 14x14 that ``PixelShuffle`` turns into
    the 28x28 logits. About a third of ``arch=1``'s multiply-adds at the same channels, and all of
    them in plain convolutions and matrix products, which run fast on a CPU.

    ``arch=1`` (the first design, kept so its checkpoints load): 28 -> 14 -> 7 with 4x4 stride-2
    convolutions, a linear bottleneck, and 4x4 transposed convolutions back up to a (c/2, 28, 28)
    feature map and a 3x3 output convolution. The class default, because config.json files written
    before ``arch`` existed hold this design.
    """

    def __init__(self, latent_dim: int = 10, channels: int = 32, hidden_dim: int = 256, arch: int = 1):
        super().__init__()
        if arch not in CONV_ARCHS:
            raise ValueError(f"arch must be one of {CONV_ARCHS}, not {arch!r}")
        self.latent_dim = latent_dim
        self.channels = channels
        self.hidden_dim = hidden_dim
        self.arch = arch
        build = _fast_conv_layers if arch == FAST_CONV_ARCH else _first_conv_layers
        self.encoder, self.decoder = build(latent_dim, channels, hidden_dim)

    def encode(self, x: torch.Tensor) -> torch.Tensor:
        return self.encoder(x.reshape(x.shape[0], 1, 28, 28))

    def decode_logits(self, z: torch.Tensor) -> torch.Tensor:
        return self.decoder(z)


def _first_conv_layers(latent_dim: int, c: int, hidden_dim: int) -> tuple[nn.Sequential, nn.Sequential]:
    """``arch=1``: strided and transposed 4x4 convolutions (layer names as in its checkpoints)."""
    encoder = nn.Sequential(
        nn.Conv2d(1, c, 4, stride=2, padding=1),  # (B, c, 14, 14)
        nn.ReLU(),
        nn.Conv2d(c, 2 * c, 4, stride=2, padding=1),  # (B, 2c, 7, 7)
        nn.ReLU(),
        nn.Flatten(),
        nn.Linear(2 * c * 49, hidden_dim),
        nn.ReLU(),
        nn.Linear(hidden_dim, latent_dim),
    )
    half = max(c // 2, 1)
    decoder = nn.Sequential(
        nn.Linear(latent_dim, hidden_dim),
        nn.ReLU(),
        nn.Linear(hidden_dim, 2 * c * 49),
        nn.ReLU(),
        nn.Unflatten(1, (2 * c, 7, 7)),
        nn.ConvTranspose2d(2 * c, c, 4, stride=2, padding=1),  # (B, c, 14, 14)
        nn.ReLU(),
        nn.ConvTranspose2d(c, half, 4, stride=2, padding=1),  # (B, c/2, 28, 28)
        nn.ReLU(),
        nn.Conv2d(half, 1, 3, padding=1),  # (B, 1, 28, 28) logits
    )
    return encoder, decoder


def _fast_conv_layers(
    latent_dim: int, c: int, hidden_dim: int, code_dim: int | None = None
) -> tuple[nn.Sequential, nn.Sequential]:
    """``arch=2``: space-to-depth in, sub-pixel convolutions out, nothing computed at 28x28. The
    encoder ends in ``code_dim`` numbers (default ``latent_dim``; a VAE's: 2 * latent, its posterior's
    mean and log-variance); the decoder takes ``latent_dim``."""
    encoder = nn.Sequential(
        nn.PixelUnshuffle(2),  # (B, 4, 14, 14): each 2x2 block as 4 channels
        nn.Conv2d(4, c, 3, padding=1),  # (B, c, 14, 14)
        nn.ReLU(),
        nn.Conv2d(c, c, 3, padding=1),
        nn.ReLU(),
        nn.Conv2d(c, 2 * c, 3, stride=2, padding=1),  # (B, 2c, 7, 7)
        nn.ReLU(),
        nn.Flatten(),
        nn.Linear(2 * c * 49, hidden_dim),
        nn.ReLU(),
        nn.Linear(hidden_dim, code_dim or latent_dim),
    )
    decoder = nn.Sequential(
        nn.Linear(latent_dim, hidden_dim),
        nn.ReLU(),
        nn.Linear(hidden_dim, 2 * c * 49),
        nn.ReLU(),
        nn.Unflatten(1, (2 * c, 7, 7)),
        nn.Conv2d(2 * c, 4 * c, 3, padding=1),  # (B, 4c, 7, 7)
        nn.PixelShuffle(2),  # (B, c, 14, 14)
        nn.ReLU(),
        nn.Conv2d(c, c, 3, padding=1),
        nn.ReLU(),
        nn.Conv2d(c, 4, 3, padding=1),  # (B, 4, 14, 14)
        nn.PixelShuffle(2),  # (B, 1, 28, 28) logits
    )
    return encoder, decoder
