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
