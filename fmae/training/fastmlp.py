"""A hand-written training step for ``MLPAutoEncoder`` on the CPU: forward, backward and Adam
in about 40 tensor calls into preallocated buffers, with no autograd graph.

Why: at the tutorial's batch of 64 the MLP's matrix products take about a millisecond, and
autograd, module calls and the optimizer's Python around them cost as much again. The maths is
the same as ``loss.backward()`` + ``torch.optim.Adam`` on BCE-with-logits; tests compare
losses, gradients and Adam steps with theirs. Only summation order differs (biases are added
and their gradients summed inside the matrix products), which over hundreds of steps can move
a weight near a ReLU's kink, as any change of thread count does. What matters for speed:

- Every weight is stored "tall" (784 x 128, never 128 x 784) in one flat buffer: MKL's
  64x784x128 products were up to 2.5x slower with the other layout here, and one flat buffer
  makes Adam a single fused call. Each bias sits next to its weight, so a ones column on the
  activations folds "+ b" and the bias gradient into the products (no broadcast copies, no
  separate sums).
- Adam's moments of weights whose gradient is exactly zero (pixels that are blank in a whole
  batch, dead ReLUs) decay by 0.9 a step into denormal floats, which made each step 2-3x
  slower after the first epoch. Every ``FLUSH_EVERY`` steps moments below ``TINY`` are set to
  zero. A first moment that small moves its weight by at most lr * 1e-30 / eps = 1e-25 a step;
  a second moment that small belongs to a first moment below ~1e-14, which moves its weight by
  under 1e-9 a step: both below float32 resolution of weights of ordinary size.

The loss reported for each step reuses the sigmoid the gradient needs (see ``_bce``).
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable

import torch
import torch.nn.functional as F
from torch import nn

from fmae.models import AutoEncoder, MLPAutoEncoder

FLUSH_EVERY = 100
TINY = 1e-30  # 0.9**100 * TINY is still far above float32's smallest normal (1.2e-38)


def supports(model: AutoEncoder, device: torch.device) -> bool:
    """True when ``MLPTrainStep`` can train ``model`` (the MLP, float32, on the CPU)."""
    return (
        type(model) is MLPAutoEncoder
        and device.type == "cpu"
        and all(p.dtype == torch.float32 for p in model.parameters())
    )


def flush_tiny_(tensors: list[torch.Tensor]) -> None:
    """Zero entries below ``TINY`` in magnitude, in place (see the module docstring)."""
    for t in tensors:
        t.masked_fill_(t.abs() < TINY, 0.0)


class MLPTrainStep:
    """One Adam step of BCE-with-logits on a flat batch (B, 784), for a fixed batch size.

    ``step(x)`` returns the batch's mean BCE (computed before the update, as
    ``loss.backward()`` would). The model's own parameters are not touched until
    ``write_back()``; call it before using the model.
    """

    def __init__(self, model: MLPAutoEncoder, batch_size: int, lr: float, betas=(0.9, 0.999), eps=1e-8):
        self.model = model
        self.linears = [m for m in [*model.encoder, *model.decoder] if isinstance(m, nn.Linear)]
        # ReLU follows every Linear except the bottleneck (3rd) and the output (6th)
        self.relu = self._relu_after_each_linear()
        total = sum(lin.weight.numel() + lin.bias.numel() for lin in self.linears)
        self.params = torch.zeros(total)
        self.flat = torch.zeros(total + 1)  # the gradients, then (data-parallel only) the step's loss
        self.grads = self.flat[:total]
        self.reduce: Callable[[torch.Tensor], torch.Tensor] | None = None  # see data_parallel
        self.exp_avg, self.exp_avg_sq = torch.zeros(total), torch.zeros(total)
        self.state_step = torch.zeros((), dtype=torch.float32)
        self.one = torch.ones(())  # "+= 1" would wrap the 1 in a new tensor every step
        self.lr, self.betas, self.eps = lr, betas, eps
        self.steps = 0
        # Each layer is one block of the flat buffer holding W and b together, stored tall:
        # (in + 1, out) = [W^T; b] when in >= out, else (out, in + 1) = [W | b]. Then
        # [a | 1] @ block gives a @ W^T + b, and [a | 1]^T @ g gives both gradients, in one
        # product each (layer 0's input has no ones column; it adds b and sums g itself).
        self.aug: list[torch.Tensor] = []  # (in + 1, out) operands of  [a | 1] @ .
        self.fwd: list[torch.Tensor] = []  # (in, out) views: W^T
        self.bwd: list[torch.Tensor] = []  # (out, in) views: W, for dA = g @ W
        self.bias: list[torch.Tensor] = []
        self.grad_aug: list[tuple[torch.Tensor, bool]] = []  # gradient blocks and "stored (in + 1, out)"
        self.grad_b: list[torch.Tensor] = []
        offset = 0
        for lin in self.linears:
            n_in, n_out = lin.in_features, lin.out_features
            tall_in = n_in >= n_out
            shape = (n_in + 1, n_out) if tall_in else (n_out, n_in + 1)
            block = self.params[offset : offset + (n_in + 1) * n_out].view(shape)
            grad = self.grads[offset : offset + (n_in + 1) * n_out].view(shape)
            offset += (n_in + 1) * n_out
            if tall_in:
                self.aug.append(block)
                self.fwd.append(block[:n_in])
                self.bias.append(block[n_in])
                self.grad_b.append(grad[n_in])
            else:
                self.aug.append(block.t())
                self.fwd.append(block[:, :n_in].t())
                self.bias.append(block[:, n_in])
                self.grad_b.append(grad[:, n_in])
            self.bwd.append(self.fwd[-1].t())
            self.grad_aug.append((grad, tall_in))
        # activations with a trailing ones column (the next layer's bias input); logits plain
        self.acts_aug = [torch.ones(batch_size, lin.out_features + 1) for lin in self.linears[:-1]]
        self.acts = [a[:, :-1] for a in self.acts_aug]  # views without the ones column
        self.acts.append(torch.empty(batch_size, self.linears[-1].out_features))
        self.d_in = [torch.empty(batch_size, lin.in_features) for lin in self.linears]
        self.d_out = torch.empty(batch_size, self.linears[-1].out_features)
        self.scale = 1.0 / (batch_size * self.linears[-1].out_features)  # the loss is a mean
        self.scratch = torch.empty_like(self.d_out)
        self.sums = torch.empty(3)  # sum z, sum log sigmoid(z), sum x*z
        self.weights = torch.tensor([1.0, -1.0, -1.0]) * self.scale
        self.batch_u8 = torch.empty(batch_size, self.linears[0].in_features, dtype=torch.uint8)
        self.batch = torch.empty(batch_size, self.linears[0].in_features)
        self.read_model()
        self._plan()

    def data_parallel(self, global_batch: int, reduce: Callable[[torch.Tensor], torch.Tensor]) -> None:
        """Train one rank's share of a global batch of ``global_batch`` rows (``fmae.training.distributed``).

        The loss is divided by the global batch, so each rank's gradients are its share of the global
        mean's; ``reduce`` sums ``self.flat`` (every gradient, then the loss) over the ranks in place,
        once a step, before Adam: every rank then takes the same step on the same numbers.
        """
        self.scale = 1.0 / (global_batch * self.linears[-1].out_features)
        self.weights = torch.tensor([1.0, -1.0, -1.0]) * self.scale
        self.reduce = reduce
        self._plan()

    def _relu_after_each_linear(self) -> list[bool]:
        layers = [*self.model.encoder, *self.model.decoder, None]
        return [isinstance(nxt, nn.ReLU) for m, nxt in itertools.pairwise(layers) if isinstance(m, nn.Linear)]

    @torch.no_grad()
    def read_model(self) -> None:
        """Copy the model's weights into the flat buffer."""
        for lin, w, b in zip(self.linears, self.fwd, self.bias, strict=True):
            w.copy_(lin.weight.t())
            b.copy_(lin.bias)

    @torch.no_grad()
    def write_back(self) -> None:
        """Copy the trained weights into the model."""
        for lin, w, b in zip(self.linears, self.fwd, self.bias, strict=True):
            lin.weight.copy_(w.t())
            lin.bias.copy_(b)

    def parameter_grads(self) -> list[torch.Tensor]:
        """Copies of the last step's gradients, shaped like ``model.parameters()``."""
        out = []
        for k, (grad, tall_in) in enumerate(self.grad_aug):
            n_in = self.linears[k].in_features
            weight = grad[:n_in].t() if tall_in else grad[:, :n_in]  # (out, in) like nn.Linear
            out += [weight.clone(), self.grad_b[k].clone()]
        return out

    @torch.no_grad()
    def load_batch(self, images: torch.Tensor, idx: torch.Tensor) -> torch.Tensor:
        """Rows ``idx`` of uint8 ``images`` (N, 784) as floats in [0, 1], in this step's buffer.

        Gathering uint8 rows moves a quarter of the bytes of float rows; x / 255 is computed
        as ``fmae.data.to_float`` does, so the values are identical.
        """
        torch.index_select(images, 0, idx, out=self.batch_u8)
        return self.batch.copy_(self.batch_u8).div_(255.0)  # div(u8, out=) would allocate a float copy

    def _plan(self) -> None:
        """Fix every operand of every call once: the step then makes no views or lists."""
        n = len(self.linears)
        g_out = [*self.d_in[1:], self.d_out]  # dLoss/d(each layer's output)
        self.fwd_plan = [(self.acts_aug[k - 1], self.aug[k], self.acts[k], self.relu[k]) for k in range(1, n)]
        self.bwd_plan = []
        for k in range(n - 1, 0, -1):
            grad, tall_in = self.grad_aug[k]
            a, b = (self.acts_aug[k - 1].t(), g_out[k]) if tall_in else (g_out[k].t(), self.acts_aug[k - 1])
            relu = self.acts[k - 1] if self.relu[k - 1] else None
            alpha = self.scale if k == n - 1 else 1.0
            self.bwd_plan.append((a, b, grad, g_out[k], self.bwd[k], self.d_in[k], relu, alpha))
        grad0, tall0 = self.grad_aug[0]
        n_in = self.linears[0].in_features
        self.grad_w0 = grad0[:n_in] if tall0 else grad0[:, :n_in]
        self.first = (self.bias[0], self.fwd[0], self.acts[0], self.relu[0], g_out[0], tall0)

    @torch.no_grad()
    def step(self, x: torch.Tensor) -> float:
        """One training step on ``x`` (B, 784) in [0, 1]; returns the batch's mean BCE before it."""
        if x is not self.batch:
            x = self.batch.copy_(x)
        mm, thr = torch.mm, _threshold_backward
        bias0, w0, out0, relu0, g0, tall0 = self.first
        torch.addmm(bias0, x, w0, out=out0)  # (B, out) = x @ W^T + b
        if relu0:
            out0.relu_()
        for a, w, out, relu in self.fwd_plan:
            mm(a, w, out=out)  # (B, out) = [a | 1] @ [W^T; b]
            if relu:
                out.relu_()
        logits = self.acts[-1]  # (B, 784), kept until the next step
        p = torch.sigmoid(logits, out=self.d_out)  # reconstructions
        loss = self._bce(logits, p, x)
        p.sub_(x)  # dLoss/dlogits / scale, then back through each layer
        for a, b, grad, g, w, d, relu, alpha in self.bwd_plan:
            if alpha == 1.0:
                mm(a, b, out=grad)  # both gradients of the layer
                mm(g, w, out=d)  # dLoss/d(its input)
            else:  # the output layer: the loss's 1 / (B * 784) goes in here (beta=0: out's old values unused)
                torch.addmm(grad, a, b, beta=0.0, alpha=alpha, out=grad)
                torch.addmm(d, g, w, beta=0.0, alpha=alpha, out=d)
            if relu is not None:
                thr(d, relu, 0.0, grad_input=d)
        if tall0:
            mm(x.t(), g0, out=self.grad_w0)
        else:
            mm(g0.t(), x, out=self.grad_w0)
        torch.sum(g0, 0, out=self.grad_b[0])
        if self.reduce is not None:  # data-parallel: one all-reduce of gradients and loss together
            self.flat[-1].copy_(loss)
            loss = self.reduce(self.flat)[-1]
        self._adam()
        value = loss.item()
        # a logit below -103.9: p underflowed to 0 (see _bce); data-parallel ranks keep the summed value,
        # the same on every rank, so that they all agree the step's loss was not finite
        if not math.isfinite(value) and self.reduce is None:
            value = F.binary_cross_entropy_with_logits(logits, x).item()
        return value

    def _bce(self, z: torch.Tensor, p: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
        """Mean BCE-with-logits of logits ``z``, given ``p = sigmoid(z)`` already computed.

        Per pixel softplus(z) - x*z = z - log(p) - x*z, so three sums give it without another
        pass of exp/log1p. log(p) is exact while p is a normal float (z > -87); below that p
        loses bits and the mean moves by under 1e-5; below z = -103.9 p is 0 and the result is
        inf, which ``step`` replaces by the exact formula.
        """
        sums = self.sums
        torch.sum(z, dim=None, out=sums[0])
        torch.sum(torch.log(p, out=self.scratch), dim=None, out=sums[1])
        torch.dot(x.view(-1), z.view(-1), out=sums[2])
        return torch.dot(sums, self.weights)

    def _adam(self) -> None:
        self.state_step.add_(self.one)
        torch._fused_adam_(  # the kernel torch.optim.Adam(fused=True) runs, minus its Python
            [self.params], [self.grads], [self.exp_avg], [self.exp_avg_sq], [], [self.state_step],
            lr=self.lr, beta1=self.betas[0], beta2=self.betas[1], weight_decay=0.0, eps=self.eps,
            amsgrad=False, maximize=False,
        )  # fmt: skip
        self.steps += 1
        if self.steps % FLUSH_EVERY == 0:
            flush_tiny_([self.exp_avg, self.exp_avg_sq])


_threshold_backward = torch.ops.aten.threshold_backward.grad_input  # ReLU's backward, in place
