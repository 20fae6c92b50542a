"""The page's own CSS and script: what Gradio's settings alone do not give.

- The Sketchpad starts with no tool picked (Gradio 6.31 shows "select the draw tool to start"
  and a stroke selects text instead). ``JS`` clicks its Brush whenever that prompt is shown:
  on load, after "Clear canvas", when its tab is first opened. Undo, redo and clear stay Gradio's.
- Phones (about 390 px wide): the header's columns wrap instead of squeezing the model info, the
  canvas fits the screen and a finger draws on it (Gradio's canvas sets ``touch-action: none``).
- Links (ui/links.py): "Copy link" needs the page's address and the open tab from the browser,
  and puts the link on the clipboard and in the address bar.
- Dark mode: Gradio keeps the drawing area white with black ink, so the model sees the same
  input as in light mode (tests/test_browser.py checks the pixels).
"""

from __future__ import annotations

import json

from ui import train_tab

CSS = """
#examples img, #train-grid img, #reconstruct-figure img { image-rendering: pixelated; }
/* a stroke that starts before the brush is ready must not select the page's text */
#sketchpad { user-select: none; -webkit-user-select: none; }
#link-box textarea, #link-box input { font-family: var(--font-mono); font-size: var(--text-sm); }
/* the latent maps side by side while each gets 300 px, else one under the other (a phone): Gradio
   gives a gr.HTML in a Row min-width 0 whatever its min_width, so three squeezed into tall slivers */
.emb-map { min-width: min(300px, 100%) !important; }
/* the 5 nearest test images whole inside the gallery's 150 px: Gradio sizes each square thumbnail to a
   fifth of the page's width (231 px on a desktop, cut off); at most 600 px for the five keeps them
   ~112 px (Gradio 6.31's gallery grid class) */
#embed-nearest .grid-container {
  grid-template-columns: repeat(5, minmax(0, 1fr)) !important; max-width: 600px; }
@media (max-width: 640px) {
  #model-info { font-size: var(--text-sm); }
}
"""

#: ``launch(head=...)``: Gradio scopes ``css`` to the app's content (``.contain``), so the padding
#: around it is set here: on a phone 12 px instead of 32 px a side, and the canvas and pictures gain
HEAD = """<style>
@media (max-width: 640px) {
  .gradio-container .main.app { padding-left: 12px; padding-right: 12px; }
}
</style>"""

#: "Copy link", before the server builds the link: the page's address and tab (what only the browser knows)
WHERE_JS = """
(box, ...settings) => {
  const tab = document.querySelector('#main-tabs [role="tab"][aria-selected="true"]');
  const where = {base: location.origin + location.pathname, tab: tab ? tab.dataset.tabId : null};
  return [JSON.stringify(where), ...settings];
}
"""

#: "Copy link", after: the link to the clipboard and the address bar (a reload keeps the state; other
#: parameters such as ``__theme`` stay); in a Space's iframe, to the Space page's address too
COPY_JS = """
(url) => {
  if (!url) return;
  const link = new URL(url);
  if (link.origin === location.origin) {
    const params = new URLSearchParams(location.search);
    for (const key of KEYS) params.delete(key);
    for (const [key, value] of link.searchParams) params.set(key, value);
    const query = params.toString();
    history.replaceState(history.state, '', location.pathname + (query ? '?' + query : '') + location.hash);
  } else if (window.parent !== window) {
    window.parent.postMessage({queryString: link.search}, 'https://huggingface.co');
  }
  if (navigator.clipboard) navigator.clipboard.writeText(url).catch(() => {});  // refused: the box shows it
}
""".replace("KEYS", json.dumps(["model", "tab", *train_tab.DEFAULTS]))

#: run once when the page has loaded (``launch(js=...)``); watches the page from then on
JS = """
() => {
  // Pick the Sketchpad's brush whenever Gradio shows its "select the draw tool" prompt (that
  // prompt is up exactly while the image tool is active and there is nothing to undo).
  const pickBrush = () => {
    for (const pad of document.querySelectorAll('#sketchpad')) {
      const brush = pad.querySelector('button[aria-label="Brush"]');
      if (brush && pad.querySelector('canvas') && pad.querySelector('.empty.wrap')) brush.click();
    }
  };
  let queued = false;
  new MutationObserver(() => {
    if (queued) return;
    queued = true;
    requestAnimationFrame(() => { queued = false; pickBrush(); });
  }).observe(document.body, {childList: true, subtree: true});
  pickBrush();
}
"""
