"""Helpers shared by the tests that run the app, in this process or as ``python app.py``
(the latter started by ``benchmarks/appserver.py``, as the benchmarks start it)."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from ui.state import AppState

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))
from appserver import free_port, start_server, stop_server

__all__ = ["free_port", "serve_in_process", "start_server", "stop_server"]


@contextmanager
def serve_in_process(checkpoints: Path, session_root: Path) -> Iterator[tuple[str, AppState]]:
    """Launch ``app.build_demo`` in this process on a free port; yield (url, AppState)."""
    import app as app_module

    state = AppState(checkpoints, session_root=session_root)
    demo = app_module.build_demo(state)
    demo.queue().launch(
        prevent_thread_lock=True, server_name="127.0.0.1", server_port=free_port(), quiet=True, ssr_mode=False
    )
    try:
        yield demo.local_url, state
    finally:
        demo.close()
