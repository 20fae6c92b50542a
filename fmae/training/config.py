"""``TrainConfig``: everything that defines a training run, with the bounds checked before
anything is allocated. Defaults are the tutorial's run (MLP 784-128-128-10, batch 64, Adam 1e-3,
5 epochs)."""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass

from fmae.data import check_name
from fmae.models import FAST_CONV_ARCH, validate_config
from fmae.training.noise import parse_noise
from fmae.training.schedule import SCHEDULES

#: hard limits so one run cannot hold the machine or its memory (the app may lower them)
MAX_EPOCHS = 100
MAX_BATCH = 4096
MAX_SEED = 2**63 - 1  # torch.manual_seed takes a signed 64-bit integer
MAX_BETA = 100.0  # a VAE's KL weight: beyond this the codes carry (almost) nothing
#: the models whose config takes ``beta`` (variational autoencoders), and the MLP-shaped ones
VAE_MODELS = ("conv-vae", "mlp-vae")
_MLP_SHAPED = ("mlp", "mlp-vae")


@dataclass
class TrainConfig:
    """Everything that defines a training run. Defaults are the tutorial's run."""

    dataset: str = "fashion"
    model: str = "mlp"  # a key of fmae.models.MODELS
    epochs: int = 5
    batch_size: int = 64
    lr: float = 1e-3
    latent_dim: int = 10
    hidden_dim: int = 128
    channels: int = 16  # conv only (the fast design; the shipped fashion-conv uses 16)
    seed: int = 0
    schedule: str = "constant"  # "cosine": decays to 0 over the run; "onecycle": warm-up, then cosine
    noise: str = "none"  # input corruption of a denoising run: "gaussian:SIGMA" or "mask:FRACTION"
    beta: float = 1.0  # a VAE's KL weight (beta-VAE; 1 is the ELBO); ignored by other models
    train_limit: int | None = None  # use only the first N training images (quick runs)
    log_every: int = 100  # a StepEvent every this many steps
    device: str = "auto"

    def validate(self) -> TrainConfig:
        """Raise ValueError on out-of-range or mistyped settings (a bool, a float or a string where an
        integer belongs; a learning rate that is not a finite number); return self."""
        for key in ("epochs", "batch_size", "latent_dim", "hidden_dim", "channels", "seed", "log_every"):
            if type(getattr(self, key)) is not int:
                raise ValueError(f"{key} must be an integer, not {getattr(self, key)!r}")
        if self.train_limit is not None and type(self.train_limit) is not int:
            raise ValueError(f"train_limit must be an integer or None, not {self.train_limit!r}")
        if isinstance(self.lr, bool) or not isinstance(self.lr, int | float) or not math.isfinite(self.lr):
            raise ValueError(f"lr must be a finite number, not {self.lr!r}")
        for key in ("dataset", "model", "schedule", "device"):
            if not isinstance(getattr(self, key), str):
                raise ValueError(f"{key} must be a string, not {getattr(self, key)!r}")
        check_name(self.dataset)
        if not 0 <= self.seed <= MAX_SEED:
            raise ValueError(f"seed must be in [0, {MAX_SEED}]")
        if not 1 <= self.epochs <= MAX_EPOCHS:
            raise ValueError(f"epochs must be in [1, {MAX_EPOCHS}]")
        if not 1 <= self.batch_size <= MAX_BATCH:
            raise ValueError(f"batch_size must be in [1, {MAX_BATCH}]")
        if not 0 < self.lr <= 1:
            raise ValueError("lr must be in (0, 1]")
        if self.train_limit is not None and self.train_limit < 1:
            raise ValueError("train_limit must be positive")
        if self.schedule not in SCHEDULES:
            raise ValueError(f"schedule must be one of {', '.join(map(repr, SCHEDULES))}")
        if self.log_every < 1:
            raise ValueError("log_every must be positive")
        if not isinstance(self.noise, str):
            raise ValueError(f"noise must be a string, not {self.noise!r}")
        parse_noise(self.noise)  # ValueError naming the accepted forms
        bad_beta = isinstance(self.beta, bool) or not isinstance(self.beta, int | float)
        if bad_beta or not 0 < self.beta <= MAX_BETA:  # the range first: NaN fails it, a huge int too
            raise ValueError(f"beta must be a number in (0, {MAX_BETA:g}], not {self.beta!r}")
        validate_config({"model_type": self.model, **self.model_kwargs()})  # bounds, before allocating
        return self

    def model_kwargs(self) -> dict[str, int | float]:
        """The model's ``__init__`` kwargs implied by this config (conv: always the fast design;
        a VAE: also ``beta``)."""
        kwargs: dict[str, int | float]
        if self.model in _MLP_SHAPED:
            kwargs = {"hidden_dim": self.hidden_dim, "latent_dim": self.latent_dim}
        else:
            kwargs = {
                "latent_dim": self.latent_dim,
                "hidden_dim": self.hidden_dim,
                "channels": self.channels,
                "arch": FAST_CONV_ARCH,
            }
        if self.model in VAE_MODELS:
            kwargs["beta"] = float(self.beta)
        return kwargs

    def to_dict(self) -> dict[str, object]:
        return asdict(self)
