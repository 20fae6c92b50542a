"""A fast interactive scatter plot for the Embeddings tab: a ``gr.HTML`` drawing on a <canvas>.

Why not ``gr.ScatterPlot``: Gradio's native plots render SVG through Vega; three maps of 2,000
points took 3-5 s to appear in headless Chromium here (one map ~1-2 s), far beyond the tab's
1-second first paint. A canvas draws them in milliseconds. Hovering a point shows its class,
test-image number and the image itself (fetched from the server, see ``point_image``).

The value is plain JSON (``scatter_value``): coordinates, class ids, test-image indices, class
names and colours, a title, the scores line and the drawing's position.
"""

from __future__ import annotations

import base64
from collections.abc import Callable, Sequence
from typing import Any

import gradio as gr
import numpy as np

from fmae.latent import LABELS, Projection

COLORS = ("#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22",
          "#17becf")  # fmt: skip
DRAWING_COLOR = "#000000"
STRIP_SUBTITLE = " · 1-D codes: x is the code, y a jitter"

TEMPLATE = """<div class="emb-plot">
  <div class="emb-title"></div><div class="emb-sub"></div>
  <div class="emb-wrap"><canvas></canvas><div class="emb-tip"></div></div>
  <div class="emb-legend"></div>
</div>"""

CSS = """
.emb-plot { display: flex; flex-direction: column; gap: 2px; font-size: 13px; }
.emb-title { font-weight: 600; text-align: center; }
.emb-sub { text-align: center; color: var(--body-text-color); opacity: .75; font-size: 12px;
  min-height: 1em; }
.emb-wrap { position: relative; height: 340px; }
.emb-wrap canvas { width: 100%; height: 100%; display: block; cursor: crosshair; }
.emb-tip { position: absolute; display: none; pointer-events: none;
  background: var(--background-fill-primary); border: 1px solid var(--border-color-primary);
  border-radius: 4px; padding: 4px 6px; font-size: 12px;
  white-space: nowrap; z-index: 10; box-shadow: 0 1px 4px rgba(0,0,0,.2); }
.emb-tip img { display: block; width: 84px; height: 84px; image-rendering: pixelated; margin-top: 3px; }
.emb-legend { display: flex; flex-wrap: wrap; gap: 2px 10px; justify-content: center; font-size: 12px; }
.emb-legend span::before { content: "●"; color: var(--c); margin-right: 3px; }
"""

