"""The optimizer steps ``train()`` takes: ``AutogradStep`` for any model (the model's own
``loss_terms``, Adam, the schedule, a denoising run's input noise) and ``MLPFastStep``, the same
step for the plain MLP on the CPU without autograd (``fmae.training.fastmlp``). Each is called with
a batch's row indices and returns the batch's loss; ``live`` lists the tensors that hold the
weights as they train; ``finish()`` makes the model's parameters current."""

from __future__ import annotations

from collections.abc import Callable

import torch

from fmae.data import to_float
from fmae.models import AutoEncoder
from fmae.training import distributed, fastmlp
from fmae.training.config import TrainConfig
from fmae.training.noise import corrupt, parse_noise
from fmae.training.schedule import lr_factor, make_scheduler


def make_optimizer(model: torch.nn.Module, lr: float) -> torch.optim.Optimizer:
    """Adam, fused where this build supports it (same maths, fewer kernel launches)."""
    try:
        return torch.optim.Adam(model.parameters(), lr=lr, fused=True)
    except (RuntimeError, TypeError, ValueError):
        return torch.optim.Adam(model.parameters(), lr=lr)


class AutogradStep:
    """One optimizer step for any model: autograd + (fused) Adam, the config's schedule, the model's
    own ``loss_terms`` (BCE; a VAE's adds KL), the config's input noise (its own seeded generator,
    so the noise does not shift the batch order or a VAE's sampling)."""

    def __init__(self, config: TrainConfig, model: AutoEncoder, images: torch.Tensor, total_steps: int):
        self.model = model
        device = next(model.parameters()).device
        self.x_all = to_float(images).to(device)  # (N, 1, 28, 28) in memory
        self.optimizer = make_optimizer(model, config.lr)
        self.scheduler = make_scheduler(self.optimizer, config.schedule, total_steps)
        self.steps = 0
        self.live = list(model.parameters())  # the weights as they train
        self.forward: Callable[..., dict[str, torch.Tensor]] = model.loss_terms  # DDP's, under torchrun
        self.noise = parse_noise(config.noise)
        self.noise_gen = torch.Generator(device=device).manual_seed(config.seed + 1)
        self.terms: dict[str, float] = {}

    def __call__(self, idx: torch.Tensor) -> float:
        batch = self.x_all[idx]  # (B, 1, 28, 28)
        terms = self.forward(corrupt(batch, self.noise, self.noise_gen), batch)
        loss = terms.pop("loss")
        self.terms = {k: v.item() for k, v in terms.items()} if len(terms) > 1 else {}
        self.optimizer.zero_grad(set_to_none=True)
        loss.backward()
        self.optimizer.step()
        if self.scheduler is not None:
            self.scheduler.step()
        self.steps += 1
        if self.steps % fastmlp.FLUSH_EVERY == 0:  # keep Adam's moments out of denormal floats
            moments = [t for state in self.optimizer.state.values() for k, t in state.items() if k != "step"]
            fastmlp.flush_tiny_(moments)
        return loss.item()

    def finish(self) -> None:
        """Nothing to do: the model's parameters are the optimizer's."""


class MLPFastStep:
    """The same step for the MLP on the CPU, without autograd (see ``fmae.training.fastmlp``)."""

    def __init__(
        self, config: TrainConfig, model: AutoEncoder, images: torch.Tensor, bs: int, total_steps: int
    ):
        self.step = fastmlp.MLPTrainStep(model, bs, config.lr)
        self.images = images.reshape(images.shape[0], -1)  # (N, 784) uint8
        self.base_lr, self.total, self.schedule = config.lr, total_steps, config.schedule
        self.live = [self.step.params]  # the weights as they train: one flat buffer, not the model's
        self.terms: dict[str, float] = {}  # BCE is the whole loss

    def __call__(self, idx: torch.Tensor) -> float:
        value = self.step.step(self.step.load_batch(self.images, idx))
        if self.schedule != "constant":  # the schedule's closed form (cosine: CosineAnnealingLR's)
            self.step.lr = self.base_lr * lr_factor(self.schedule, self.step.steps, self.total)
        return value

    def finish(self) -> None:
        self.step.write_back()


def make_step(
    config: TrainConfig, model: AutoEncoder, images: torch.Tensor, device: torch.device, bs: int, total: int
) -> AutogradStep | MLPFastStep:
    if fastmlp.supports(model, device) and not parse_noise(config.noise).active:
        step = MLPFastStep(config, model, images, distributed.local_batch(bs), total)
    else:
        step = AutogradStep(config, model, images, total)
    ctx = distributed.context()
    return step if ctx is None else distributed.ShardedStep(step, ctx, bs)
