"""Watching a run in a real browser (headless Chromium, against `python app.py`): the latent map
changes while the run trains, Pause holds it, Step advances the step counter by exactly the steps
asked for, the slider replays an earlier frame, Resume and Stop work, and the GIF holds every frame.
Also the watch endpoints through gradio_client (/train_frames, /train_gif, /train_pause).

Uses the fixtures of tests/test_browser.py (system Chromium, screenshots in ``artifacts/``).
"""

from __future__ import annotations

import io
import json
import re
import time

from gradio_client import Client
from PIL import Image
from test_browser import ARTIFACTS, browser, open_page  # noqa: F401 - fixtures

from fmae.data import FASHION_CLASSES

INFO = "#train-frame-info"
#: a run far longer than the test (20 epochs of 60,000 images): the test stops it
LONG_RUN = "?tab=train&epochs=20&train_size=60000"


def map_src(page) -> str | None:
    return page.evaluate("(document.querySelector('#train-latent-map img') || {}).src || null")


def info_text(page) -> str:
    return page.locator(INFO).inner_text()


def info_step(page) -> int:
    return int(re.search(r"step ([\d,]+)", info_text(page)).group(1).replace(",", ""))


def wait_for_info(page, pattern: str, timeout: float = 60_000) -> None:
    """Until the line under the map matches the JavaScript regular expression ``pattern``."""
    page.wait_for_function(
        f"new RegExp({json.dumps(pattern)}).test(document.querySelector('{INFO}').innerText)", timeout=timeout
    )


def status_text(page) -> str:
    return page.locator("#train-status").inner_text()


def test_watch_pause_step_replay_resume_stop_and_gif(open_page):  # noqa: F811 - the fixture
    page = open_page(LONG_RUN, ready="#train-start")
    page.locator("#train-start").click()
    seen: list[str] = []  # the map's distinct pictures while the run trains
    deadline = time.monotonic() + 90
    while len(seen) < 4 and time.monotonic() < deadline:
        src = map_src(page)
        if src and src not in seen:
            seen.append(src)
        assert "Training done" not in status_text(page)
        time.sleep(0.25)
    assert len(seen) >= 4, f"the map changed {len(seen)} times"
    assert re.search(r"Frame \d+ of \d+ · step [\d,]+ · epoch \d+\.\d\d", info_text(page))

    page.locator("#train-pause").click()
    wait_for_info(page, "paused")
    held = info_step(page)
    assert f"after step {held:,}" in status_text(page)
    paused_src = map_src(page)
    time.sleep(2.5)  # held: no new frame comes (frames come every 1.5 s while it runs)
    assert info_step(page) == held and map_src(page) == paused_src
    for n in (10, 1, 100):
        page.locator("#train-step-size").get_by_label(str(n), exact=True).check()
        page.locator("#train-step").click()
        wait_for_info(page, rf"step {held + n:,}\b.*paused")
        assert info_step(page) == held + n and f"after step {held + n:,}" in status_text(page)
        held += n
    page.screenshot(path=str(ARTIFACTS / "browser-train-watch-paused.png"), full_page=True)

    count = int(re.search(r"of (\d+)", info_text(page)).group(1))
    number = page.locator("#train-frame input[type=number]")
    number.fill("0")
    number.press("Enter")
    wait_for_info(page, f"^Frame 1 of {count} · step 0 ")
    assert map_src(page) != paused_src  # the first frame: the untrained model's map
    marker = page.locator("#train-curve svg text", has_text="frame shown")
    assert marker.count() >= 1

    page.locator("#train-resume").click()
    page.wait_for_function("document.querySelector('#train-status').innerText.startsWith('Training: epoch')")
    wait_for_info(page, rf"of (?!{count}\b)\d+")  # new frames again, and the page follows them
    page.locator("#train-stop").click()
    page.wait_for_function(
        "document.querySelector('#train-status').innerText.includes('Training stopped')", timeout=60_000
    )
    wait_for_info(page, r"^Frame (\d+) of \1 ")  # the last frame shown
    frames = int(re.search(r"of (\d+)", info_text(page)).group(1))
    assert "paused" not in info_text(page)

    page.locator("#train-gif-button").click()
    link = page.locator("#train-gif a[href]").first
    link.wait_for(timeout=60_000)
    gif = Image.open(io.BytesIO(page.request.get(link.get_attribute("href")).body()))
    assert gif.format == "GIF" and gif.n_frames == min(frames, 150) and gif.size == (600, 440)
    page.screenshot(path=str(ARTIFACTS / "browser-train-watch-done.png"), full_page=True)


def test_the_frames_and_the_gif_through_the_api(app_server):
    client = Client(app_server, verbose=False)  # a session of its own
    assert client.predict(api_name="/train_pause") == "Nothing is training in this session."
    assert json.loads(client.predict(api_name="/train_frames"))["frames"] == []
    settings = {
        "dataset": "fashion", "model_type": "mlp", "epochs": 2, "batch_size": 64, "lr": 2e-3, "latent_dim": 6,
        "hidden_dim": 32, "seed": 0, "train_size": 2000,
    }  # fmt: skip
    job = client.submit(**settings, api_name="/train")
    list(job)
    assert job.status().success, job.exception()
    data = json.loads(client.predict(api_name="/train_frames"))
    assert data["classes"] == list(FASHION_CLASSES) and len(data["labels"]) == 1000
    assert set(data["labels"]) == set(range(10)) and not data["running"] and not data["paused"]
    frames = data["frames"]
    steps = [f["step"] for f in frames]
    assert steps[0] == 0 and steps == sorted(steps) and steps[-1] == 2 * (2000 // 64)
    assert frames[0]["loss"] is None and all(f["loss"] > 0 for f in frames[1:])
    assert [f["epoch"] for f in frames if f["epoch_end"]] == [1.0, 2.0]
    assert all(len(f["xy"]) == 1000 and len(f["xy"][0]) == 2 for f in frames)
    path = client.predict(api_name="/train_gif")
    assert Image.open(path).n_frames == len(frames)


def test_pause_right_after_start_holds_the_run(app_server):
    """/train_pause sent as soon as the server has taken the run (a tester's script saw it answered
    "Nothing is training"): the run holds within its first steps, and /stop_training still ends it. (A
    Pause while the run is still loading is kept for it: ``Watches.pause_asked``.)"""
    client = Client(app_server, verbose=False)
    settings = {
        "dataset": "fashion", "model_type": "mlp", "epochs": 2, "batch_size": 64, "lr": 2e-3, "latent_dim": 6,
        "hidden_dim": 32, "seed": 0, "train_size": 5000,
    }  # fmt: skip
    job = client.submit(**settings, api_name="/train")
    try:
        while not json.loads(client.predict(api_name="/train_frames"))["running"] and not job.done():
            time.sleep(0.02)  # the server has taken the run (a pause before that has no run to hold)
        reply = client.predict(api_name="/train_pause")
        assert reply != "Nothing is training in this session."
        deadline, data = time.monotonic() + 60, {}
        while time.monotonic() < deadline:
            data = json.loads(client.predict(api_name="/train_frames"))
            if data["paused"] or not data["running"]:
                break
            time.sleep(0.5)
        assert data["paused"] and data["running"]  # held, not run to its end
    finally:  # never leave a paused run holding the one training slot for the next tests
        client.predict(api_name="/stop_training")
        list(job)
    assert "stopped" in job.outputs()[-1][0].lower()
