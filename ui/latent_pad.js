// The latent pad (ui/latent_pad.py): press and drag on the plane, the decoder runs here, in the page.
// Runs as gr.HTML's js_on_load: `element`, `props`, `server` and `watch` come from Gradio.
// window.fmaeLatentPad: frames (decoded frames shown), key (the model whose decoder is loaded),
// mode ('page' or 'server'), decode(code) -> 784 floats in [0, 1] (tests compare it with Python).
const S = (window.fmaeLatentPad = window.fmaeLatentPad || { frames: 0 });
let net = null, netKey = null, asked = null, grid = null, gridOn = false;
let bg = null, bgSig = '', target = null, current = null, pending = false, dragging = false, inflight = false;
let unpacked = { key: null };

function unpack(b64, Type) {
  const bin = atob(b64), bytes = new Uint8Array(bin.length);
  for (let k = 0; k < bin.length; k++) bytes[k] = bin.charCodeAt(k);
  return new Type(bytes.buffer);
}
const q = (sel) => element.querySelector(sel);
const size = (shape) => shape.reduce((a, b) => a * b, 1);

// ---------------------------------------------------------------- the decoder (fmae/latent/netspec.py)
function makeNet(spec, dim) {
  let big = dim;
  for (const L of spec.layers) big = Math.max(big, size(L.shape_in), size(L.shape_out));
  return { W: unpack(spec.weights, Float32Array), layers: spec.layers, dim,
           a: new Float32Array(big), b: new Float32Array(big), out: new Float32Array(784) };
}
function linear(W, L, x, y) {
  const n = L.in, m = L.out;
  for (let o = 0; o < m; o++) {
    let s = L.b >= 0 ? W[L.b + o] : 0;
    const r = L.w + o * n;
    for (let i = 0; i < n; i++) s += W[r + i] * x[i];
    y[o] = s;
  }
}
function conv(W, L, x, y) {  // stride 1, zero padding L.pad; weight (O, C, k, k)
  const [C, H, Wd] = L.shape_in, [O, OH, OW] = L.shape_out, k = L.k, p = L.pad, hw = OH * OW;
  for (let o = 0; o < O; o++) {
    const base = o * hw, bias = L.b >= 0 ? W[L.b + o] : 0;
    for (let t = 0; t < hw; t++) y[base + t] = bias;
    for (let c = 0; c < C; c++) {
      const xin = c * H * Wd;
      for (let ky = 0; ky < k; ky++) {
        const dy = ky - p, y0 = Math.max(0, -dy), y1 = Math.min(OH, H - dy);
        for (let kx = 0; kx < k; kx++) {
          const w = W[L.w + ((o * C + c) * k + ky) * k + kx];
          if (w === 0) continue;
          const dx = kx - p, x0 = Math.max(0, -dx), x1 = Math.min(OW, Wd - dx);
          for (let yy = y0; yy < y1; yy++) {
            const ro = base + yy * OW, ri = xin + (yy + dy) * Wd + dx;
            for (let xx = x0; xx < x1; xx++) y[ro + xx] += w * x[ri + xx];
          }
        }
      }
    }
  }
}
function convT(W, L, x, y) {  // transposed: weight (C, O, k, k); output (side - 1) * s - 2p + k
  const [C, H, Wd] = L.shape_in, [O, OH, OW] = L.shape_out, k = L.k, s = L.stride, p = L.pad;
  for (let o = 0; o < O; o++) y.fill(L.b >= 0 ? W[L.b + o] : 0, o * OH * OW, (o + 1) * OH * OW);
  for (let c = 0; c < C; c++) {
    for (let o = 0; o < O; o++) {
      const ob = o * OH * OW;
      for (let ky = 0; ky < k; ky++) {
        for (let kx = 0; kx < k; kx++) {
          const w = W[L.w + ((c * O + o) * k + ky) * k + kx];
          for (let iy = 0; iy < H; iy++) {
            const oy = iy * s - p + ky;
            if (oy < 0 || oy >= OH) continue;
            const ri = c * H * Wd + iy * Wd, ro = ob + oy * OW;
            for (let ix = 0; ix < Wd; ix++) {
              const ox = ix * s - p + kx;
              if (ox >= 0 && ox < OW) y[ro + ox] += w * x[ri + ix];
            }
          }
        }
      }
    }
  }
}
function shuffle(L, x, y) {  // (c r^2, h, w) -> (c, h r, w r)
  const r = L.r, [C, H, Wd] = L.shape_in, oc = C / (r * r), OW = Wd * r;
  for (let c = 0; c < oc; c++)
    for (let i = 0; i < r; i++)
      for (let j = 0; j < r; j++) {
        const src = (c * r * r + i * r + j) * H * Wd;
        for (let yy = 0; yy < H; yy++)
          for (let xx = 0; xx < Wd; xx++) y[c * H * r * OW + (yy * r + i) * OW + xx * r + j] = x[src + yy * Wd + xx];
      }
}
function run(n, code) {  // code (dim) -> n.out: 784 pixels in [0, 1]
  let x = n.a, y = n.b;
  for (let k = 0; k < n.dim; k++) x[k] = code[k];
  for (const L of n.layers) {
    if (L.op === 'relu') { const m = size(L.shape_out); for (let k = 0; k < m; k++) if (x[k] < 0) x[k] = 0; continue; }
    if (L.op === 'unflatten') continue;
    if (L.op === 'linear') linear(n.W, L, x, y);
    else if (L.op === 'conv') conv(n.W, L, x, y);
    else if (L.op === 'conv_transpose') convT(n.W, L, x, y);
    else if (L.op === 'pixel_shuffle') shuffle(L, x, y);
    else throw new Error('unknown layer ' + L.op);
    [x, y] = [y, x];
  }
  for (let k = 0; k < 784; k++) n.out[k] = 1 / (1 + Math.exp(-x[k]));
  return n.out;
}
S.decoderOf = (spec, dim) => {  // any decoder spec as a function: tests run every model family with it
  const n = makeNet(spec, dim);
  return (code) => Array.from(run(n, code));
};
S.decode = (code) => {
  if (!net) throw new Error('no decoder loaded');
  return Array.from(run(net, code));
};

