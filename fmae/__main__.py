"""Command line: python -m fmae train|evaluate|reconstruct|embed|push|pull ..."""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from fmae.errors import CheckpointError, FmaeError

if TYPE_CHECKING:
    from fmae.session import ModelEntry


def _train(args: argparse.Namespace) -> int:
    """Train here, or as one rank of a ``torchrun`` job (fmae.training.distributed): each rank trains its
    share of each batch; rank 0 alone reports, evaluates and saves. A rank that loses its peers exits 3."""
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
        train_size = len(train_ds) if not config.train_limit else min(config.train_limit, len(train_ds))
        info = {"dataset": config.dataset, "dataset_source": train_ds.source, "train_size": train_size,
                "test_size": len(test_ds), "seed": config.seed, "train_config": config.to_dict(),
                "metrics": metrics, "train_seconds": round(done.elapsed, 2),
                "history": {k: [round(v, 5) for v in vals] for k, vals in done.history.items()},
                **result_info(done, spread)}  # fmt: skip
        folder = save_checkpoint(done.model, args.out, info)
        from fmae.training import write_card_images

        write_card_images(folder, done.model, info, test_ds.images[:2000], test_ds.labels[:2000])
        print(f"saved {folder}")
    return 1 if done.diverged else 0  # the kept model is saved, but the run did not finish


def _threads(text: str) -> int:
    """argparse type of --threads: 0 (torch's default) or a positive count."""
    if (value := int(text)) < 0:
        raise argparse.ArgumentTypeError("must be 0 (torch's default) or a positive number")
    return value


def _evaluate(args: argparse.Namespace) -> int:
    from fmae.data import load_dataset
    from fmae.models import load_checkpoint
    from fmae.training import evaluate

    ckpt = load_checkpoint(args.checkpoint)
    metrics = evaluate(ckpt.model, load_dataset(ckpt.dataset, "train"), load_dataset(ckpt.dataset, "test"))
    print(f"{'metric':<10} {'measured':>10} {'stored':>10}")
    for key, value in metrics.items():
        ref = ckpt.metrics.get(key)
        shown = format(ref, ".5f") if isinstance(ref, int | float) else "-"  # not stored (e.g. app saves)
        print(f"{key:<10} {value:>10.5f} {shown:>10}")
    return 0


def _model(text: str) -> ModelEntry:
    """A checkpoint folder or a shipped model's name (FMAE_CHECKPOINTS, else checkpoints/), loaded."""
    from fmae.session import ShippedModels

    folder, root = Path(text).resolve(), Path(__file__).resolve().parents[1] / "checkpoints"
    here = folder.is_dir()
    shipped = ShippedModels(folder.parent if here else os.environ.get("FMAE_CHECKPOINTS", root))
    if (name := folder.name if here else text) not in shipped.names():
        raise CheckpointError(f"{text!r} is no checkpoint folder, nor a shipped model: {shipped.names()}")
    return shipped.get(name)


def _reconstruct(args: argparse.Namespace) -> int:
    """One image file through the model, decoded and drawn as the Reconstruct tab does: numbers and figure."""
    from PIL import Image

    from fmae.images import explain_figure, preprocess
    from fmae.models import analyze

    entry = _model(args.model)
    a = analyze(entry.checkpoint.model, preprocess(args.image, entry.checkpoint.dataset), entry.assets)
    out = args.out or args.image.with_name(f"{args.image.stem}-reconstruction.png")
    Image.fromarray(explain_figure(a.input, a.recon, a.pca_recon, a.latent, scale=8)).save(out)  # the tab's
    rank = "" if a.percentile is None else f" ({a.percentile:.1f}% of the test images have a smaller one)"
    pca = "" if a.pca_mse is None else f"\nPCA with {a.latent.shape[0]} components: MSE {a.pca_mse:.5f}"
    text = f"reconstruction MSE {a.mse:.5f}{rank}{pca}\ncode: {' '.join(f'{v:.3f}' for v in a.latent)}"
    numbers = {"model": args.model, "dataset": entry.checkpoint.dataset, "mse": a.mse, "pca_mse": a.pca_mse,
               "percentile": a.percentile, "code": [round(float(v), 4) for v in a.latent]}  # fmt: skip
    print(json.dumps({**numbers, "figure": str(out)}) if args.json else f"{text}\nsaved {out}")
    return 0


