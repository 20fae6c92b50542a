"""Variational autoencoders (Kingma & Welling 2014, "Auto-Encoding Variational Bayes").

The encoder gives a diagonal Gaussian posterior q(z|x) = N(mu, diag(exp(logvar))) over the code; the
decoder gives Bernoulli logits per pixel. ``encode(x)`` is the posterior mean ``mu``: the code every
other part of fmae (reconstruction, embeddings, the Hub) uses, as for a plain autoencoder. Training
minimises reconstruction BCE plus ``beta`` times the KL divergence to the prior N(0, I) (beta = 1: the
negative ELBO; beta > 1: a beta-VAE, Higgins et al. 2017). ``sample(n)`` decodes codes drawn from the
prior.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from fmae.models.autoencoders import _HUB_KWARGS, FAST_CONV_ARCH, AutoEncoder, _fast_conv_layers, mlp_stack
from fmae.models.hubmixin import CheckpointHubMixin

PIXELS = 28 * 28
MAX_BETA = 100.0  # beyond this the KL term drowns the reconstruction: the codes carry (almost) nothing
#: the log-variance is clamped to this range (nats). Without a bound one bad step can push it past
#: ~88, where exp() overflows float32 to infinity and the KL, the sample and every later weight turn
#: NaN. The bounds are far outside what a trained posterior uses: a standard deviation of 3e-7 to 2e4.
LOGVAR_RANGE = (-30.0, 20.0)
_VAE_HUB_KWARGS = {**_HUB_KWARGS, "tags": [*_HUB_KWARGS["tags"], "vae"]}


def check_beta(beta: object) -> float:
    """``beta`` as a float; ValueError unless it is a finite number in (0, ``MAX_BETA``] (not a bool)."""
    if isinstance(beta, bool) or not isinstance(beta, int | float) or not 0 < beta <= MAX_BETA:
        raise ValueError(f"beta must be a number in (0, {MAX_BETA:g}], not {beta!r}")
    return float(beta)  # NaN fails the range test above; +inf fails <= MAX_BETA


def gaussian_kl(mu: torch.Tensor, logvar: torch.Tensor) -> torch.Tensor:
    """KL(N(mu, diag(exp(logvar))) || N(0, I)) per row, in nats: (B, latent) x 2 -> (B,).

    Closed form -0.5 * sum_j (1 + logvar_j - mu_j^2 - exp(logvar_j)) (Kingma & Welling 2014,
    appendix B)."""
    return -0.5 * torch.sum(1 + logvar - mu.pow(2) - logvar.exp(), dim=1)


class VariationalAutoEncoder(AutoEncoder):
    """Shared VAE API on top of ``AutoEncoder``: ``posterior``, ``sample`` and the ELBO's
    ``loss_terms``. Subclasses build ``encoder`` (ending in 2 * latent numbers: the mean, then the
    log-variance) and ``decode_logits``."""

    beta: float

    def _stats(self, x: torch.Tensor) -> torch.Tensor:  # (B, 1, 28, 28) -> (B, 2 * latent)
        raise NotImplementedError

    def posterior(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Images (B, 1, 28, 28) (the MLP's also (B, 784)) in [0, 1] -> the posterior's mean and
        log-variance, each (B, latent); the log-variance clamped to ``LOGVAR_RANGE``."""
        mu, logvar = self._stats(x).chunk(2, dim=1)
        return mu, logvar.clamp(*LOGVAR_RANGE)

    def encode(self, x: torch.Tensor) -> torch.Tensor:
        """The posterior mean (B, latent): the code of images (B, 1, 28, 28), deterministic."""
        return self.posterior(x)[0]

    @torch.no_grad()
    def sample(self, n: int, generator: torch.Generator | None = None) -> torch.Tensor:
        """``n`` images (n, 1, 28, 28) in [0, 1]: codes z ~ N(0, I) (n, latent), drawn from ``generator``
        (the global RNG when None; a seeded generator gives the same images every time), decoded.
        Raises ValueError for an ``n`` that is not a non-negative integer."""
        if isinstance(n, bool) or not isinstance(n, int) or n < 0:
            raise ValueError(f"n must be a non-negative integer, not {n!r}")
        param = next(self.parameters())
        where = generator.device if generator is not None else param.device
        z = torch.randn(n, self.latent_dim, generator=generator, device=where)
        return self.decode(z.to(param.device, param.dtype))

    def loss_terms(
        self, x: torch.Tensor, target: torch.Tensor, eps: torch.Tensor | None = None
    ) -> dict[str, torch.Tensor]:
        """The beta-VAE loss of inputs ``x`` (B, 1, 28, 28) against clean images ``target`` (same shape),
        scalars: ``bce``, the mean per-pixel BCE of the decoded sample z = mu + exp(logvar / 2) * eps
        (the reparameterisation trick, Kingma & Welling 2014, section 2.4; ``eps`` (B, latent) defaults
        to ``torch.randn_like(mu)``, the global RNG the trainer seeds); ``kl``, the batch mean of
        ``gaussian_kl`` (nats per image); ``loss = bce + beta * kl / 784``, so that with beta = 1,
        784 * loss is the negative ELBO per image in nats (one sample, pixels as Bernoulli)."""
        mu, logvar = self.posterior(x)
        if eps is None:
            eps = torch.randn_like(mu)
        z = mu + torch.exp(0.5 * logvar) * eps  # (B, latent)
        logits = self.decode_logits(z)  # (B, 1, 28, 28)
        bce = F.binary_cross_entropy_with_logits(logits, target.reshape(logits.shape))
        kl = gaussian_kl(mu, logvar).mean()
        return {"loss": bce + self.beta * kl / PIXELS, "bce": bce, "kl": kl}