// ---------------------------------------------------------------- the model's decoder and grid
function load(v) {
  if (!v || asked === v.key) return;
  asked = v.key; net = null; netKey = null; grid = null; S.key = null; S.mode = null; bgSig = '';
  server.pad_weights([v.model, v.key]).then((r) => {
    const now = props.value;
    if (!r || !now || r.key !== now.key) { if (now && asked === now.key && r && r.key !== now.key) asked = null; return; }
    if (r.decoder) { net = makeNet(r.decoder, r.latent_dim); S.mode = 'page'; }
    else { S.mode = 'server'; }
    netKey = r.key; S.key = r.key;
    const img = new Image();
    img.onload = () => { if (netKey === r.key) { grid = img; bgSig = ''; drawPlane(); } };
    img.src = r.grid;
    note(now);
    if (!target && !current) target = [0, 0];  // the plane's origin (the codes' mean, or the latent origin)
    schedule();
  }).catch(() => { asked = null; });
}

// ---------------------------------------------------------------- drawing
function points(v) {
  if (unpacked.key !== v.xy) unpacked = { key: v.xy, xy: unpack(v.xy, Float32Array), c: unpack(v.c, Uint8Array) };
  return unpacked;
}
function toPx(v, x, y, w, h) {
  const [x0, x1, y0, y1] = v.extent;
  return [((x - x0) / (x1 - x0)) * w, h - ((y - y0) / (y1 - y0)) * h];
}
function star(ctx, cx, cy, color) {
  ctx.beginPath();
  for (let k = 0; k < 10; k++) {
    const r = k % 2 ? 5 : 12, a = -Math.PI / 2 + (k * Math.PI) / 5;
    ctx.lineTo(cx + r * Math.cos(a), cy + r * Math.sin(a));
  }
  ctx.closePath(); ctx.fillStyle = '#ffd700'; ctx.fill(); ctx.lineWidth = 2; ctx.strokeStyle = color; ctx.stroke();
}
function background(v, cw, ch, dpr) {  // grid, points and the drawing's star, redrawn only when they change
  const sig = [v.key, v.xy.length, v.drawing, cw, ch, gridOn, !!grid].join('|');
  if (bg && bgSig === sig) return bg;
  bg = bg || document.createElement('canvas');
  bg.width = cw; bg.height = ch;
  const ctx = bg.getContext('2d'), w = cw / dpr, h = ch / dpr;
  ctx.setTransform(dpr, 0, 0, dpr, 0, 0); ctx.clearRect(0, 0, w, h);
  if (gridOn && grid) { ctx.imageSmoothingEnabled = true; ctx.drawImage(grid, 0, 0, w, h); }
  const { xy, c } = points(v);
  ctx.globalAlpha = gridOn && grid ? 0.55 : 0.8;
  for (let k = 0; k < v.n; k++) {
    const [px, py] = toPx(v, xy[2 * k], xy[2 * k + 1], w, h);
    ctx.fillStyle = v.colors[c[k]]; ctx.beginPath(); ctx.arc(px, py, 2.2, 0, 6.2832); ctx.fill();
  }
  ctx.globalAlpha = 1;
  if (v.drawing) star(ctx, ...toPx(v, v.drawing[0], v.drawing[1], w, h), v.drawing_color);
  bgSig = sig;
  return bg;
}
function drawPlane() {
  const v = props.value, canvas = q('#latent-pad');
  if (!canvas) return;
  const dpr = window.devicePixelRatio || 1, w = canvas.clientWidth, h = canvas.clientHeight;
  const cw = Math.max(1, Math.round(w * dpr)), ch = Math.max(1, Math.round(h * dpr));
  if (canvas.width !== cw || canvas.height !== ch) { canvas.width = cw; canvas.height = ch; }
  const ctx = canvas.getContext('2d');
  ctx.setTransform(1, 0, 0, 1, 0, 0); ctx.clearRect(0, 0, cw, ch);
  if (!v || !v.n) return;
  ctx.drawImage(background(v, cw, ch, dpr), 0, 0);
  if (current) {  // the decoded point: a ring, white inside black, visible on any background
    const [px, py] = toPx(v, current[0], current[1], w, h);
    ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
    ctx.beginPath(); ctx.arc(px, py, 7, 0, 6.2832); ctx.lineWidth = 4; ctx.strokeStyle = '#000'; ctx.stroke();
    ctx.lineWidth = 2; ctx.strokeStyle = '#fff'; ctx.stroke();
  }
  canvas.setAttribute('data-points', String(v.n));
}
let imageData = null;
function paintDecoded(img) {
  const canvas = q('#latent-pad-decoded');
  if (!canvas) return;
  const ctx = canvas.getContext('2d');
  if (!imageData) imageData = ctx.createImageData(28, 28);
  const d = imageData.data;
  for (let k = 0; k < 784; k++) {
    const g = Math.round(255 * img[k]);
    d[4 * k] = g; d[4 * k + 1] = g; d[4 * k + 2] = g; d[4 * k + 3] = 255;
  }
  ctx.putImageData(imageData, 0, 0);
  S.frames += 1;
  canvas.setAttribute('data-frames', String(S.frames));
}
function note(v) {
  const n = q('.lp-note');
  if (n) n.textContent = v ? v.note + (S.mode === 'server' && netKey === v.key ? ' ' + v.server_note : '') : '';
}
function where(at) {
  const el = q('.lp-where');
  if (el) el.textContent = at ? `x = ${at[0].toFixed(2)}, y = ${at[1].toFixed(2)}` : '';
}
function codeAt(v, at) {
  const z = new Float32Array(v.mean.length);
  for (let k = 0; k < z.length; k++) z[k] = v.mean[k] + at[0] * v.axes[0][k] + at[1] * v.axes[1][k];
  return z;
}

