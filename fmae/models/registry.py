"""The model registry: name -> class, the config bounds checked before any model is built, and
the config.json content that rebuilds a model (``model_type`` plus its ``__init__`` kwargs)."""

from __future__ import annotations

import math

from torch import nn

from fmae.models.autoencoders import AutoEncoder, ConvAutoEncoder, MLPAutoEncoder
from fmae.models.vae import MAX_BETA, MLPVAE, ConvVAE

#: model name -> class; checkpoints store the name as ``model_type`` in config.json
MODELS: dict[str, type[AutoEncoder]] = {
    "mlp": MLPAutoEncoder,
    "conv": ConvAutoEncoder,
    "conv-vae": ConvVAE,
    "mlp-vae": MLPVAE,
}

#: config keys whose values are floats, bounded (min, max]: a VAE's KL weight. Every other key is an
#: integer in [min, max].
FLOAT_KEYS = frozenset({"beta"})
_BETA = (0.0, MAX_BETA)

#: allowed config values per model, checked before any model is built (see ``FLOAT_KEYS``)
CONFIG_BOUNDS: dict[str, dict[str, tuple[int, int] | tuple[float, float]]] = {
    "mlp": {"input_dim": (784, 784), "hidden_dim": (1, 2048), "latent_dim": (1, 256)},
    # arch: ConvAutoEncoder's design (1 the first, 2 the fast one); absent in older config.json = 1
    "conv": {"latent_dim": (1, 256), "channels": (1, 128), "hidden_dim": (1, 2048), "arch": (1, 2)},
    # the VAEs: the same layers plus ``beta``; a conv VAE exists in the fast design only
    "conv-vae": {
        "latent_dim": (1, 256),
        "channels": (1, 128),
        "hidden_dim": (1, 2048),
        "arch": (2, 2),
        "beta": _BETA,
    },
    "mlp-vae": {"input_dim": (784, 784), "hidden_dim": (1, 2048), "latent_dim": (1, 256), "beta": _BETA},
}


def model_type_of(model: nn.Module) -> str:
    """Registry name of ``model``'s class."""
    for name, cls in MODELS.items():
        if type(model) is cls:
            return name
    raise TypeError(f"{type(model).__name__} is not a registered fmae model")


def model_config(model: nn.Module) -> dict[str, object]:
    """The config.json content that rebuilds ``model``: its type and ``__init__`` kwargs."""
    name = model_type_of(model)
    return {
        "model_type": name,
        **{k: (float if k in FLOAT_KEYS else int)(getattr(model, k)) for k in CONFIG_BOUNDS[name]},
    }


def _checked(key: str, value: object, lo: float, hi: float) -> int | float:
    """``value`` for config ``key``, or ValueError: an integer in [lo, hi], or for a ``FLOAT_KEYS``
    key a finite number in (lo, hi] (an integer becomes a float; a bool is refused)."""
    if key in FLOAT_KEYS:
        bad = isinstance(value, bool) or not isinstance(value, int | float)
        if bad or not lo < value <= hi or not math.isfinite(value):  # range first: 10**400 has no float
            raise ValueError(f"{key} must be a number in ({lo:g}, {hi:g}], not {value!r}")
        return float(value)
    if isinstance(value, bool) or not isinstance(value, int) or not lo <= value <= hi:
        raise ValueError(f"{key} must be an integer in [{lo}, {hi}], not {value!r}")
    return value


def validate_config(config: object) -> tuple[str, dict[str, int | float]]:
    """Check a config dict against the registry and bounds; return (model_type, kwargs).

    Raises ValueError with a readable reason; nothing is allocated before this passes.
    """
    if not isinstance(config, dict):
        raise ValueError("config must be a JSON object")
    name = config.get("model_type")
    if name not in MODELS:
        raise ValueError(f"model_type must be one of {sorted(MODELS)}, not {name!r}")
    bounds = CONFIG_BOUNDS[name]
    unknown = sorted(set(config) - set(bounds) - {"model_type"})
    if unknown:
        raise ValueError(f"unknown config keys for {name}: {unknown}")
    kwargs: dict[str, int | float] = {}
    for key, (lo, hi) in bounds.items():
        if key in config:  # else the class default applies
            kwargs[key] = _checked(key, config[key], lo, hi)
    return name, kwargs


def build_model(model_type: str, **kwargs: int | float) -> AutoEncoder:
    """Build a fresh model by registry name after validating its config."""
    name, checked = validate_config({"model_type": model_type, **kwargs})
    return MODELS[name](**checked)
