"""Data-parallel training under ``torchrun``: one process per CPU slot or GPU, on one or many machines.

``init_from_env()`` joins the process group that torchrun's environment describes (``WORLD_SIZE``,
``RANK``, ``LOCAL_RANK``, ``MASTER_ADDR``/``MASTER_PORT``): gloo on the CPU, NCCL on CUDA, with a
timeout (``FMAE_DIST_TIMEOUT_S``, default ``DEFAULT_TIMEOUT_S``) so a rank whose peer died or hung
raises instead of waiting for ever. Without torchrun it does nothing and training is unchanged.

Every rank draws the same seeded permutation; each global batch of ``batch_size`` images is split
into contiguous shares (``share_bounds``: sizes differ by at most one), so the global batch is the
user's batch and N processes compute the model one process computes, up to float rounding. Each
rank's loss is scaled so that the summed gradients are those of the mean over the global batch:

- the MLP's autograd-free step keeps every gradient (and here the step's loss) in one flat buffer,
  summed across ranks with one ``all_reduce`` a step;
- autograd models train through ``DistributedDataParallel`` with a hook that weights each rank's
  gradients by its share of the batch before the sum.

Only rank 0 yields progress events, evaluates and writes; the others run silently and wait. Every
rank must take the same decisions at the same step, so ``train(should_stop=...)`` is for single-process
runs (a stop polled on one rank only would leave the others waiting until the timeout).
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any, TypeVar

import torch
import torch.distributed as dist
from torch import nn

#: seconds a rank waits for its peers in one collective (all-reduce, broadcast, barrier) before it
#: gives up with an error: bounds the hang when a worker dies or stops. It must cover rank 0's
#: epoch-end test pass, while the others wait for its verdict.
DEFAULT_TIMEOUT_S = 300.0
T = TypeVar("T")


@dataclass(frozen=True)
class DistContext:
    """Where this process stands in a data-parallel job."""

    rank: int
    world_size: int
    local_rank: int
    device: torch.device
    backend: str
    timeout_s: float

    @property
    def is_main(self) -> bool:
        return self.rank == 0


_CONTEXT: DistContext | None = None


def launched_by_torchrun() -> bool:
    """True when torchrun's environment asks for more than one process."""
    return int(os.environ.get("WORLD_SIZE", "1")) > 1


def timeout_s() -> float:
    """The process-group timeout in seconds (``FMAE_DIST_TIMEOUT_S`` or ``DEFAULT_TIMEOUT_S``)."""
    value = float(os.environ.get("FMAE_DIST_TIMEOUT_S", DEFAULT_TIMEOUT_S))
    if not value > 0:
        raise ValueError(f"FMAE_DIST_TIMEOUT_S must be a positive number of seconds, not {value}")
    return value


def init_from_env(device: str = "auto") -> DistContext | None:
    """Join torchrun's process group (once); None when not launched with more than one process.

    ``device`` "auto" uses this node's GPU number ``LOCAL_RANK`` with NCCL when CUDA is available,
    else the CPU with gloo; "cpu" forces gloo on the CPU.
    """
    global _CONTEXT
    if _CONTEXT is not None or not launched_by_torchrun():
        return _CONTEXT
    local_rank = int(os.environ.get("LOCAL_RANK", "0"))
    use_cuda = device != "cpu" and torch.cuda.is_available()
    if device.startswith("cuda") and not use_cuda:
        raise ValueError("--device cuda was asked for but no CUDA device is available")
    if use_cuda:
        torch.cuda.set_device(local_rank % torch.cuda.device_count())
        where, backend = torch.device("cuda", torch.cuda.current_device()), "nccl"
    else:
        where, backend = torch.device("cpu"), "gloo"
    limit = timeout_s()
    dist.init_process_group(backend=backend, timeout=timedelta(seconds=limit))
    _CONTEXT = DistContext(dist.get_rank(), dist.get_world_size(), local_rank, where, backend, limit)
    return _CONTEXT


def context() -> DistContext | None:
    """The current data-parallel context, or None in an ordinary single-process run."""
    return _CONTEXT


def is_main() -> bool:
    """True on rank 0 and in every single-process run: the process that reports and writes."""
    return _CONTEXT is None or _CONTEXT.is_main


