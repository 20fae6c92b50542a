"""Start ``python app.py`` (or another server command) on a free loopback port and wait for its
first HTTP 200: the one helper the benchmarks and the tests share.

    proc = start_server(free_port())          # returns once GET / answers 200
    proc.url, proc.startup_s, proc.log        # base URL, seconds to the first 200, its output
    stop_server(proc)                         # terminate (kill after 10 s), remove its folders
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
POLL_S = 0.02  # short, so the cold-start time measured by api_latency.py is not rounded up


def free_port() -> int:
    """A free loopback TCP port."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_server(
    port: int, env: dict[str, str | None] | None = None, cmd: list[str] | None = None, timeout: float = 180.0
) -> subprocess.Popen:
    """``python app.py`` (or ``cmd``) on ``port`` with one torch thread and its own temporary folders
    (removed by ``stop_server``); returns once ``GET /`` answers HTTP 200.

    ``env`` adds to (a value of None: removes from) the environment. The process gets the attributes
    ``url`` (base URL), ``startup_s`` (seconds from start to the first 200), ``log`` (its stdout and
    stderr file) and ``tmp``. Raises RuntimeError with the end of its output if it exits first or
    gives no 200 within ``timeout`` seconds.
    """
    tmp = Path(tempfile.mkdtemp(prefix="fmae-server-"))
    (tmp / "tmp").mkdir()
    full = {
        **os.environ, "GRADIO_SERVER_NAME": "127.0.0.1", "GRADIO_SERVER_PORT": str(port),
        "GRADIO_ANALYTICS_ENABLED": "False", "GRADIO_TEMP_DIR": str(tmp / "gradio"),
        "TMPDIR": str(tmp / "tmp"), "FMAE_TORCH_THREADS": "1",
    }  # fmt: skip
    for key, value in (env or {}).items():
        if value is None:
            full.pop(key, None)
        else:
            full[key] = value
    log = open(tmp / "server.log", "wb")  # noqa: SIM115 - closed by stop_server
    cmd = cmd or [sys.executable, "app.py"]
    t0 = time.perf_counter()
    proc = subprocess.Popen(cmd, cwd=ROOT, env=full, stdout=log, stderr=subprocess.STDOUT)
    proc.tmp, proc.log, proc.url = tmp, log, f"http://127.0.0.1:{port}/"  # type: ignore[attr-defined]
    while True:
        if proc.poll() is not None or time.perf_counter() - t0 > timeout:
            stop_server(proc)
            raise RuntimeError(f"{cmd} did not start:\n{(tmp / 'server.log').read_text()[-3000:]}")
        try:
            with urllib.request.urlopen(proc.url, timeout=2) as r:  # type: ignore[attr-defined]
                if r.status == 200:
                    proc.startup_s = time.perf_counter() - t0  # type: ignore[attr-defined]
                    return proc
        except OSError:
            time.sleep(POLL_S)


def stop_server(proc: subprocess.Popen) -> None:
    """Terminate the server (kill it if it does not exit within 10 s) and remove its folders."""
    proc.terminate()
    try:
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
    proc.log.close()  # type: ignore[attr-defined]
    shutil.rmtree(proc.tmp, ignore_errors=True)  # type: ignore[attr-defined]
