"""Upload fidelity on phone photos of drawings: per defect kind, how close is the 28x28 model input
the app derives from the photo to the one it derives from the clean rendering of the same page?

    .venv/bin/python benchmarks/photo_fidelity.py [--n 50] [--before REV] [--corpus DIR]

The corpus (``benchmarks/photo_corpus.py``) renders ``--n`` test images per dataset (Fashion-MNIST
and MNIST, spread evenly over the test split) big on paper, then one photo per defect kind. For
each version of the code (``--before``: a git revision, unpacked with ``git archive``; "after":
this working tree) a separate process runs ``fmae.images.preprocess`` on every file exactly as
the Reconstruct tab does (a path and the checkpoint's dataset) and the Pearson correlation
between the photo's input and the clean rendering's input is taken (an error, e.g. "No ink",
counts as 0). Printed per kind and dataset: median and 10th percentile, before and after, and
how many photos failed. The row "clean~test" compares the clean rendering's input with the test
image itself. Times are per ``preprocess`` call on these 1024x768 files (decoding included).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tarfile
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
BEFORE = "a10cd8e"  # main before the photo pipeline (fmae/images as of issue 13)
DATASETS = ("fashion", "mnist")


def build_corpus(folder: Path, n: int, kinds: list[str]) -> None:
    """Write the photos that ``folder`` lacks (the corpus is seeded: rerunning adds, never changes)."""
    sys.path.insert(0, str(ROOT))
    sys.path.insert(0, str(ROOT / "benchmarks"))
    import photo_corpus as pc

    from fmae.data import load_dataset

    for name in DATASETS:
        images = load_dataset(name, "test").images.numpy()
        sub = folder / name
        sub.mkdir(parents=True, exist_ok=True)
        picked = pc.test_indices(name, n, len(images))
        np.save(sub / "images.npy", images[picked])
        np.save(sub / "indices.npy", picked)
        for i in picked:
            page = None
            for kind in ["clean", *kinds]:
                if list(sub.glob(f"{i:05d}-{kind}.*")):
                    continue
                page = pc.page_for(images[i], name, int(i)) if page is None else page
                data = pc.photo(page, name, int(i), kind)
                ext = "jpg" if data.startswith(b"\xff\xd8") else "png"
                (sub / f"{i:05d}-{kind}.{ext}").write_bytes(data)


def corr(a: np.ndarray, b: np.ndarray) -> float:
    if a is None or b is None or a.std() == 0 or b.std() == 0:
        return 0.0
    return float(np.corrcoef(a.ravel(), b.ravel())[0, 1])


def measure(code: Path, corpus: Path, kinds: list[str]) -> dict:
    """Run in a fresh process whose ``fmae`` is the one under ``code``."""
    sys.path.insert(0, str(code))
    from fmae.errors import InputImageError
    from fmae.images import preprocess

    out: dict = {"corr": {}, "failed": {}, "seconds": []}

    def run(path: Path, name: str) -> np.ndarray | None:
        t0 = time.perf_counter()
        try:
            return preprocess(str(path), name)
        except InputImageError:
            return None
        finally:
            out["seconds"].append(time.perf_counter() - t0)

    for name in DATASETS:
        sub = corpus / name
        images, indices = np.load(sub / "images.npy"), np.load(sub / "indices.npy")
        table = out["corr"][name] = {k: [] for k in ["clean~test", *kinds]}
        failed = out["failed"][name] = dict.fromkeys(table, 0)
        for img, i in zip(images, indices, strict=True):
            ref = run(next(sub.glob(f"{i:05d}-clean.*")), name)
            table["clean~test"].append(corr(ref, img.astype(np.float32) / 255))
            for kind in kinds:
                x = run(next(sub.glob(f"{i:05d}-{kind}.*")), name)
                failed[kind] += x is None
                table[kind].append(corr(x, ref))
    return out


def code_at(rev: str, tmp: Path) -> Path:
    """``fmae`` as of ``rev``, unpacked into ``tmp``."""
    archive = subprocess.run(["git", "archive", rev, "fmae"], cwd=ROOT, capture_output=True, check=True)
    with tempfile.TemporaryFile() as f:
        f.write(archive.stdout)
        f.seek(0)
        with tarfile.open(fileobj=f) as tar:
            tar.extractall(tmp, filter="data")
    return tmp


def run_worker(code: Path, corpus: Path, kinds: list[str]) -> dict:
    cmd = [
        sys.executable,
        __file__,
        "--worker",
        str(code),
        "--corpus",
        str(corpus),
        "--kinds",
        ",".join(kinds),
    ]
    env = os.environ | {"PYTHONPATH": str(code)}
    done = subprocess.run(cmd, capture_output=True, text=True, env=env, check=True)
    return json.loads(done.stdout.strip().splitlines()[-1])


def stats(values: list[float]) -> str:
    v = np.asarray(values)
    return f"{np.median(v):6.3f} {np.percentile(v, 10):6.3f}"


def report(before: dict, after: dict, kinds: list[str], rev: str) -> None:
    print(f"{'kind':16} {'dataset':8} | before ({rev}) median p10 | after median p10 | failed b/a")
    for kind in ["clean~test", *kinds]:
        for name in DATASETS:
            b, a = before["corr"][name][kind], after["corr"][name][kind]
            fb, fa = before["failed"][name][kind], after["failed"][name][kind]
            print(f"{kind:16} {name:8} |        {stats(b)}      |     {stats(a)}  | {fb:3d}/{fa:<3d}")
    for label, res in (("before", before), ("after", after)):
        s = np.asarray(res["seconds"]) * 1e3
        print(f"time per upload ({label}): median {np.median(s):.1f} ms, p90 {np.percentile(s, 90):.1f} ms")


def main() -> None:
    sys.path.insert(0, str(ROOT / "benchmarks"))
    import photo_corpus as pc

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--n", type=int, default=50, help="test images per dataset")
    parser.add_argument("--before", default=BEFORE, help="git revision to compare with")
    parser.add_argument("--corpus", type=Path, help="keep the corpus in this folder (default: a temp one)")
    parser.add_argument("--kinds", default=",".join(pc.DEFECTS))
    parser.add_argument("--worker", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    kinds = args.kinds.split(",")
    if args.worker:
        print(json.dumps(measure(args.worker, args.corpus, kinds)))
        return
    with tempfile.TemporaryDirectory() as tmp:
        corpus = args.corpus or Path(tmp) / "corpus"
        t0 = time.perf_counter()
        build_corpus(corpus, args.n, kinds)
        print(f"corpus: {args.n} images x {len(kinds)} kinds x 2 datasets ({time.perf_counter() - t0:.0f} s)")
        before = run_worker(code_at(args.before, Path(tmp) / "before"), corpus, kinds)
        after = run_worker(ROOT, corpus, kinds)
    report(before, after, kinds, args.before)


if __name__ == "__main__":
    main()
