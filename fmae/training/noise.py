"""Input corruption for denoising autoencoders (Vincent et al., 2008, "Extracting and composing
robust features with denoising autoencoders"): the encoder sees a corrupted image, the loss compares
the reconstruction with the clean one.

Two kinds, written as the CLI takes them:
- ``gaussian:SIGMA``: add N(0, SIGMA^2) to every pixel of the [0, 1] image, then clip to [0, 1];
- ``mask:FRACTION``: set each pixel to 0 with probability FRACTION (Vincent et al.'s masking noise).
``none`` (or "") is no corruption.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

NOISE_KINDS = ("none", "gaussian", "mask")
#: the largest allowed level: a standard deviation of 1 already drowns a [0, 1] image
MAX_LEVEL = {"gaussian": 1.0, "mask": 1.0}


@dataclass(frozen=True)
class Noise:
    """A corruption: ``kind`` in ``NOISE_KINDS`` and its ``level`` (the standard deviation in [0, 1]
    pixel units for "gaussian", the fraction of pixels set to 0 for "mask"; 0 for "none")."""

    kind: str = "none"
    level: float = 0.0

    @property
    def active(self) -> bool:
        return self.kind != "none" and self.level > 0

    def __str__(self) -> str:
        return "none" if not self.active else f"{self.kind}:{self.level:g}"


def parse_noise(text: str | None) -> Noise:
    """``"gaussian:0.3"`` / ``"mask:0.5"`` / ``"none"`` / ``""`` / None -> ``Noise``.

    Raises ValueError naming the accepted forms for anything else (an unknown kind, a level that is
    not a number or lies outside [0, 1])."""
    if text is None or str(text).strip().lower() in ("", "none"):
        return Noise()
    kind, sep, level = str(text).strip().lower().partition(":")
    forms = "'none', 'gaussian:SIGMA' or 'mask:FRACTION' with the number in [0, 1]"
    if kind not in MAX_LEVEL or not sep:
        raise ValueError(f"noise must be {forms}, not {text!r}")
    try:
        value = float(level)
    except ValueError:
        raise ValueError(f"noise must be {forms}, not {text!r}") from None
    if not 0.0 <= value <= MAX_LEVEL[kind]:  # also refuses NaN
        raise ValueError(f"noise must be {forms}, not {text!r}")
    return Noise(kind, value)


def corrupt(
    x: torch.Tensor, noise: Noise | str | None, generator: torch.Generator | None = None
) -> torch.Tensor:
    """A corrupted copy of images ``x`` (any shape, float in [0, 1]); ``x`` itself is not changed.

    Gaussian: ``clip(x + level * N(0, 1), 0, 1)``; mask: each pixel kept with probability
    ``1 - level``, else 0. The random numbers come from ``generator`` (on ``x``'s device) when given,
    so a seeded generator gives the same corruption every time. Returns ``x`` unchanged (the same
    tensor) for no noise."""
    noise = noise if isinstance(noise, Noise) else parse_noise(noise)
    if not noise.active:
        return x
    if noise.kind == "gaussian":
        eps = torch.randn(x.shape, generator=generator, device=x.device, dtype=x.dtype)
        return (x + noise.level * eps).clamp_(0.0, 1.0)
    keep = torch.rand(x.shape, generator=generator, device=x.device) >= noise.level
    return x * keep.to(x.dtype)
