"""t-SNE of 5,000 latent codes: the tutorial's ``TSNE(2).fit_transform`` vs fmae's, same run.

    .venv/bin/python benchmarks/embed_speed.py [--n 5000] [--repeats 1] [--others] [--threads T]

Codes come from a shipped checkpoint (checkpoints/fashion-conv, else checkpoints/fashion-mlp);
without one, a 784-128-128-10 MLP autoencoder is trained for 2 epochs here first. The N test
points are fmae's seeded, class-balanced subsample. The baseline is sklearn's defaults
(perplexity 30, 1000 iterations of which 250 early exaggeration, learning rate "auto",
Barnes-Hut angle 0.5) with random_state=0 so reruns agree; fmae's t-SNE runs 350 iterations
(100 exaggerated), learning rate N/12 and angle 0.7. Both are scored with
sklearn.manifold.trustworthiness (k=10). Target: ratio >= 2 at trustworthiness within 0.01.
With --repeats R the two alternate R times and medians are reported (the machine is shared).
With --threads 1 both run on one OpenMP thread (fmae itself uses one thread up to N=2500).
With --others, PCA, Kernel PCA, Isomap, LLE (and UMAP if installed) are timed at the same N.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # run as a plain script from anywhere

import torch  # noqa: E402
from sklearn.manifold import TSNE, trustworthiness  # noqa: E402
from threadpoolctl import threadpool_info, threadpool_limits  # noqa: E402

from fmae.data import load_dataset  # noqa: E402
from fmae.latent import (  # noqa: E402
    METHODS,
    encode,
    knn_accuracy,
    project,
    subsample,
)
from fmae.models import (  # noqa: E402
    AutoEncoder,
    MLPAutoEncoder,
    load_checkpoint,
)


def quick_model(epochs: int = 2, seed: int = 0) -> AutoEncoder:
    """Train the tutorial's MLP autoencoder for a couple of epochs with a plain loop."""
    torch.manual_seed(seed)
    x = load_dataset("fashion", "train").floats()  # (60000, 1, 28, 28)
    model = MLPAutoEncoder(hidden_dim=128, latent_dim=10)
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    for _ in range(epochs):
        for batch in torch.randperm(len(x)).split(64):
            loss = torch.nn.functional.binary_cross_entropy_with_logits(model.logits(x[batch]), x[batch])
            opt.zero_grad()
            loss.backward()
            opt.step()
    return model.eval()


def load_model() -> tuple[AutoEncoder, str]:
    for name in ("fashion-conv", "fashion-mlp"):
        folder = ROOT / "checkpoints" / name
        if (folder / "model.safetensors").is_file():
            return load_checkpoint(folder).model, f"checkpoints/{name}"
    return quick_model(), "an MLP trained here for 2 epochs"


def threadpool_info_openmp() -> list[int]:
    """Threads of each OpenMP pool loaded (sklearn's Barnes-Hut t-SNE runs on one of them)."""
    return [p["num_threads"] for p in threadpool_info() if p["user_api"] == "openmp"]


def timed(fn) -> tuple[np.ndarray, float, float]:
    """Run fn(); return its result, wall seconds and process CPU seconds (all threads)."""
    wall, cpu = time.perf_counter(), time.process_time()
    out = fn()
    return out, time.perf_counter() - wall, time.process_time() - cpu


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=5000)
    parser.add_argument("--repeats", type=int, default=1)
    parser.add_argument("--others", action="store_true", help="also time the other methods")
    parser.add_argument("--threads", type=int, default=None, help="OpenMP threads for both (default: all)")
    args = parser.parse_args()
    with threadpool_limits(limits=args.threads, user_api="openmp"):
        run(args)


def run(args: argparse.Namespace) -> None:

    model, source = load_model()
    test = load_dataset("fashion", "test")
    idx = subsample(test.labels.numpy(), args.n, seed=0)
    codes = encode(model, test.images[idx])  # (N, latent)
    labels = test.labels.numpy()[idx]
    threads = threadpool_info_openmp()
    print(f"codes: {codes.shape} from {source}; OpenMP threads {threads}")

    runs: dict[str, list[tuple[float, float, float, float]]] = {"baseline": [], "fmae": []}
    for r in range(args.repeats):
        for name in ("baseline", "fmae"):
            if name == "baseline":
                coords, wall, cpu = timed(lambda r=r: TSNE(2, random_state=r).fit_transform(codes))
            else:
                coords, wall, cpu = timed(lambda r=r: project(codes, "tsne", seed=r).coords)
            tw = trustworthiness(codes, coords, n_neighbors=10)
            acc = knn_accuracy(coords, labels)
            runs[name].append((wall, cpu, tw, acc))
            print(
                f"  run {r} {name:8s}: {wall:6.2f} s wall, {cpu:6.2f} s CPU, trust {tw:.4f}, kNN-2D {acc:.3f}"
            )

    med = {k: [statistics.median(col) for col in zip(*v, strict=True)] for k, v in runs.items()}
    (bw, bc, btw, bacc), (fw, fc, ftw, facc) = med["baseline"], med["fmae"]
    print(f"\nt-SNE of {args.n} codes (median of {args.repeats}):")
    print(
        f"  sklearn TSNE(2) defaults : {bw:6.2f} s wall ({bc:.2f} s CPU)  trust {btw:.4f}  kNN-2D {bacc:.3f}"
    )
    print(
        f"  fmae project('tsne')     : {fw:6.2f} s wall ({fc:.2f} s CPU)  trust {ftw:.4f}  kNN-2D {facc:.3f}"
    )
    print(f"  speed-up {bw / fw:.2f}x wall, {bc / fc:.2f}x CPU; trustworthiness difference {ftw - btw:+.4f}")
    print(
        f"  target >= 2x at |diff| <= 0.01: {'met' if bw / fw >= 2 and abs(ftw - btw) <= 0.01 else 'NOT met'}"
    )

    if args.others:
        print(f"\nother methods at N={args.n} (fit seconds as fmae.latent reports them):")
        for method in METHODS:
            if method == "tsne":
                continue
            p = project(codes, method, seed=0)
            tw = trustworthiness(codes, p.coords, n_neighbors=10)
            acc = knn_accuracy(p.coords, labels)
            print(f"  {method:7s}: {p.seconds:6.2f} s  trust {tw:.4f}  kNN-2D {acc:.3f}")
        if "umap" not in METHODS:
            print("  umap   : not installed (pip install umap-learn)")


if __name__ == "__main__":
    main()
