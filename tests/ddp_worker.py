"""One rank of the small data-parallel runs of tests/test_distributed.py.

    torchrun --standalone --nproc-per-node=N tests/ddp_worker.py OUT_DIR [RUN ...]

Trains each named run of ``RUNS`` through ``fmae.training.train`` (joined to torchrun's process group by
``init_from_env``) and writes ``OUT_DIR/{run}_rank{R}.pt``: the final weights, the losses seen and the
events this rank received. Without torchrun it trains the same runs in one process (rank 0).
"""

from __future__ import annotations

import sys
from pathlib import Path

import torch

from fmae.data import load_dataset
from fmae.training import DoneEvent, TrainConfig, distributed, train

#: small runs on real Fashion-MNIST; batch sizes that 2 processes split unevenly (23 + 22, 17 + 16)
RUNS = {
    "mlp": TrainConfig(model="mlp", epochs=2, batch_size=45, train_limit=900, log_every=5),
    "conv": TrainConfig(
        model="conv", epochs=1, batch_size=33, train_limit=198, channels=8, hidden_dim=32, log_every=2
    ),
}
TEST_IMAGES = 300  # rank 0's epoch-end test pass on a small part of the test set


def run(names: list[str]) -> dict[str, dict]:
    """Train each named run here (one rank, or the only process); its weights, losses and event kinds."""
    train_ds, test_ds = load_dataset("fashion", "train"), load_dataset("fashion", "test").head(TEST_IMAGES)
    results = {}
    for name in names:
        kinds, done = [], None
        for event in train(RUNS[name], train_ds, test_ds):
            kinds.append(type(event).__name__)
            done = event if isinstance(event, DoneEvent) else done
        assert done is not None and not done.diverged, done
        state, losses = done.model.state_dict(), done.history["step_loss"]
        results[name] = {"state": state, "losses": losses, "events": kinds}
    return results


def main(out: Path, names: list[str]) -> None:
    torch.set_num_threads(1)
    ctx = distributed.init_from_env("cpu")
    rank = ctx.rank if ctx is not None else 0
    for name, result in run(names).items():
        torch.save(result, out / f"{name}_rank{rank}.pt")
    distributed.shutdown()


if __name__ == "__main__":
    main(Path(sys.argv[1]), sys.argv[2:] or list(RUNS))
