"""fmae: a Fashion-MNIST autoencoder studio (library part; no UI imports here)."""

from fmae.errors import (
    CheckpointError,
    DataUnavailableError,
    FmaeError,
    HubError,
    InputImageError,
)

__version__ = "0.1.0"

__all__ = [
    "CheckpointError",
    "DataUnavailableError",
    "FmaeError",
    "HubError",
    "InputImageError",
    "__version__",
]
