"""Command line: python -m fmae train|evaluate|push|pull ..."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from pathlib import Path

from fmae.errors import FmaeError


def _train(args: argparse.Namespace) -> int:
    """Train here, or under ``torchrun`` as one rank of a data-parallel job (see fmae.training.distributed):
    every rank trains its share of each batch; rank 0 alone reports, evaluates and saves, the others wait.
    A rank that loses its peers (one died, or stopped answering for FMAE_DIST_TIMEOUT_S) exits 3."""
    from fmae.training import distributed

    ctx = distributed.init_from_env(args.device)  # None without torchrun: nothing changes
    if ctx is None:
        return _train_here(args)
    try:
        status = _train_here(args)
    except RuntimeError as exc:  # gloo/NCCL: a peer closed the connection, or the timeout ran out
        what = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        print(
            f"error: rank {ctx.rank} of {ctx.world_size} lost contact with the other processes: a worker "
            f"died or stopped answering for {ctx.timeout_s:g} s (FMAE_DIST_TIMEOUT_S); job stopped. ({what})",
            file=sys.stderr,
        )
        return 3
    distributed.shutdown()  # the other ranks wait here while rank 0 evaluates and saves
    return status


def _train_here(args: argparse.Namespace) -> int:
    from tqdm import tqdm

    from fmae.data import load_dataset
    from fmae.models import save_checkpoint
    from fmae.training import (
        DoneEvent,
        EpochEvent,
        StepEvent,
        TrainConfig,
        distributed,
        evaluate,
        measure_result,
        result_info,
        result_notes,
        train,
    )

    config = TrainConfig(
        dataset=args.dataset, model=args.model, epochs=args.epochs, batch_size=args.batch_size, lr=args.lr,
        latent_dim=args.latent_dim, hidden_dim=args.hidden_dim, channels=args.channels, seed=args.seed,
        train_limit=args.train_limit, log_every=10, device=args.device, schedule=args.schedule,
        noise=args.noise, beta=args.beta,
    )  # fmt: skip
    if args.threads:
        import torch

        torch.set_num_threads(args.threads)  # on a shared, busy machine 1 thread can be faster
    train_ds = load_dataset(config.dataset, "train")
    test_ds = load_dataset(config.dataset, "test")
    bar = None
    done = None
    for event in train(config.validate(), train_ds, test_ds):
        if isinstance(event, StepEvent):
            if bar is None or event.step <= config.log_every:
                if bar is not None:
                    bar.close()
                bar = tqdm(total=event.steps, desc=f"epoch {event.epoch}/{event.epochs}", unit="step")
            bar.n = event.step
            bar.set_postfix(loss=f"{event.loss:.4f}", refresh=False)
            bar.refresh()
        elif isinstance(event, EpochEvent):
            tqdm.write(event.log_line())
        elif isinstance(event, DoneEvent):
            done = event
    if bar is not None:
        bar.close()
    assert done is not None
    if not distributed.is_main():  # rank 0 measures and saves
        return 1 if done.diverged else 0
    if done.diverged and not done.kept_step:  # nothing was learnt: no model to measure or save
        for head, text in result_notes(done, None):
            print(f"error: {head}. {text}", file=sys.stderr)
        return 1
    spread = measure_result(done.model, test_ds.images)["code_spread"]  # NonFiniteError: exit 2
    for head, text in result_notes(done, spread):
        print(f"warning: {head}. {text}", file=sys.stderr)
    metrics = evaluate(done.model, train_ds, test_ds)
    print(json.dumps(metrics, indent=2))
    if args.out:
        info = {
            "dataset": config.dataset,
            "dataset_source": train_ds.source,
            "train_size": len(train_ds) if not config.train_limit else min(config.train_limit, len(train_ds)),
            "test_size": len(test_ds),
            "seed": config.seed,
            "train_config": config.to_dict(),
            "metrics": metrics,
            "train_seconds": round(done.elapsed, 2),
            "history": {k: [round(v, 5) for v in vals] for k, vals in done.history.items()},
            **result_info(done, spread),
        }
        folder = save_checkpoint(done.model, args.out, info)
        from fmae.training import write_card_images

        write_card_images(folder, done.model, info, test_ds.images[:2000], test_ds.labels[:2000])
        print(f"saved {folder}")
    return 1 if done.diverged else 0  # the kept model is saved, but the run did not finish


def _threads(text: str) -> int:
    """argparse type of --threads: 0 (torch's default) or a positive count."""
    value = int(text)
    if value < 0:
        raise argparse.ArgumentTypeError("must be 0 (torch's default) or a positive number")
    return value


def _evaluate(args: argparse.Namespace) -> int:
    from fmae.data import load_dataset
    from fmae.models import load_checkpoint
    from fmae.training import evaluate

    ckpt = load_checkpoint(args.checkpoint)
    metrics = evaluate(ckpt.model, load_dataset(ckpt.dataset, "train"), load_dataset(ckpt.dataset, "test"))
    stored = ckpt.metrics
    print(f"{'metric':<10} {'measured':>10} {'stored':>10}")
    for key, value in metrics.items():
        ref = stored.get(key)
        shown = format(ref, ".5f") if isinstance(ref, int | float) else "-"  # not stored (e.g. app saves)
        print(f"{key:<10} {value:>10.5f} {shown:>10}")
    return 0


def _push(args: argparse.Namespace) -> int:
    from fmae.hub import push_checkpoint

    result = push_checkpoint(args.checkpoint, args.repo_id, private=args.private, message=args.message)
    print(f"pushed {args.checkpoint} to {result.repo_id}: {result.commit_url}")
    return 0


def _pull(args: argparse.Namespace) -> int:
    from fmae.hub import pull_checkpoint

    folder = pull_checkpoint(args.repo_id, revision=args.revision, out=args.out)
    print(f"pulled {args.repo_id} into {folder}")
    return 0


def build_parser() -> argparse.ArgumentParser:
    """The argument parser (exposed for tests and --help)."""
    from fmae.data import DATASETS
    from fmae.models import MODELS

    parser = argparse.ArgumentParser(prog="python -m fmae", description="Fashion-MNIST autoencoder studio.")
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser(
        "train",
        help="train an autoencoder and optionally save a checkpoint (exit 1: the loss or weights "
        "became NaN/inf; the last good model is saved)",
    )
    p.add_argument("--dataset", choices=sorted(DATASETS), default="fashion")
    p.add_argument("--model", choices=sorted(MODELS), default="mlp")
    p.add_argument("--epochs", type=int, default=5)
    p.add_argument("--batch-size", type=int, default=64)
    p.add_argument("--lr", type=float, default=1e-3, help="Adam learning rate")
    p.add_argument("--latent-dim", type=int, default=10)
    p.add_argument("--hidden-dim", type=int, default=128)
    p.add_argument("--channels", type=int, default=16, help="conv model only")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument(
        "--schedule",
        choices=["constant", "cosine", "onecycle"],
        default="constant",
        help="learning rate schedule (onecycle: warm-up then cosine, the conv recipe's)",
    )
    p.add_argument(
        "--noise",
        default="none",
        help="denoising run: corrupt the inputs (not the targets) with gaussian:SIGMA (added to [0, 1] "
        "pixels, clipped) or mask:FRACTION (that share of pixels set to 0)",
    )
    p.add_argument("--beta", type=float, default=1.0, help="VAE models only: the KL term's weight")
    p.add_argument("--threads", type=_threads, default=0, help="torch CPU threads (0: torch's default)")
    p.add_argument("--train-limit", type=int, default=None, help="use only the first N training images")
    p.add_argument("--device", default="auto", help="auto, cpu or cuda")
    p.add_argument("--out", type=Path, default=None, help="checkpoint folder to write")
    p.set_defaults(func=_train)

    p = sub.add_parser("evaluate", help="measure a checkpoint on its test set and compare with metrics.json")
    p.add_argument("checkpoint", type=Path)
    p.set_defaults(func=_evaluate)

    p = sub.add_parser("push", help="push a checkpoint folder to the Hugging Face Hub (token: HF_TOKEN)")
    p.add_argument("checkpoint", type=Path)
    p.add_argument("repo_id")
    p.add_argument("--private", action="store_true")
    p.add_argument("--message", default=None, help="commit message")
    p.set_defaults(func=_push)

    p = sub.add_parser("pull", help="download a checkpoint from the Hub (safetensors only) and check it")
    p.add_argument("repo_id")
    p.add_argument("--revision", default=None)
    p.add_argument("--out", type=Path, default=None)
    p.set_defaults(func=_pull)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point; returns the exit status. User errors print one clear line, exit 2. A training run
    whose loss or weights stop being finite exits 1 (its last good model is saved with --out)."""
    args = build_parser().parse_args(argv)
    try:
        return args.func(args)
    except (FmaeError, ValueError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
