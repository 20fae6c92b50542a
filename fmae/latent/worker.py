"""Projections in a worker process, so that native code cannot take its caller down.

scikit-learn, scipy and numba are native code: a segfault in them ends the whole process, and a
fit can run for minutes. :class:`ProjectionWorker` keeps one warm worker process (loky's
``ProcessPoolExecutor``, which scikit-learn ships through joblib; unlike multiprocessing's spawn
it never re-imports the caller's ``__main__``, so an ``app.py`` that builds its UI at import is
not rebuilt in the worker). Each call has a time limit. A crash or a time limit ends that one
call with a ProjectionError naming the method; the worker is then replaced on the next call.
The codes are checked in the caller first (NumPy only), so unusable codes never reach the worker.
"""

from __future__ import annotations

import contextlib
import importlib
import os
import re
import signal
import threading
import time
import weakref
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import numpy as np

from fmae.errors import FmaeError
from fmae.latent.checks import ProjectionError, check_codes
from fmae.latent.methods import LABELS
from fmae.latent.projection import Projection, map_and_score, project, subsample

T = TypeVar("T")
TIME_LIMIT_S = 300.0  # per call; Isomap of 10,000 codes takes ~45 s here, t-SNE ~35 s
START_LIMIT_S = 120.0  # starting a worker (Python, NumPy, scikit-learn; no torch) takes ~1-3 s here
#: imported when a worker starts, so that no call pays for them
WARM_MODULES = ("sklearn.decomposition", "sklearn.manifold", "sklearn.neighbors", "sklearn.model_selection")
PARENT_CHECK_S = 1.0  # how often a worker checks that its parent is still there
_LIVE: weakref.WeakSet[ProjectionWorker] = weakref.WeakSet()


def _watch_parent(parent: int, every_s: float = PARENT_CHECK_S) -> None:
    """Runs in the worker as it starts: a daemon thread ends the worker once ``parent`` is gone
    (loky's workers outlive a parent killed by a signal, e.g. SIGTERM, holding their memory)."""

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(every_s)
        os._exit(1)

    threading.Thread(target=watch, name="fmae-watch-parent", daemon=True).start()


def _warm_up(modules: tuple[str, ...]) -> int:
    """Runs in the worker: import ``modules``; return the worker's process id."""
    for name in modules:
        importlib.import_module(name)
    return os.getpid()


def _alive(pid: int) -> bool:
    """True while process ``pid`` runs (a zombie, on Linux, counts as ended)."""
    try:
        os.kill(pid, 0)
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except ProcessLookupError:
        return False
    except OSError:  # no /proc here, or no permission to signal it: it exists
        return True
    return state != "Z"


def worker_pids() -> list[int]:
    """Process ids of the running workers of every ProjectionWorker in this process (for tests
    and monitoring: killing one ends only the call it runs)."""
    return [w.pid for w in list(_LIVE) if w.pid is not None]


