"""Does fmae on a CUDA device compute what it computes on the CPU, and how fast? (run it on a GPU machine)

    python benchmarks/gpu_check.py [--device cuda] [--steps 200]

Without a CUDA device it says so and exits 0 (``--device cpu`` runs every comparison CPU against CPU,
to check the script itself). On a GPU, TF32 is turned off so both sides compute in float32, then:

1. training: the MLP and the conv model, ``--steps`` steps of batch 64 on the same Fashion-MNIST batches
   through ``fmae.training.train`` on each device; the step losses and final weights must agree within
   ``TRAIN_TOL`` (float rounding differs, and grows over steps, as with thread counts);
2. inference: the shipped checkpoints' codes (``fmae.latent.encode``), reconstructions (``decode``), the
   one-image ``analyze`` and test BCE/MSE on the 10,000 test images, within ``INFER_TOL``;
3. checkpoints: a model trained on the GPU saves CPU tensors and loads on the CPU to the same numbers;
4. speed: ms per training step, and images per second encoded + decoded, on each device; with bf16
   autocast where the GPU supports it (speed only: bf16 is not compared for equality).

Prints one line per check and exits 1 if any comparison failed.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # run as a plain script from anywhere

import numpy as np  # noqa: E402
import torch  # noqa: E402

from fmae.data import load_dataset  # noqa: E402
from fmae.latent import decode, encode  # noqa: E402
from fmae.models import analyze, load_checkpoint, save_checkpoint  # noqa: E402
from fmae.training import DoneEvent, TrainConfig, image_losses, train  # noqa: E402

TRAIN_TOL = 2e-3  # max |weight difference| after the training steps; losses within the same
INFER_TOL = 1e-4  # max |difference| of codes, pixels and losses
SHIPPED = ["fashion-mlp", "fashion-conv", "mnist-conv"]
failures: list[str] = []


def check(name: str, value: float, tol: float) -> None:
    ok = value <= tol
    print(f"{'ok  ' if ok else 'FAIL'} {name}: max |difference| {value:.2e} (tolerance {tol:g})", flush=True)
    if not ok:
        failures.append(name)


def run(config: TrainConfig, train_ds, test_ds) -> tuple[DoneEvent, float]:
    done = None
    start = time.perf_counter()
    for event in train(config, train_ds, test_ds):
        done = event if isinstance(event, DoneEvent) else done
    if config.device.startswith("cuda"):
        torch.cuda.synchronize()
    assert done is not None and not done.diverged
    return done, (time.perf_counter() - start) / len(done.history["step_loss"]) * 1000


def check_training(device: str, steps: int) -> None:
    train_ds, test_ds = load_dataset("fashion", "train"), load_dataset("fashion", "test").head(500)
    for model in ("mlp", "conv"):
        cfg = {"model": model, "epochs": 1, "batch_size": 64, "train_limit": 64 * steps, "log_every": 10**6}
        cpu, cpu_ms = run(TrainConfig(**cfg, device="cpu"), train_ds, test_ds)
        run(TrainConfig(**cfg, device=device), train_ds, test_ds)  # warm-up (kernels, allocator)
        dev, dev_ms = run(TrainConfig(**cfg, device=device), train_ds, test_ds)
        a, b = cpu.model.state_dict(), dev.model.state_dict()
        check(
            f"train {model}: weights after {steps} steps",
            max((a[k] - b[k].cpu()).abs().max().item() for k in a),
            TRAIN_TOL,
        )
        losses = np.abs(np.subtract(cpu.history["step_loss"], dev.history["step_loss"])).max()
        check(f"train {model}: step losses", float(losses), TRAIN_TOL)
        print(f"     train {model}: {cpu_ms:.2f} ms/step on the CPU, {dev_ms:.2f} ms/step on {device}")
        with tempfile.TemporaryDirectory() as tmp:
            folder = save_checkpoint(dev.model, Path(tmp) / "ck", {"dataset": "fashion"})
            loaded = load_checkpoint(folder).model
            assert all(p.device.type == "cpu" for p in loaded.parameters())
            back = loaded.state_dict()
            check(
                f"checkpoint {model}: trained on {device}, loaded on the CPU",
                max((b[k].cpu() - back[k]).abs().max().item() for k in b),
                0.0,
            )


def images_per_s(model, images: torch.Tensor, device: str, autocast: bool = False) -> float:
    on = model.to(device)
    x = images.to(device).unsqueeze(1).float() / 255
    with torch.inference_mode(), torch.autocast(device.split(":")[0], torch.bfloat16, enabled=autocast):
        on(x[:1000])  # warm-up
        if device.startswith("cuda"):
            torch.cuda.synchronize()
        start = time.perf_counter()
        for i in range(0, len(x), 1000):
            on(x[i : i + 1000])
        if device.startswith("cuda"):
            torch.cuda.synchronize()
    return len(x) / (time.perf_counter() - start)


def check_inference(device: str) -> None:
    for name in SHIPPED:
        folder = ROOT / "checkpoints" / name
        if not (folder / "model.safetensors").is_file():
            print(f"skip {name}: not in checkpoints/")
            continue
        ckpt = load_checkpoint(folder)
        images = load_dataset(ckpt.dataset, "test").images
        cpu_model = ckpt.model.eval()
        dev_model = load_checkpoint(folder).model.eval().to(device)
        codes_cpu, codes_dev = encode(cpu_model, images), encode(dev_model, images)
        check(
            f"{name}: codes of {len(images)} test images",
            float(np.abs(codes_cpu - codes_dev).max()),
            INFER_TOL,
        )
        pixels = np.abs(decode(cpu_model, codes_cpu[:1000]) - decode(dev_model, codes_cpu[:1000])).max()
        check(f"{name}: decoded images", float(pixels), INFER_TOL)
        x = images[0].numpy().astype(np.float32) / 255
        one_cpu, one_dev = analyze(cpu_model, x), analyze(dev_model, x)
        check(
            f"{name}: analyze() of one image",
            float(np.abs(one_cpu.recon - one_dev.recon).max()),
            INFER_TOL,
        )
        losses = np.subtract(image_losses(cpu_model, images), image_losses(dev_model, images))
        check(f"{name}: test BCE and MSE", float(np.abs(losses).max()), INFER_TOL)
        cpu_rate = images_per_s(cpu_model, images, "cpu")
        line = f"     {name}: encode+decode {cpu_rate:,.0f} images/s on the CPU, "
        line += f"{images_per_s(dev_model, images, device):,.0f} on {device}"
        if device.startswith("cuda") and torch.cuda.is_bf16_supported():
            line += f", {images_per_s(dev_model, images, device, autocast=True):,.0f} with bf16 autocast"
        print(line, flush=True)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", default="cuda", help="cuda (default), cuda:N, or cpu to test this script")
    parser.add_argument("--steps", type=int, default=200)
    args = parser.parse_args()
    if args.device.startswith("cuda"):
        if not torch.cuda.is_available():
            print("no CUDA device: nothing to compare (the CPU-only tests cover the same code)")
            return 0
        torch.backends.cuda.matmul.allow_tf32 = False  # float32 on both sides
        torch.backends.cudnn.allow_tf32 = False
        print(f"device: {torch.cuda.get_device_name(args.device)}, torch {torch.__version__}")
    check_training(args.device, args.steps)
    check_inference(args.device)
    print("all checks passed" if not failures else f"{len(failures)} check(s) failed: {', '.join(failures)}")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
