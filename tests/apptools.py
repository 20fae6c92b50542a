"""Helpers shared by the tests that run the app in this process."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from ui.state import AppState


def free_port() -> int:
    """A loopback port nobody listens on right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


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
