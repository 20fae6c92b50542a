"""Shared pytest setup.

The block below runs when pytest loads this file, before any test module imports
huggingface_hub (which reads HF_ENDPOINT and HF_HOME once, at import time): it starts the
local Hub-protocol server, points HF_ENDPOINT at it and gives the Hub client a throwaway cache,
so no test touches the real Hub, the user's cache or the user's token.
"""

import atexit
import os
import shutil
import tempfile

import pytest
from hub_server import HubServer  # tests/ is on sys.path: pytest puts a conftest's folder there

_HUB = HubServer().start()
os.environ["HF_ENDPOINT"] = _HUB.url
os.environ["HF_HOME"] = tempfile.mkdtemp(prefix="fmae-tests-hf-home-")
atexit.register(shutil.rmtree, os.environ["HF_HOME"], ignore_errors=True)
os.environ["HF_HUB_DISABLE_TELEMETRY"] = "1"
for _var in ("HF_TOKEN", "HUGGING_FACE_HUB_TOKEN", "HF_HUB_OFFLINE", "HF_HUB_CACHE"):
    os.environ.pop(_var, None)


@pytest.fixture(scope="session")
def hub_server() -> HubServer:
    """The local Hub-protocol server (started above); register tokens with ``add_token``."""
    from huggingface_hub import constants

    if _HUB.url != constants.ENDPOINT:
        raise RuntimeError(
            f"huggingface_hub was imported before tests/conftest.py set HF_ENDPOINT "
            f"(it uses {constants.ENDPOINT}); the Hub tests would talk to the wrong server"
        )
    return _HUB


# ---------------------------------------------------------------- the app as a server
# (tests/test_app_api.py and tests/test_browser.py share one `python app.py` process)


@pytest.fixture(scope="session")
def app_server(tmp_path_factory):
    """``python app.py`` on a free loopback port (shipped checkpoints from FMAE_CHECKPOINTS or
    ./checkpoints); yields its base URL and stops it afterwards."""
    import socket
    import subprocess
    import sys
    import time
    import urllib.request
    from pathlib import Path

    root = Path(__file__).resolve().parents[1]
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    work = tmp_path_factory.mktemp("app-server")
    env = {
        **os.environ,
        "GRADIO_SERVER_NAME": "127.0.0.1",
        "GRADIO_SERVER_PORT": str(port),
        "GRADIO_ANALYTICS_ENABLED": "False",
        "GRADIO_TEMP_DIR": str(work / "gradio"),
        "FMAE_TORCH_THREADS": "1",
    }
    log = open(work / "server.log", "wb")  # noqa: SIM115 - closed below, after the process ends
    proc = subprocess.Popen(
        [sys.executable, "app.py"], cwd=root, env=env, stdout=log, stderr=subprocess.STDOUT
    )
    url = f"http://127.0.0.1:{port}/"
    deadline = time.monotonic() + 120
    try:
        while True:
            if proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"app.py did not start:\n{(work / 'server.log').read_text()[-3000:]}")
            try:
                with urllib.request.urlopen(url, timeout=2) as r:
                    if r.status == 200:
                        break
            except OSError:
                time.sleep(0.1)
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        log.close()
