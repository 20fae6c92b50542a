"""Sketch -> reconstruction through the HTTP API, side by side with a trivial Gradio echo.

Starts ``python app.py`` (measuring cold start: process start to the first HTTP 200) and a
trivial Gradio app whose one endpoint takes the same Sketchpad payload and echoes its composite
back as a PNG. Then alternates sequential ``gradio_client`` calls to both over loopback and
prints p50/p95 of each and the ratio (target: app p50 within 1.3x of the echo's), plus the
model-side time per sketch measured in this process (preprocess + forward + figures; target
<= 30 ms).

    .venv/bin/python benchmarks/api_latency.py [--calls 60] [--model fashion-conv] [--cold-starts 2]
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # run from anywhere: app.py, ui/ and fmae/ live in the repository root
sys.path.insert(0, str(ROOT / "benchmarks"))
from appserver import free_port, start_server, stop_server  # noqa: E402

DEFAULT_THREADS = {"FMAE_TORCH_THREADS": None}  # both servers keep torch's own thread count
ECHO_APP = """
import os, gradio as gr
def echo(value):
    return value["composite"]
with gr.Blocks() as demo:
    pad = gr.Sketchpad(
        type="numpy", image_mode="RGBA", canvas_size=(280, 280), fixed_canvas=True, layers=False,
        format="png", brush=gr.Brush(default_size=18, colors=["#000000"], color_mode="fixed"),
    )
    out = gr.Image(format="png")
    pad.change(echo, pad, out, api_name="echo")
port = int(os.environ["GRADIO_SERVER_PORT"])
demo.queue().launch(server_name="127.0.0.1", server_port=port, ssr_mode=False)
"""


def sketch_png(path: Path) -> np.ndarray:
    """A 280x280 drawing (a T-shirt-ish outline, black on white) saved as PNG; returns its RGBA array."""
    img = Image.new("RGBA", (280, 280), (255, 255, 255, 255))
    d = ImageDraw.Draw(img)
    d.polygon([(70, 50), (210, 50), (250, 110), (215, 125), (205, 240), (75, 240), (65, 125), (30, 110)],
              outline=(0, 0, 0, 255), width=18)  # fmt: skip
    img.save(path)
    return np.asarray(img).copy()


def model_side_ms(value: dict, model: str, n: int = 200) -> float:
    """Median ms of the app's own work per sketch (preprocess, forward, figures), in process."""
    import torch

    torch.set_num_threads(1)
    from ui.reconstruct_tab import render
    from ui.state import AppState

    app = AppState()
    entry = app.shipped.get(model)
    from fmae.images import preprocess

    times = []
    for _ in range(n):
        t0 = time.perf_counter()
        render(preprocess(value, entry.checkpoint.dataset), entry)
        times.append(time.perf_counter() - t0)
    return 1e3 * float(np.median(times[10:]))


def pct(values: list[float], q: float) -> float:
    return 1e3 * float(np.percentile(values, q))


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--calls", type=int, default=60, help="calls per endpoint (after 5 warm-up calls)")
    parser.add_argument("--model", default="fashion-conv", help="shipped model to reconstruct with")
    parser.add_argument("--cold-starts", type=int, default=2, help="how many times to time `python app.py`")
    args = parser.parse_args()
    from gradio_client import Client, handle_file

    tmp = Path(tempfile.mkdtemp(prefix="fmae-bench-"))
    arr = sketch_png(tmp / "sketch.png")
    colds = []
    for _ in range(args.cold_starts):
        proc = start_server(free_port(), env=DEFAULT_THREADS)
        colds.append(proc.startup_s)
        stop_server(proc)
    app_port, echo_port = free_port(), free_port()
    app_proc = start_server(app_port, env=DEFAULT_THREADS)
    colds.append(app_proc.startup_s)
    (tmp / "echo.py").write_text(ECHO_APP)
    echo_proc = start_server(echo_port, env=DEFAULT_THREADS, cmd=[sys.executable, str(tmp / "echo.py")])
    try:
        # ssl_verify=False: otherwise every call loads the CA bundle (~50 ms, even for http://), the
        # same for both endpoints, which would pull the ratio towards 1 and flatter the app
        app_c, echo_c = (
            Client(f"http://127.0.0.1:{p}/", verbose=False, download_files=str(tmp / "dl"), ssl_verify=False)
            for p in (app_port, echo_port)
        )

        def payload() -> dict:
            png = handle_file(str(tmp / "sketch.png"))
            return {"background": png, "layers": [], "composite": handle_file(str(tmp / "sketch.png"))}

        lat: dict[str, list[float]] = {"app": [], "echo": []}
        for i in range(args.calls + 5):
            for name, call in (
                ("echo", lambda: echo_c.predict(payload(), api_name="/echo")),
                ("app", lambda: app_c.predict(payload(), args.model, api_name="/reconstruct_sketch")),
            ):
                t0 = time.perf_counter()
                out = call()
                if i >= 5:
                    lat[name].append(time.perf_counter() - t0)
            assert "Reconstruction MSE" in out[1], out
    finally:
        for p in (app_proc, echo_proc):
            stop_server(p)
    ms = model_side_ms({"composite": arr, "background": None, "layers": []}, args.model)
    ratio = np.median(lat["app"]) / np.median(lat["echo"])
    load = os.getloadavg()[0]
    print(f"cpus: {os.cpu_count()}, load average: {load:.2f}, calls per endpoint: {args.calls}")
    print(f"{'endpoint':<28} {'p50 ms':>8} {'p95 ms':>8}")
    print(f"{'echo (trivial Gradio)':<28} {pct(lat['echo'], 50):8.1f} {pct(lat['echo'], 95):8.1f}")
    print(f"{'app /reconstruct_sketch':<28} {pct(lat['app'], 50):8.1f} {pct(lat['app'], 95):8.1f}")
    print(f"p50 ratio app/echo: {ratio:.2f}x (target <= 1.3x)")
    print(f"model-side work per sketch ({args.model}): {ms:.2f} ms (target <= 30 ms)")
    cold = f"min {min(colds):.2f} s of " + ", ".join(f"{c:.2f}" for c in colds)
    print(f"cold start (python app.py to first HTTP 200): {cold} (target <= 10 s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