def shutdown(wait: bool = True) -> None:
    """Wait for every rank (``wait``), then leave the process group. Safe to call when not joined."""
    global _CONTEXT
    if _CONTEXT is None:
        return
    try:
        if wait:
            dist.barrier()
    finally:
        dist.destroy_process_group()
        _CONTEXT = None


def share_bounds(batch: int, rank: int, world_size: int) -> tuple[int, int]:
    """Rank ``rank``'s contiguous share [start, stop) of a global batch of ``batch`` rows.

    Shares differ in size by at most one (the first ``batch % world_size`` ranks take one more);
    together they cover the batch once. A rank's share is empty when the batch is smaller than
    the world.
    """
    base, extra = divmod(batch, world_size)
    start = rank * base + min(rank, extra)
    return start, start + base + (1 if rank < extra else 0)


def on_main(fn: Callable[[], T]) -> T:
    """Run ``fn`` on rank 0 only and give its (picklable) result to every rank; the others wait."""
    if _CONTEXT is None:
        return fn()
    box: list[Any] = [fn() if _CONTEXT.is_main else None]
    dist.broadcast_object_list(box, src=0, device=_CONTEXT.device if _CONTEXT.backend == "nccl" else None)
    return box[0]


def sum_(tensor: torch.Tensor) -> torch.Tensor:
    """Sum ``tensor`` over all ranks, in place (every rank gets the same numbers)."""
    dist.all_reduce(tensor, op=dist.ReduceOp.SUM)
    return tensor


class _LossTerms(nn.Module):
    """``model.loss_terms`` as a module's forward, so ``DistributedDataParallel`` can wrap it."""

    def __init__(self, model: nn.Module):
        super().__init__()
        self.model = model

    def forward(self, x: torch.Tensor, target: torch.Tensor) -> dict[str, torch.Tensor]:
        return self.model.loss_terms(x, target)


def _weighted_sum_hook(weight, bucket):  # no annotations: DDP checks real ones, these would be strings
    """DDP communication hook: this rank's gradients times its share of the batch, summed over ranks
    (float, dist.GradBucket -> torch.futures.Future[torch.Tensor])."""
    buffer = bucket.buffer().mul_(weight)
    return dist.all_reduce(buffer, async_op=True).get_future().then(lambda fut: fut.value()[0])


class ShardedStep:
    """A trainer step (``fmae.training.steps``' ``MLPFastStep`` or ``AutogradStep``) run on this
    rank's share of each batch.

    Called with the global batch's indices, it steps on its share and returns the loss of the whole
    global batch (the same float on every rank). The MLP step must have been built for this rank's
    share size; see ``local_batch``.
    """

    def __init__(self, inner: Any, ctx: DistContext, batch: int):
        self.inner, self.ctx = inner, ctx
        self.start, self.stop = share_bounds(batch, ctx.rank, ctx.world_size)
        if self.stop == self.start:
            raise ValueError(f"batch size {batch} is smaller than the {ctx.world_size} processes")
        self.live, self.fused = inner.live, hasattr(inner, "step")
        self.loss = torch.zeros(1, device=ctx.device)
        if self.fused:  # fastmlp: scale the loss by the global batch; all-reduce grads + loss in one call
            inner.step.data_parallel(batch, sum_)
        else:
            ids = [ctx.device.index] if ctx.device.type == "cuda" else None
            ddp = nn.parallel.DistributedDataParallel(_LossTerms(inner.model), device_ids=ids)
            weight = (self.stop - self.start) / batch  # DDP's default would average: shares may differ
            ddp.register_comm_hook(weight, _weighted_sum_hook)
            inner.forward = ddp

    def __call__(self, idx: torch.Tensor) -> float:
        value = self.inner(idx[self.start : self.stop])
        if self.fused:
            return value
        self.loss.fill_(value * (self.stop - self.start) / (idx.shape[0]))
        return sum_(self.loss).item()

    @property
    def terms(self) -> dict[str, float]:
        """The loss's named terms (a VAE's BCE and KL) of this rank's share of the last batch: for
        logs only (the loss itself is the global batch's)."""
        return self.inner.terms

    def finish(self) -> None:
        self.inner.finish()


def local_batch(batch: int) -> int:
    """This rank's share of a global batch of ``batch`` (``batch`` itself outside torchrun)."""
    if _CONTEXT is None:
        return batch
    start, stop = share_bounds(batch, _CONTEXT.rank, _CONTEXT.world_size)
    return stop - start