class ConvVAE(VariationalAutoEncoder, CheckpointHubMixin, **_VAE_HUB_KWARGS):
    """``ConvAutoEncoder``'s fast design (``arch=2``, the same layers) as a VAE: the encoder's last
    Linear gives 2 * latent numbers, the posterior's mean and log-variance. ``arch`` is recorded (and
    must be 2) so the config reads like the conv model's. Raises ValueError for another ``arch`` or a
    ``beta`` outside (0, 100]."""

    def __init__(
        self,
        latent_dim: int = 10,
        channels: int = 32,
        hidden_dim: int = 256,
        arch: int = FAST_CONV_ARCH,
        beta: float = 1.0,
    ):
        super().__init__()
        if arch != FAST_CONV_ARCH:
            raise ValueError(f"a conv VAE has arch {FAST_CONV_ARCH} only, not {arch!r}")
        self.latent_dim = latent_dim
        self.channels = channels
        self.hidden_dim = hidden_dim
        self.arch = arch
        self.beta = check_beta(beta)
        self.encoder, self.decoder = _fast_conv_layers(latent_dim, channels, hidden_dim, 2 * latent_dim)

    def _stats(self, x: torch.Tensor) -> torch.Tensor:
        return self.encoder(x.reshape(x.shape[0], 1, 28, 28))  # (B, 2 * latent)

    def decode_logits(self, z: torch.Tensor) -> torch.Tensor:
        return self.decoder(z)  # (B, latent) -> (B, 1, 28, 28)


class MLPVAE(VariationalAutoEncoder, CheckpointHubMixin, **_VAE_HUB_KWARGS):
    """``MLPAutoEncoder``'s layers as a VAE: 784 -> hidden -> hidden -> 2 * latent (mean, log-variance)
    and latent -> hidden -> hidden -> 784 logits, ReLU between. Raises ValueError for a ``beta``
    outside (0, 100]."""

    def __init__(
        self, input_dim: int = PIXELS, hidden_dim: int = 256, latent_dim: int = 10, beta: float = 1.0
    ):
        super().__init__()
        self.input_dim = input_dim
        self.hidden_dim = hidden_dim
        self.latent_dim = latent_dim
        self.beta = check_beta(beta)
        self.encoder = mlp_stack(input_dim, hidden_dim, 2 * latent_dim)  # mean and log-variance
        self.decoder = mlp_stack(latent_dim, hidden_dim, input_dim)  # logits

    def _stats(self, x: torch.Tensor) -> torch.Tensor:
        return self.encoder(x.reshape(x.shape[0], -1))  # (B, 784) -> (B, 2 * latent)

    def decode_logits(self, z: torch.Tensor) -> torch.Tensor:
        return self.decoder(z).reshape(z.shape[0], 1, 28, 28)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Reconstructions (from the posterior mean) in the input's shape: (B, 784) or (B, 1, 28, 28)."""
        return super().forward(x).reshape(x.shape)
