"""Autoencoders and their checkpoints: the models (each takes images (B, 1, 28, 28) in [0, 1]
and knows nothing about data), the registry with the config bounds checked before any model is
built, checkpoint folders (strict safetensors loading, atomic saving), their model cards and the
reference assets stored beside the weights.

A leaf of the library: it imports only ``fmae.errors``.
"""

from fmae.models.assets import ASSETS_FILE, Analysis, ModelAssets, analyze, load_assets, save_assets
from fmae.models.autoencoders import AutoEncoder, ConvAutoEncoder, MLPAutoEncoder
from fmae.models.card import CARD_IMAGES, render_card
from fmae.models.checkpoint import (
    CARD_FILE,
    CONFIG_FILE,
    INFO_FILE,
    UNSAFE_SUFFIXES,
    WEIGHTS_FILE,
    Checkpoint,
    load_checkpoint,
    read_config,
    save_checkpoint,
)
from fmae.models.registry import (
    CONFIG_BOUNDS,
    MODELS,
    build_model,
    model_config,
    model_type_of,
    validate_config,
)

__all__ = [
    "ASSETS_FILE",
    "CARD_FILE",
    "CARD_IMAGES",
    "CONFIG_BOUNDS",
    "CONFIG_FILE",
    "INFO_FILE",
    "MODELS",
    "UNSAFE_SUFFIXES",
    "WEIGHTS_FILE",
    "Analysis",
    "AutoEncoder",
    "Checkpoint",
    "ConvAutoEncoder",
    "MLPAutoEncoder",
    "ModelAssets",
    "analyze",
    "build_model",
    "load_assets",
    "load_checkpoint",
    "model_config",
    "model_type_of",
    "read_config",
    "render_card",
    "save_assets",
    "save_checkpoint",
    "validate_config",
]
