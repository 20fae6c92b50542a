"""Autoencoders and their checkpoints: the models (each takes images (B, 1, 28, 28) in [0, 1]
and knows nothing about data), the registry with the config bounds checked before any model is
built, checkpoint folders (strict safetensors loading, atomic saving), their model cards, the
reference assets stored beside the weights, the files a checkpoint travels with on the Hub (the
one way up and down, used by ``fmae.hub`` and the models' own ``push_to_hub``/``from_pretrained``),
and the checks that keep non-finite numbers and collapsed encoders from being trusted.

A leaf of the library: it imports only ``fmae.errors``.
"""

from fmae.models.assets import ASSETS_FILE, Analysis, ModelAssets, analyze, load_assets, save_assets
from fmae.models.autoencoders import (
    CONV_ARCHS,
    EVAL_BATCH,
    FAST_CONV_ARCH,
    AutoEncoder,
    ConvAutoEncoder,
    MLPAutoEncoder,
)
from fmae.models.card import CARD_IMAGES, render_card
from fmae.models.checkpoint import (
    CARD_FILE,
    CONFIG_FILE,
    INFO_FILE,
    UNSAFE_SUFFIXES,
    WEIGHTS_FILE,
    Checkpoint,
    check_weights,
    load_checkpoint,
    read_config,
    save_checkpoint,
)
from fmae.models.hubfiles import HUB_FILES, download_checkpoint, upload_checkpoint, verify_checkpoint
from fmae.models.hubmixin import CheckpointHubMixin
from fmae.models.integrity import (
    COLLAPSED_SPREAD,
    KNOWN_DATASETS,
    all_finite,
    check_finite,
    check_info,
    code_spread,
    is_collapsed,
    model_is_finite,
    nonfinite_count,
)
from fmae.models.registry import (
    CONFIG_BOUNDS,
    FLOAT_KEYS,
    MODELS,
    build_model,
    model_config,
    model_type_of,
    validate_config,
)
from fmae.models.vae import LOGVAR_RANGE, MAX_BETA, MLPVAE, ConvVAE, VariationalAutoEncoder, gaussian_kl

__all__ = [
    "ASSETS_FILE",
    "CARD_FILE",
    "CARD_IMAGES",
    "COLLAPSED_SPREAD",
    "CONFIG_BOUNDS",
    "CONFIG_FILE",
    "CONV_ARCHS",
    "EVAL_BATCH",
    "FAST_CONV_ARCH",
    "FLOAT_KEYS",
    "HUB_FILES",
    "INFO_FILE",
    "KNOWN_DATASETS",
    "LOGVAR_RANGE",
    "MAX_BETA",
    "MLPVAE",
    "MODELS",
    "UNSAFE_SUFFIXES",
    "WEIGHTS_FILE",
    "Analysis",
    "AutoEncoder",
    "Checkpoint",
    "CheckpointHubMixin",
    "ConvAutoEncoder",
    "ConvVAE",
    "MLPAutoEncoder",
    "ModelAssets",
    "VariationalAutoEncoder",
    "all_finite",
    "analyze",
    "build_model",
    "check_finite",
    "check_info",
    "check_weights",
    "code_spread",
    "download_checkpoint",
    "gaussian_kl",
    "is_collapsed",
    "load_assets",
    "load_checkpoint",
    "model_config",
    "model_is_finite",
    "model_type_of",
    "nonfinite_count",
    "read_config",
    "render_card",
    "save_assets",
    "save_checkpoint",
    "upload_checkpoint",
    "validate_config",
    "verify_checkpoint",
]