JS = """
const PAD = 14, R = 2.4;
let pts = null, cache = {key: null};
// the page's language, as Gradio's own texts pick it (see ui/i18n.py): a few words of the plot in Chinese
const ZH = (navigator.language || '').toLowerCase().startsWith('zh');
const WORDS = ZH ? [['trustworthiness', '可信度'], ['(latent ', '(潜在空间 '],
                    ['1-D codes: x is the code, y a jitter', '一维编码：x 为编码，y 为抖动']] : [];
function say(text) {
  for (const [en, zh] of WORDS) text = text.replace(en, zh);
  return text;
}
function unpack(b64, Type) {
  const bin = atob(b64), bytes = new Uint8Array(bin.length);
  for (let k = 0; k < bin.length; k++) bytes[k] = bin.charCodeAt(k);
  return new Type(bytes.buffer);
}
function arrays(v) {  // decoded once per value
  if (cache.key !== v.xy) cache = {key: v.xy, xy: unpack(v.xy, Float32Array), c: unpack(v.c, Uint8Array),
                                   i: unpack(v.i, Uint32Array)};
  return cache;
}
function legendItem(name, color) {
  const s = document.createElement('span'); s.textContent = name; s.style.setProperty('--c', color); return s;
}
function draw() {
  const v = props.value, canvas = element.querySelector('canvas');
  if (!canvas) return;
  element.querySelector('.emb-title').textContent = v ? v.title : '';
  element.querySelector('.emb-sub').textContent = v ? say(v.subtitle) : '';
  const items = v ? v.classes.map((name, k) => legendItem(name, v.colors[k])) : [];
  if (v && v.drawing) items.push(legendItem(ZH ? '你的画' : 'your drawing', v.drawing_color));
  element.querySelector('.emb-legend').replaceChildren(...items);
  const w = canvas.clientWidth, h = canvas.clientHeight, dpr = window.devicePixelRatio || 1;
  canvas.width = Math.round(w * dpr); canvas.height = Math.round(h * dpr);
  const ctx = canvas.getContext('2d');
  ctx.setTransform(dpr, 0, 0, dpr, 0, 0); ctx.clearRect(0, 0, w, h);
  if (!v || !v.n) { pts = null; element.removeAttribute('data-points'); return; }
  const {xy, c} = arrays(v), [x0, x1, y0, y1] = v.bounds, n = v.n;
  let sx = (w - 2 * PAD) / ((x1 - x0) || 1), sy = (h - 2 * PAD) / ((y1 - y0) || 1);
  let ox = PAD, oy = PAD;  // a map's distances mean something: one scale for x and y, centred
  if (!v.strip) {
    sx = sy = Math.min(sx, sy);
    ox = (w - (x1 - x0) * sx) / 2; oy = (h - (y1 - y0) * sy) / 2;
  }
  const px = new Float32Array(n), py = new Float32Array(n);
  ctx.strokeStyle = 'rgba(128,128,128,.35)'; ctx.strokeRect(0.5, 0.5, w - 1, h - 1);
  ctx.globalAlpha = 0.8;
  for (let k = 0; k < n; k++) {
    px[k] = ox + (xy[2 * k] - x0) * sx; py[k] = h - oy - (xy[2 * k + 1] - y0) * sy;
    ctx.fillStyle = v.colors[c[k]]; ctx.beginPath(); ctx.arc(px[k], py[k], R, 0, 6.2832); ctx.fill();
  }
  ctx.globalAlpha = 1;
  if (v.drawing) {  // a gold star with a dark edge, on top of everything
    const cx = ox + (v.drawing[0] - x0) * sx, cy = h - oy - (v.drawing[1] - y0) * sy;
    ctx.beginPath();
    for (let k = 0; k < 10; k++) {
      const r = k % 2 ? 5 : 12, a = -Math.PI / 2 + k * Math.PI / 5;
      ctx.lineTo(cx + r * Math.cos(a), cy + r * Math.sin(a));
    }
    ctx.closePath(); ctx.fillStyle = '#ffd700'; ctx.fill(); ctx.lineWidth = 2;
    ctx.strokeStyle = v.drawing_color; ctx.stroke();
  }
  pts = {px, py};
  element.setAttribute('data-points', String(n));  // tells tests the map is drawn
  element.setAttribute('data-scale', sx.toPrecision(6) + ',' + sy.toPrecision(6));  // px per unit, x,y
}
const images = new Map();
element.addEventListener('mousemove', (e) => {
  const v = props.value, canvas = element.querySelector('canvas'), tip = element.querySelector('.emb-tip');
  if (!pts || !v || !canvas || e.target !== canvas) { if (tip) tip.style.display = 'none'; return; }
  const r = canvas.getBoundingClientRect(), mx = e.clientX - r.left, my = e.clientY - r.top;
  let best = -1, bd = 64;  // within 8 px
  for (let k = 0; k < pts.px.length; k++) {
    const d = (pts.px[k] - mx) ** 2 + (pts.py[k] - my) ** 2;
    if (d < bd) { bd = d; best = k; }
  }
  if (best < 0) { tip.style.display = 'none'; return; }
  const {c, i} = arrays(v), idx = i[best], key = v.dataset + ':' + idx;
  tip.replaceChildren(`${v.classes[c[best]]} · #${idx}`);
  const img = document.createElement('img'); tip.appendChild(img);
  if (images.has(key)) img.src = images.get(key);
  else server.point_image(v.dataset, idx).then((url) => {
    if (typeof url !== 'string' || !url.startsWith('data:image/')) throw new Error('no image');
    images.set(key, url); if (tip.contains(img)) img.src = url;
  }).catch(() => img.remove());
  tip.style.display = 'block';
  tip.style.left = Math.min(mx + 12, r.width - 110) + 'px'; tip.style.top = Math.max(my - 40, 0) + 'px';
});
element.addEventListener('mouseleave', () => {
  const tip = element.querySelector('.emb-tip'); if (tip) tip.style.display = 'none';
});
new ResizeObserver(() => draw()).observe(element);
watch('value', draw);
draw();
"""


