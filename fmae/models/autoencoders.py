"""Autoencoders. Each takes images (B, 1, 28, 28) in [0, 1] and knows nothing about data.

Every model is a ``PyTorchModelHubMixin`` (``CheckpointHubMixin``: its ``save_pretrained``,
``push_to_hub`` and ``from_pretrained`` are fmae's strict checkpoint code): its typed ``__init__``
keyword arguments are its config, so a checkpoint rebuilds it from config.json + model.safetensors.
"""

from __future__ import annotations

import torch
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
        self.encoder = nn.Sequential(
            nn.Linear(input_dim, hidden_dim),
            nn.ReLU(),
            nn.Linear(hidden_dim, hidden_dim),
            nn.ReLU(),
            nn.Linear(hidden_dim, latent_dim),
        )
        self.decoder = nn.Sequential(
            nn.Linear(latent_dim, hidden_dim),
            nn.ReLU(),
            nn.Linear(hidden_dim, hidden_dim),
            nn.ReLU(),
            nn.Linear(hidden_dim, input_dim),
            nn.Sigmoid(),
        )

    def encode(self, x: torch.Tensor) -> torch.Tensor:
        return self.encoder(x.reshape(x.shape[0], -1))  # (B, 784) -> (B, latent)

    def decode_logits(self, z: torch.Tensor) -> torch.Tensor:
        flat = self.decoder[:-1](z)  # every layer but the final Sigmoid: (B, 784)
        return flat.reshape(z.shape[0], 1, 28, 28)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Reconstructions in the input's own shape: (B, 784) as in the tutorial, or (B, 1, 28, 28)."""
        return super().forward(x).reshape(x.shape)


class ConvAutoEncoder(AutoEncoder, CheckpointHubMixin, **_HUB_KWARGS):
    """Convolutional autoencoder with the same latent size as the MLP.

    Encoder: 28 -> 14 -> 7 with stride-2 convolutions, then a linear bottleneck.
    Decoder mirrors it with transposed convolutions and a 3x3 output convolution.
    Sized to train in minutes on two CPU cores.
    """

    def __init__(self, latent_dim: int = 10, channels: int = 32, hidden_dim: int = 256):
        super().__init__()
        self.latent_dim = latent_dim
        self.channels = channels
        self.hidden_dim = hidden_dim
        c = channels
        self.encoder = nn.Sequential(
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
        self.decoder = nn.Sequential(
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

    def encode(self, x: torch.Tensor) -> torch.Tensor:
        return self.encoder(x.reshape(x.shape[0], 1, 28, 28))

    def decode_logits(self, z: torch.Tensor) -> torch.Tensor:
        return self.decoder(z)