// ---------------------------------------------------------------- the pointer: one decode per frame
function schedule() {
  if (!pending) { pending = true; requestAnimationFrame(frame); }
}
function frame() {
  pending = false;
  const v = props.value;
  if (!v || !target || netKey !== v.key) return;
  const at = target;
  if (net) {
    target = null;
    paintDecoded(run(net, codeAt(v, at)));
    current = at; drawPlane(); where(at);
  } else if (!inflight) {  // no page decoder for this model: the server decodes, one request at a time
    target = null; inflight = true;
    server.pad_decode([v.model, at[0], at[1], v.key]).then((r) => {
      if (r && r.image && r.key === props.value?.key) {
        paintDecoded(unpack(r.image, Float32Array)); current = at; drawPlane(); where(at);
      }
    }).finally(() => { inflight = false; if (target) schedule(); });
  }
}
function planeAt(e) {
  const v = props.value, canvas = q('#latent-pad'), r = canvas.getBoundingClientRect();
  const u = Math.min(Math.max((e.clientX - r.left) / r.width, 0), 1);
  const s = Math.min(Math.max((e.clientY - r.top) / r.height, 0), 1);
  const [x0, x1, y0, y1] = v.extent;
  return [x0 + u * (x1 - x0), y1 - s * (y1 - y0)];
}
element.addEventListener('pointerdown', (e) => {
  if (!e.target || e.target.id !== 'latent-pad' || !props.value) return;
  e.preventDefault();
  dragging = true;
  try { e.target.setPointerCapture(e.pointerId); } catch (_) { /* a synthetic pointer */ }
  target = planeAt(e); schedule();
});
element.addEventListener('pointermove', (e) => {
  if (!dragging || !props.value) return;
  target = planeAt(e); schedule();
});
for (const end of ['pointerup', 'pointercancel']) element.addEventListener(end, () => { dragging = false; });
element.addEventListener('change', (e) => {
  if (e.target && e.target.classList.contains('lp-grid')) { gridOn = e.target.checked; bgSig = ''; drawPlane(); }
});

function render() {
  const v = props.value;
  note(v);
  const label = q('.lp-toggle span');
  if (label) label.textContent = v ? v.grid_label : '';
  const box = q('.lp-grid');
  if (box) box.checked = gridOn;
  const items = v ? v.classes.map((name, k) => [name, v.colors[k]]) : [];
  if (v && v.drawing) items.push([v.drawing_label, '#ffd700']);
  const legend = q('.lp-legend');
  if (legend) legend.replaceChildren(...items.map(([name, color]) => {
    const s = document.createElement('span'); s.textContent = name; s.style.setProperty('--c', color); return s;
  }));
  if (v && current && (netKey !== v.key)) { current = null; where(null); }
  bgSig = '';
  drawPlane();
  load(v);
}
new ResizeObserver(() => drawPlane()).observe(element);
watch('value', render);
render();