def _pack(a: np.ndarray, dtype: str) -> str:
    return base64.b64encode(np.ascontiguousarray(a, dtype).tobytes()).decode()


def scatter_value(
    p: Projection, classes: Sequence[str], dataset: str, xy: np.ndarray | None = None
) -> dict[str, Any]:
    """The plot's JSON: title, scores line, the view and the points packed as base64 little-endian
    arrays (``xy`` float32 (N, 2), ``c`` uint8 class ids, ``i`` uint32 test-image numbers; see
    ``unpack``): a few strings, not 4 N numbers, keep the browser's work per update small."""
    coords = np.asarray(p.coords, np.float32)
    lo, hi = coords.min(0), coords.max(0)
    core_lo, core_hi = np.quantile(coords, [0.005, 0.995], axis=0)
    if np.any(hi - lo > 2 * (core_hi - core_lo)):  # a few far outliers (LLE does that) would squash the rest
        lo, hi = core_lo - 0.05 * (core_hi - core_lo), core_hi + 0.05 * (core_hi - core_lo)
    if p.is_strip:  # y is only a jitter: a band across the middle (a fifth of the height), not a cloud
        half = 5 * float(np.abs(coords[:, 1]).max())
        lo[1], hi[1] = -half, half
    if xy is not None:
        lo, hi = np.minimum(lo, xy), np.maximum(hi, xy)
    s = p.scores
    labels = np.zeros(len(p), np.int64) if p.labels is None else p.labels
    indices = np.arange(len(p)) if p.indices is None else p.indices
    subtitle = (
        f"trustworthiness {s['trustworthiness']:.3f} · kNN(5) 2-D {s['knn2d_acc']:.2f} "
        f"(latent {s['knn_latent_acc']:.2f})"
    )
    return {
        "title": f"{LABELS.get(p.method, p.method)} · {p.seconds:.1f} s",
        "subtitle": (subtitle if s else "") + (STRIP_SUBTITLE if p.is_strip else ""),
        "n": len(p),
        "xy": _pack(coords, "<f4"),
        "c": _pack(labels, "u1"),
        "i": _pack(indices, "<u4"),
        "bounds": [float(lo[0]), float(hi[0]), float(lo[1]), float(hi[1])],
        "strip": bool(p.is_strip),  # drawn with its own y scale; a 2-D map with one scale for both
        "classes": list(classes),
        "colors": [COLORS[k % len(COLORS)] for k in range(len(classes))],
        "dataset": dataset,
        "drawing": None if xy is None else [float(xy[0]), float(xy[1])],
        "drawing_color": DRAWING_COLOR,
    }


def unpack(value: dict[str, Any]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Coordinates (N, 2) float32, class ids (N,) and test-image numbers (N,) of a plot value
    (what an API client receives)."""
    xy = np.frombuffer(base64.b64decode(value["xy"]), "<f4").reshape(-1, 2)
    return (
        xy,
        np.frombuffer(base64.b64decode(value["c"]), "u1"),
        np.frombuffer(base64.b64decode(value["i"]), "<u4"),
    )


def scatter(
    point_image: Callable[[list[Any]], str], value: dict[str, Any] | None = None, **kwargs: Any
) -> gr.HTML:
    """The plot component (``value`` from ``scatter_value``); ``point_image([dataset, index]) -> data
    URL`` serves the hover images (a server function gets the script's arguments as one list)."""
    return gr.HTML(
        value,
        html_template=TEMPLATE,
        css_template=CSS,
        js_on_load=JS,
        server_functions=[point_image],
        **kwargs,
    )
