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
def app_server():
    """``python app.py`` on a free loopback port (shipped checkpoints from FMAE_CHECKPOINTS or
    ./checkpoints), started by benchmarks/appserver.py as the benchmarks start it; yields its base URL."""
    from apptools import free_port, start_server, stop_server

    proc = start_server(free_port(), timeout=120)
    try:
        yield proc.url
    finally:
        stop_server(proc)
