"""fmae's MLP training step and epoch-end test pass: this tree against an older commit, A/B.

    python benchmarks/step_ab.py --against c9cf3f9 [--blocks 60] [--threads 0]
    python benchmarks/step_ab.py --variant /tmp/fastmlp_variant.py   (an edited copy, not committed)

Loads ``fmae/training/fastmlp.py`` (the step) and the file holding ``image_losses`` (the test-set
pass: ``fmae/training/metrics.py`` now, ``fmae/metrics.py`` or ``fmae/train.py`` before) as they were
at ``--against``, next to this tree's. The steps take turns in blocks of 50 on the same
Fashion-MNIST batches, so a drifting machine slows both alike; the test passes alternate too.
Prints medians and the ratio.
With ``--variant FILE`` the other side is the ``MLPTrainStep`` of a file (an edited copy of
``fmae/training/fastmlp.py``) and both test passes are this tree's.
"""

from __future__ import annotations

import argparse
import importlib.util
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # run as a plain script from anywhere

import torch  # noqa: E402

from fmae.data import load_dataset  # noqa: E402
from fmae.models import MLPAutoEncoder  # noqa: E402
from fmae.training import fastmlp, metrics  # noqa: E402

# Files of revisions before the subpackages (8b6ed2a) import their siblings as fmae.fastmlp and
# fmae.metrics: point those names at today's modules so --against an old revision still loads.
sys.modules.setdefault("fmae.fastmlp", fastmlp)
sys.modules.setdefault("fmae.metrics", metrics)

BLOCK = 50  # steps per turn


#: where the step and the test pass lived over time, newest first
STEP_FILES = ("fmae/training/fastmlp.py", "fmae/fastmlp.py")
LOSS_FILES = ("fmae/training/metrics.py", "fmae/metrics.py", "fmae/train.py")


def module_at(rev: str, path: str, name: str, folder: Path):
    """``path`` as it was at commit ``rev``, imported as module ``name``."""
    git = ["git", "show", f"{rev}:{path}"]
    file = folder / f"{name}.py"
    file.write_text(subprocess.run(git, cwd=ROOT, capture_output=True, text=True, check=True).stdout)
    return module_from(file, name)


def module_from(file: Path, name: str):
    """The Python file ``file`` imported as module ``name``."""
    spec = importlib.util.spec_from_file_location(name, file)
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module  # dataclasses look their module up while it executes
    spec.loader.exec_module(module)
    return module


def first_module_at(rev: str, paths: tuple[str, ...], attr: str, folder: Path):
    """``attr`` of the first of ``paths`` that exists at ``rev`` and defines it (files moved over time)."""
    for path in paths:
        try:
            return getattr(module_at(rev, path, "old_" + Path(path).stem, folder), attr)
        except (subprocess.CalledProcessError, AttributeError):
            continue
    raise SystemExit(f"no {attr} at {rev} in {', '.join(paths)}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    other = parser.add_mutually_exclusive_group(required=True)
    other.add_argument("--against", help="the commit to compare with (e.g. c9cf3f9)")
    other.add_argument(
        "--variant", type=Path, help="an edited copy of fmae/training/fastmlp.py to compare with"
    )
    parser.add_argument("--blocks", type=int, default=60, help=f"turns of {BLOCK} steps each, per side")
    parser.add_argument("--threads", type=int, default=0, help="torch threads (0: default)")
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    images = load_dataset("fashion", "train").images.reshape(-1, 28 * 28)
    test = load_dataset("fashion", "test").images
    with tempfile.TemporaryDirectory() as tmp:
        if args.variant:
            label, old_losses = args.variant.name, metrics.image_losses
            old_step = module_from(args.variant, "variant_fastmlp").MLPTrainStep
        else:
            label = args.against
            old_losses = first_module_at(args.against, LOSS_FILES, "image_losses", Path(tmp))
            old_step = first_module_at(args.against, STEP_FILES, "MLPTrainStep", Path(tmp))
        steps = {}
        for name, cls in ((label, old_step), ("this tree", fastmlp.MLPTrainStep)):
            torch.manual_seed(0)
            steps[name] = cls(MLPAutoEncoder(hidden_dim=128), 64, 1e-3)
        perm = torch.randperm(images.shape[0], generator=torch.Generator().manual_seed(0))
        per_block = images.shape[0] // (BLOCK * 64)
        ms: dict[str, list[float]] = {name: [] for name in steps}
        for b in range(args.blocks + 2):
            base = (b % per_block) * BLOCK * 64
            for name, st in steps.items():
                start = time.perf_counter()
                for i in range(BLOCK):
                    st.step(st.load_batch(images, perm[base + i * 64 : base + (i + 1) * 64]))
                if b >= 2:  # the first two turns warm up
                    ms[name].append((time.perf_counter() - start) / BLOCK * 1e3)
        model = steps["this tree"].model
        steps["this tree"].write_back()
        evals: dict[str, list[float]] = {label: [], "this tree": []}
        for _ in range(10):
            for name, fn in ((label, old_losses), ("this tree", metrics.image_losses)):
                start = time.perf_counter()
                fn(model, test)
                evals[name].append((time.perf_counter() - start) * 1e3)
    print(f"torch threads {torch.get_num_threads()}, {args.blocks} turns of {BLOCK} steps each")
    for what, data, unit in (("training step", ms, "ms/step"), ("test-set pass", evals, "ms")):
        old, new = statistics.median(data[label]), statistics.median(data["this tree"])
        print(f"{what:14s}: {label} {old:7.2f} {unit}   this tree {new:7.2f} {unit}   ratio {old / new:.3f}x")


if __name__ == "__main__":
    main()
