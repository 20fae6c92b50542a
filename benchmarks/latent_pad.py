"""The latent pad's decoded frames per second while dragging, per shipped model, in headless Chromium.

    .venv/bin/python benchmarks/latent_pad.py [--seconds 3] [--url http://127.0.0.1:7860/] [--models a b]

Starts ``python app.py`` (benchmarks/appserver.py) unless ``--url`` names a running app, opens the
Embeddings tab for each model (``?model=NAME``) in /usr/bin/chromium (``--no-sandbox
--disable-gpu``) and, once the page has the model's decoder, measures for ``--seconds`` each:

- ``mouse``: a real drag with Playwright's mouse (down, moves along a Lissajous path, up): decoded
  frames / s. Each move is one DevTools round trip, so this is also bounded by how fast moves arrive.
- ``per-frame``: pointermove events dispatched in the page at every animation frame (a pointer that
  moves every frame, as a finger does): decoded frames / s; the display's ~60 Hz is the ceiling. The
  target is judged on this one (the mouse drag decodes once per move that arrives).
- ``decode ms``: one decode alone (``window.fmaeLatentPad.decode``), the median of 50.

Target (issue 14): at least 30 decoded frames per second while dragging, for every shipped model.
"""

from __future__ import annotations

import argparse
import math
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # run as a plain script from anywhere
sys.path.insert(0, str(ROOT / "benchmarks"))

from appserver import free_port, start_server, stop_server  # noqa: E402

from fmae.latent import model_fingerprint  # noqa: E402
from fmae.models import load_checkpoint  # noqa: E402

CHROMIUM = "/usr/bin/chromium"
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
        "--disable-sync", "--no-first-run"]  # fmt: skip
TARGET_FPS = 30
PER_FRAME = """(seconds) => new Promise((done) => {
  const canvas = document.getElementById('latent-pad'), r = canvas.getBoundingClientRect();
  const at = (t) => ({clientX: r.left + r.width * (0.5 + 0.4 * Math.sin(t * 1.3)),
                      clientY: r.top + r.height * (0.5 + 0.4 * Math.sin(t * 2.1)),
                      bubbles: true, pointerId: 1, pointerType: 'mouse', buttons: 1});
  canvas.dispatchEvent(new PointerEvent('pointerdown', at(0)));
  const start = performance.now(), f0 = window.fmaeLatentPad.frames;
  const step = () => {
    const t = (performance.now() - start) / 1000;
    if (t >= seconds) {
      canvas.dispatchEvent(new PointerEvent('pointerup', at(t)));
      done((window.fmaeLatentPad.frames - f0) / t);
      return;
    }
    canvas.dispatchEvent(new PointerEvent('pointermove', at(t)));
    requestAnimationFrame(step);
  };
  requestAnimationFrame(step);
})"""
DECODE_MS = """(dim) => {
  const times = [];
  for (let k = 0; k < 50; k++) {
    const code = Array.from({length: dim}, (_, i) => Math.sin(k + i));
    const t = performance.now(); window.fmaeLatentPad.decode(code); times.push(performance.now() - t);
  }
  times.sort((a, b) => a - b);
  return times[25];
}"""


def open_pad(browser, url: str, name: str):
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    page = context.new_page()
    page.set_default_timeout(120_000)
    page.goto(f"{url}?model={name}")
    page.wait_for_selector("#main-tabs [role=tab][data-tab-id=embeddings]")
    page.locator('#main-tabs [role="tab"][data-tab-id="embeddings"]').click()
    page.wait_for_selector("#latent-pad[data-points]")
    key = model_fingerprint(load_checkpoint(ROOT / "checkpoints" / name).model)
    page.wait_for_function(f"window.fmaeLatentPad && window.fmaeLatentPad.key === {key!r}")
    page.locator("#latent-pad").scroll_into_view_if_needed()
    return context, page


def mouse_fps(page, seconds: float) -> tuple[float, float]:
    """(decoded frames / s, mouse moves / s) during a real drag of ``seconds``."""
    box = page.locator("#latent-pad").bounding_box()

    def at(t: float) -> tuple[float, float]:
        return (box["x"] + box["width"] * (0.5 + 0.4 * math.sin(t * 1.3)),
                box["y"] + box["height"] * (0.5 + 0.4 * math.sin(t * 2.1)))  # fmt: skip

    page.mouse.move(*at(0.0))
    page.mouse.down()
    f0, start, moves = page.evaluate("window.fmaeLatentPad.frames"), time.perf_counter(), 0
    while (t := time.perf_counter() - start) < seconds:
        page.mouse.move(*at(t))
        moves += 1
    page.evaluate("new Promise((done) => requestAnimationFrame(() => requestAnimationFrame(done)))")
    frames = page.evaluate("window.fmaeLatentPad.frames") - f0
    elapsed = time.perf_counter() - start
    page.mouse.up()
    return frames / elapsed, moves / elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seconds", type=float, default=3.0)
    parser.add_argument("--url", default=None, help="a running app (default: start one)")
    parser.add_argument("--models", nargs="*", default=None, help="default: every checkpoints/*")
    args = parser.parse_args()
    names = args.models or sorted(p.parent.name for p in (ROOT / "checkpoints").glob("*/config.json"))
    from playwright.sync_api import sync_playwright

    proc = None if args.url else start_server(free_port(), timeout=300)
    url = args.url or proc.url
    rows = []
    try:
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
            for name in names:
                context, page = open_pad(browser, url, name)
                dim = load_checkpoint(ROOT / "checkpoints" / name).model.latent_dim
                mode = page.evaluate("window.fmaeLatentPad.mode")
                page.evaluate(DECODE_MS, dim)  # warm the JIT
                ms = page.evaluate(DECODE_MS, dim)
                per_frame = statistics.median(page.evaluate(PER_FRAME, args.seconds) for _ in range(2))
                mouse, moves = mouse_fps(page, args.seconds)
                rows.append((name, mode, ms, mouse, moves, per_frame))
                print(f"{name:14s} {mode:6s} decode {ms:6.2f} ms  mouse drag {mouse:5.1f} fps ({moves:.0f} "
                      f"moves/s)  per-frame drag {per_frame:5.1f} fps", flush=True)  # fmt: skip
                context.close()
            browser.close()
    finally:
        if proc is not None:
            stop_server(proc)
    print("\n| model | decoder runs in | one decode (ms) | mouse drag: fps (moves/s) | per-frame fps |")
    print("|---|---|---|---|---|")
    for name, mode, ms, mouse, moves, per_frame in rows:
        print(f"| {name} | {mode} | {ms:.2f} | {mouse:.1f} ({moves:.0f}) | {per_frame:.1f} |")
    # the mouse drag decodes once per move that arrives (Playwright's moves are the limit there), so the
    # target is judged on the per-frame drag: what the page sustains when the pointer moves every frame
    slow = [r[0] for r in rows if r[5] < TARGET_FPS]
    print(
        f"target {TARGET_FPS} fps while dragging: "
        + ("met by every model" if not slow else f"missed by {slow}")
    )


if __name__ == "__main__":
    main()
