"""The Embeddings tab's latent walk in a real browser (headless Chromium, against `python app.py`).

Issue 14: when the tab first opened, the walk's "Decoded" image could show as a broken image.
Every paint of the tab (page load, tab select, any visitor's repaint) returned the same walk image,
and Gradio wrote it again, in place, to the same content-addressed file: a browser fetching that
file meanwhile got a short body (ERR_CONTENT_LENGTH_MISMATCH) and kept the broken image, since the
next paint gave the same URL. Here other visitors repaint the tab all the time while pages open
it and fetch the image: every fetch must get the whole PNG.
"""

from __future__ import annotations

import threading
from pathlib import Path

import numpy as np
import pytest
from gradio_client import Client
from PIL import Image
from test_browser import ARTIFACTS, browser  # noqa: F401 - the module's Chromium fixture

from fmae.latent import DEFAULT_METHODS, DEFAULT_N
from ui.embed_data import WALK_SCALE, png_file

WALK = "#embed-walk img"
SIZE = 28 * WALK_SCALE  # the decoded image, enlarged WALK_SCALE times
PAGES, FETCHES = 3, 30
PAINT, WALK_AT_ZERO = "/embed_paint", (0.0, 0.0, 0.0, 0.0)


@pytest.fixture
def repainting(app_server):
    """Other visitors repainting the Embeddings tab (the paint a tab select sends) in a loop,
    with the walk at its start: each paint hands out the same walk image again."""
    stop = threading.Event()
    errors: list[BaseException] = []

    def loop() -> None:
        client = Client(app_server, verbose=False, ssl_verify=False)
        while not stop.is_set():
            try:
                client.predict(
                    "fashion-conv", list(DEFAULT_METHODS), DEFAULT_N, 0, *WALK_AT_ZERO, api_name=PAINT
                )
            except Exception as exc:  # reported by the test, not lost in a thread
                errors.append(exc)
                return

    threads = [threading.Thread(target=loop, daemon=True) for _ in range(2)]
    for thread in threads:
        thread.start()
    yield errors
    stop.set()
    for thread in threads:
        thread.join(timeout=30)


def open_embeddings(browser, url: str):  # noqa: F811 - the fixture imported above
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    page = context.new_page()
    page.set_default_timeout(30_000)
    page.goto(url)
    page.wait_for_selector("#main-tabs [role=tab][data-tab-id=embeddings]")
    page.locator('#main-tabs [role="tab"][data-tab-id="embeddings"]').click()
    page.wait_for_selector(WALK)
    return context, page


def walk_loaded(page) -> dict:
    """Once the walk's <img> has finished loading (or failing): its natural size and source."""
    page.wait_for_function(f"(() => {{ const i = document.querySelector('{WALK}'); return i?.complete; }})()")
    return page.evaluate(
        f"(() => {{ const i = document.querySelector('{WALK}');"
        " return {w: i.naturalWidth, h: i.naturalHeight, src: i.src}; })()"
    )


def test_the_walk_image_loads_when_the_tab_opens_while_others_repaint(browser, app_server, repainting):  # noqa: F811
    for attempt in range(PAGES):
        context, page = open_embeddings(browser, app_server)
        try:
            page.wait_for_timeout(1500)  # the tab's own paint (select) has come back meanwhile
            shown = walk_loaded(page)
            if shown["w"] == 0:
                page.locator("#embed-walk").screenshot(path=str(ARTIFACTS / "walk-broken.png"))
            assert (shown["w"], shown["h"]) == (SIZE, SIZE), (attempt, shown)
            # the same URL, fetched again and again while the repaints go on: always the whole PNG
            sizes = page.evaluate(
                """async ([src, n]) => {
                const out = [];
                for (let k = 0; k < n; k++) {
                    try {
                        const body = await (await fetch(src, {cache: "no-store"})).blob();
                        const bitmap = await createImageBitmap(body);
                        out.push([bitmap.width, bitmap.height]);
                    } catch (e) { out.push(String(e)); }
                }
                return out;
            }""",
                [shown["src"], FETCHES],
            )
            assert sizes == [[SIZE, SIZE]] * FETCHES, sizes
        finally:
            context.close()
    assert not repainting, repainting  # the repaints themselves worked


def test_an_image_handed_out_again_is_not_rewritten(tmp_path):
    """The fix itself: the same picture maps to the same file, written once (a reader may hold it open);
    another picture maps to another file."""
    rng = np.random.default_rng(0)
    walk = rng.integers(0, 256, (SIZE, SIZE, 3), dtype=np.uint8)
    first = Path(png_file(walk, tmp_path, "walk"))
    np.testing.assert_array_equal(np.asarray(Image.open(first)), walk)
    written = first.read_bytes()
    first.write_bytes(b"x" * len(written))  # a marker: any new write of the file would replace it
    assert png_file(walk, tmp_path, "walk") == str(first)
    assert first.read_bytes() == b"x" * len(written)  # served as it is, not written again
    other = Path(png_file(walk[::-1], tmp_path, "walk"))
    assert other != first and other.parent.parent == first.parent.parent == tmp_path.resolve()
    assert sorted(p.name for p in tmp_path.rglob("*") if p.is_file()) == [
        "walk.png",
        "walk.png",
    ]  # no leftovers