class ProjectionWorker:
    """One warm worker process that runs projections, a call at a time, each with a time limit.

    Thread-safe: concurrent callers wait their turn (up to their time limit). Use as a context
    manager or call ``close()``; an unused worker starts nothing.
    """

    def __init__(self, time_limit_s: float = TIME_LIMIT_S, start_limit_s: float = START_LIMIT_S) -> None:
        self.time_limit_s = time_limit_s
        self.start_limit_s = start_limit_s
        self._executor: Any = None
        self._pid: int | None = None
        self._lock = threading.Lock()
        _LIVE.add(self)

    @property
    def pid(self) -> int | None:
        """The worker's process id, None before it starts (or after a crash, until the next call)."""
        return self._pid

    def __enter__(self) -> ProjectionWorker:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def start(self) -> int:
        """Start the worker now if it is not running (else calls start it); return its pid."""
        with self._lock:
            return self._ensure()

    def close(self) -> None:
        """Stop the worker process (killing a running call); a later call starts a new one."""
        self._discard()

    def project(
        self, codes: np.ndarray, method: str, seed: int = 0, time_limit_s: float | None = None
    ) -> Projection:
        """``fmae.latent.project`` in the worker. Raises what ``project`` raises, and ProjectionError
        naming the method when the worker crashes or the time limit passes."""
        check_codes(codes)  # here, so unusable codes cost no round trip
        label = f"{LABELS.get(method, method)} of {len(codes)} codes"
        return self.call(project, np.asarray(codes), method, seed, label=label, time_limit_s=time_limit_s)

    def compute(
        self,
        codes: np.ndarray,
        labels: np.ndarray,
        method: str,
        n: int,
        seed: int = 0,
        time_limit_s: float | None = None,
    ) -> Projection:
        """``fmae.latent.compute`` in the worker: map and score ``n`` seeded, class-balanced rows of
        ``codes`` (only those rows travel). Raises as ``project`` does (see there)."""
        labels = np.asarray(labels, np.int64)
        indices = subsample(labels, n, seed)
        rows = np.asarray(codes)[indices]
        check_codes(rows)
        label = f"{LABELS.get(method, method)} of {n} codes"
        projection = self.call(
            map_and_score, rows, labels[indices], method, seed, label=label, time_limit_s=time_limit_s
        )
        projection.indices = indices
        return projection

    def call(self, fn: Callable[..., T], *args: Any, label: str, time_limit_s: float | None = None) -> T:
        """``fn(*args)`` in the worker (``fn`` and ``args`` must pickle; ``label`` names the work in
        messages). Our errors (FmaeError) come back as raised; any other exception, a crash of the
        worker, or more than ``time_limit_s`` (default: the worker's) raise ProjectionError."""
        limit = self.time_limit_s if time_limit_s is None else time_limit_s
        if not self._lock.acquire(timeout=limit):
            raise ProjectionError(f"{label}: the projection worker stayed busy for {limit:g} s; try again.")
        try:
            future = self._submit(fn, args, label)
            return self._result(future, label, limit)
        finally:
            self._lock.release()

    def _submit(self, fn: Callable[..., T], args: tuple, label: str) -> Any:
        from joblib.externals.loky import BrokenProcessPool

        for attempt in (1, 2):  # a worker that died while idle is replaced once
            self._ensure()
            try:
                return self._executor.submit(fn, *args)
            except (BrokenProcessPool, RuntimeError):
                self._discard()
                if attempt == 2:
                    raise ProjectionError(f"{label}: the projection worker cannot take work.") from None
        raise AssertionError("unreachable")

    def _result(self, future: Any, label: str, limit: float) -> Any:
        from concurrent.futures import TimeoutError as FutureTimeout

        from joblib.externals.loky import BrokenProcessPool

        try:
            return future.result(timeout=limit)
        except FutureTimeout:
            self._discard()  # kills the runaway computation with its process
            raise ProjectionError(
                f"{label} took longer than the {limit:g} s time limit and was stopped; "
                "try fewer points or another method."
            ) from None
        except BrokenProcessPool as exc:
            self._discard()
            found = re.search(r"SIG[A-Z]+", str(exc))
            how = found.group(0) if found else "it ended unexpectedly"
            raise ProjectionError(
                f"{label}: the projection worker crashed ({how}). The server is fine; this map could not "
                "be made, and the next one gets a fresh worker."
            ) from None
        except FmaeError:
            raise
        except Exception as exc:  # noqa: BLE001 - anything else the worker raised or could not send back
            raise ProjectionError(f"{label} failed ({type(exc).__name__}: {str(exc)[:300]}).") from None

    def _ensure(self) -> int:
        """Start the worker if there is none (caller holds the lock); return its pid."""
        if self._executor is not None and self._pid is not None:
            if _alive(self._pid):
                return self._pid
            self._discard()  # it died while idle (killed, out of memory): not this call's fault
        from joblib.externals.loky import ProcessPoolExecutor

        executor = ProcessPoolExecutor(max_workers=1, initializer=_watch_parent, initargs=(os.getpid(),))
        try:
            pid = executor.submit(_warm_up, WARM_MODULES).result(timeout=self.start_limit_s)
        except Exception as exc:  # noqa: BLE001 - a time limit, a crash, an import error: one message
            executor.shutdown(wait=False, kill_workers=True)
            reason = f"{type(exc).__name__}: {exc}"[:300]
            raise ProjectionError(f"The projection worker could not start ({reason}).") from None
        self._executor, self._pid = executor, pid
        return pid

    def _discard(self) -> None:
        """Kill the worker process (if any) now, and forget it."""
        executor, pid, self._executor, self._pid = self._executor, self._pid, None, None
        if pid is not None:
            with contextlib.suppress(OSError):  # already gone (a crash)
                os.kill(pid, signal.SIGKILL)  # at once: loky's own shutdown kills asynchronously
        if executor is not None:
            executor.shutdown(wait=False, kill_workers=True)