def _embed(args: argparse.Namespace) -> int:
    """The tutorial's last figure: test-set codes mapped by each method side by side, by class."""
    import numpy as np

    from fmae.data import DATASETS, load_dataset
    from fmae.latent import LABELS, METHODS, MIN_POINTS, embedding_figure, encode, map_and_score, subsample

    methods = list(dict.fromkeys(m.strip() for m in args.methods.split(",") if m.strip()))
    if (unknown := [m for m in methods if m not in METHODS]) or not methods:
        raise FmaeError(f"unknown method(s) {unknown or args.methods!r}; choose from {','.join(METHODS)}")
    if not args.out.parent.is_dir():
        raise FmaeError(f"no folder {str(args.out.parent)!r} to write {args.out.name} into")
    ckpt = _model(args.checkpoint).checkpoint
    test = load_dataset(ckpt.dataset, "test")
    if not MIN_POINTS <= args.points <= len(test):
        raise FmaeError(f"--points must be between {MIN_POINTS} and {len(test)} (got {args.points})")
    labels = test.labels.numpy()
    rows = np.arange(args.points) if args.first else subsample(labels, args.points, args.seed)
    codes = encode(ckpt.model, test.images[rows])  # (points, latent)
    print(f"{len(rows)} {'first' if args.first else 'class-balanced'} test images, seed {args.seed}")
    maps = [map_and_score(codes, labels[rows], m, args.seed) for m in methods]
    for p, s in ((p, p.scores) for p in maps):
        print(f"{LABELS[p.method]}: fit {p.seconds:.2f} s, trustworthiness {s['trustworthiness']:.3f}, "
              f"kNN(5) 2-D {s['knn2d_acc']:.3f} (latent {s['knn_latent_acc']:.3f})")  # fmt: skip
    embedding_figure(maps, DATASETS[ckpt.dataset][1]).savefig(args.out, dpi=100)  # titles: method · seconds
    print(f"saved {args.out}")
    return 0


def _push(args: argparse.Namespace) -> int:
    from fmae.hub import push_checkpoint

    done = push_checkpoint(args.checkpoint, args.repo_id, private=args.private, message=args.message)
    print(f"pushed {args.checkpoint} to {done.repo_id}: {done.commit_url}")
    return 0


def _pull(args: argparse.Namespace) -> int:
    from fmae.hub import pull_checkpoint

    print(f"pulled {args.repo_id} into {pull_checkpoint(args.repo_id, revision=args.revision, out=args.out)}")
    return 0


def build_parser() -> argparse.ArgumentParser:
    """The argument parser (exposed for tests and --help)."""
    from fmae.data import DATASETS
    from fmae.latent import METHODS
    from fmae.models import MODELS

    parser = argparse.ArgumentParser(prog="python -m fmae", description="Fashion-MNIST autoencoder studio.")
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("train", help="train an autoencoder and optionally save a checkpoint (exit 1: the "
                       "loss or weights became NaN/inf; the last good model is saved)")  # fmt: skip
    p.add_argument("--dataset", choices=sorted(DATASETS), default="fashion")
    p.add_argument("--model", choices=sorted(MODELS), default="mlp")
    for flag, default in (("--epochs", 5), ("--batch-size", 64), ("--latent-dim", 10), ("--hidden-dim", 128)):
        p.add_argument(flag, type=int, default=default)
    p.add_argument("--lr", type=float, default=1e-3, help="Adam learning rate")
    p.add_argument("--channels", type=int, default=16, help="conv model only")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument(
        "--schedule",
        choices=["constant", "cosine", "onecycle"],
        default="constant",
        help="learning rate schedule (onecycle: warm-up, then cosine: the conv recipe)",
    )
    p.add_argument(
        "--noise",
        default="none",
        help="denoising: corrupt the inputs (not the targets) with "
        "gaussian:SIGMA (added, clipped to [0, 1]) or mask:FRACTION (that share of pixels set to 0)",
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

    p = sub.add_parser("reconstruct", help="encode and decode one image file: its error, its code, a figure")
    p.add_argument("image", type=Path)
    p.add_argument("--model", default="fashion-conv", help="checkpoint folder or shipped model name")
    p.add_argument("--out", type=Path, default=None, help="figure (default: IMAGE-reconstruction.png)")
    p.add_argument("--json", action="store_true", help="print the numbers as JSON")
    p.set_defaults(func=_reconstruct)

    p = sub.add_parser("embed", help="the test set's codes in 2-D by each method side by side (one figure)")
    p.add_argument("checkpoint", help="checkpoint folder or shipped model name")
    p.add_argument("--methods", default="pca,kpca,tsne", help="comma-separated, of: " + ",".join(METHODS))
    p.add_argument("--points", type=int, default=500, help="test images to map")
    p.add_argument("--first", action="store_true", help="the first N test images (default: class-balanced)")
    p.add_argument("--seed", type=int, default=0, help="picks the points; seeds the methods")
    p.add_argument("--out", type=Path, default=Path("embeddings.png"), help="figure file")
    p.set_defaults(func=_embed)

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
    except (FmaeError, ValueError, OSError) as exc:  # OSError: a figure that cannot be written
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
