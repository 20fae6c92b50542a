"""Per-visitor state for the demo, without any UI library.

- ``SessionStore``: a bounded, thread-safe map from a session id to a value, with an idle
  timeout (TTL), a cap on the number of sessions and an optional cap on their total size;
  the least recently used sessions go first.
- ``Session``: one visitor's models (trained or pulled in this browser session, at most
  ``max_models``), which one is current, and the controls of its training run.
- ``ShippedModels``: the read-only checkpoints shipped with the app (``<root>/*/config.json``),
  loaded once per process on first use and shared by every session.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Generic, TypeVar

import numpy as np
import torch

from fmae.errors import CheckpointError, FmaeError
from fmae.models import CONFIG_FILE, Checkpoint, ModelAssets, load_assets, load_checkpoint

V = TypeVar("V")


class SessionStore(Generic[V]):
    """Bounded map ``session id -> value``; values are made by ``factory`` on first ``get``.

    Bounds: sessions idle for more than ``ttl_s`` seconds are dropped; beyond ``max_sessions``
    (or beyond ``max_weight`` in total, where ``weigh`` measures a value) the least recently used
    sessions are dropped, never the one being accessed. ``on_evict(session_id, value)`` runs for
    every dropped session, outside the lock. All methods are thread-safe.
    """

    def __init__(
        self,
        factory: Callable[[], V],
        *,
        max_sessions: int = 200,
        ttl_s: float = 30 * 60,
        weigh: Callable[[V], int] | None = None,
        max_weight: int | None = None,
        on_evict: Callable[[str, V], None] | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if max_sessions < 1 or ttl_s <= 0:
            raise ValueError("max_sessions must be >= 1 and ttl_s > 0")
        self._factory = factory
        self.max_sessions = max_sessions
        self.ttl_s = ttl_s
        self._weigh = weigh
        self.max_weight = max_weight
        self._on_evict = on_evict
        self._clock = clock
        self._lock = threading.Lock()
        self._items: OrderedDict[str, tuple[V, float]] = OrderedDict()  # oldest access first

    def get(self, session_id: str) -> V:
        """The session's value (created if new); marks it as just used and enforces the bounds."""
        if not session_id:
            raise ValueError("session_id must be a non-empty string")
        with self._lock:
            now = self._clock()
            item = self._items.pop(session_id, None)
            value = self._factory() if item is None else item[0]
            self._items[session_id] = (value, now)
            evicted = self._enforce(now, keep=session_id)
        self._evict(evicted)
        return value

    def peek(self, session_id: str) -> V | None:
        """The session's value without creating it or refreshing its idle time."""
        with self._lock:
            item = self._items.get(session_id)
            return None if item is None else item[0]

    def refresh(self, session_id: str) -> None:
        """Re-check the bounds after a session's value grew (e.g. a model was added)."""
        with self._lock:
            evicted = self._enforce(self._clock(), keep=session_id)
        self._evict(evicted)

    def drop(self, session_id: str) -> bool:
        """Remove a session now (tab closed); True if it existed."""
        with self._lock:
            item = self._items.pop(session_id, None)
        if item is not None:
            self._evict([(session_id, item[0])])
        return item is not None

    def prune(self) -> int:
        """Drop idle sessions now; return how many went."""
        with self._lock:
            evicted = self._enforce(self._clock(), keep=None)
        self._evict(evicted)
        return len(evicted)

    def ids(self) -> list[str]:
        """Session ids, least recently used first."""
        with self._lock:
            return list(self._items)

    def __len__(self) -> int:
        with self._lock:
            return len(self._items)

    def __contains__(self, session_id: object) -> bool:
        with self._lock:
            return session_id in self._items

    def total_weight(self) -> int:
        """Sum of ``weigh`` over the sessions (0 without ``weigh``)."""
        with self._lock:
            return self._total_weight()

    def _total_weight(self) -> int:
        return sum(self._weigh(v) for v, _ in self._items.values()) if self._weigh else 0

    def _enforce(self, now: float, keep: str | None) -> list[tuple[str, V]]:
        """Pop expired, then least recently used sessions until within bounds (lock held)."""
        evicted = [
            (sid, v) for sid, (v, seen) in self._items.items() if sid != keep and now - seen > self.ttl_s
        ]
        for sid, _ in evicted:
            del self._items[sid]

        def over() -> bool:
            if len(self._items) > self.max_sessions:
                return True
            return self.max_weight is not None and self._total_weight() > self.max_weight

        while over():
            victim = next((sid for sid in self._items if sid != keep), None)
            if victim is None:
                break  # only the kept session is left: it stays even if it alone is too heavy
            evicted.append((victim, self._items.pop(victim)[0]))
        return evicted

    def _evict(self, evicted: list[tuple[str, V]]) -> None:
        if self._on_evict is None:
            return
        for sid, value in evicted:
            self._on_evict(sid, value)


@dataclass
class ModelEntry:
    """A model the app can use: its checkpoint plus the reference data for explaining inputs."""

    name: str
    checkpoint: Checkpoint
    assets: ModelAssets | None = None  # None: no percentile / PCA comparison available
    source: str = "shipped"  # "shipped", "trained" or "pulled"
    folder: Path | None = None  # where it was saved, if it was

    @property
    def nbytes(self) -> int:
        """Memory held by the weights (and assets), for the store's size bound."""
        weights = sum(p.numel() * p.element_size() for p in self.checkpoint.model.state_dict().values())
        return weights + (self.assets.nbytes if self.assets is not None else 0)


@dataclass
class Session:
    """One visitor's models and training controls. Methods are thread-safe."""

    max_models: int = 3
    models: OrderedDict[str, ModelEntry] = field(default_factory=OrderedDict)
    current: str | None = None  # name of the current model (a session model or a shipped one)
    stop_requested: threading.Event = field(default_factory=threading.Event)
    pending_runs: int = 0  # training runs queued for this session, not started yet
    running: bool = False  # a training run of this session is in progress
    last_input: np.ndarray | None = None  # (28, 28) float32 in [0, 1]: the latest input a model got
    lock: threading.RLock = field(default_factory=threading.RLock, repr=False)

    def add_model(self, name: str, entry: ModelEntry) -> str:
        """Store ``entry`` under ``name`` (made unique with a ``-2``, ``-3``... suffix) and make it
        current; beyond ``max_models`` the oldest model goes. Returns the name used."""
        with self.lock:
            unique, n = name, 1
            while unique in self.models:
                n += 1
                unique = f"{name}-{n}"
            entry.name = unique
            self.models[unique] = entry
            while len(self.models) > self.max_models:
                self.models.popitem(last=False)
            self.current = unique
            return unique

    def model_names(self) -> list[str]:
        """This session's own model names, oldest first."""
        with self.lock:
            return list(self.models)

    def get_model(self, name: str) -> ModelEntry | None:
        with self.lock:
            return self.models.get(name)

    @property
    def nbytes(self) -> int:
        with self.lock:
            return sum(e.nbytes for e in self.models.values())

    def request_stop(self) -> bool:
        """Ask this session's running or queued training to stop; False if there is none."""
        with self.lock:
            if not (self.running or self.pending_runs > 0):
                return False
            self.stop_requested.set()
            return True


class ShippedModels:
    """Checkpoints under ``root`` (each ``root/<name>/config.json``), loaded lazily, once.

    Folders that fail to load are reported by ``errors`` and left out of ``names``; a broken
    ``assets.safetensors`` only costs the percentile and PCA comparison (see ``warnings``).
    """

    def __init__(self, root: str | Path) -> None:
        self.root = Path(root)
        self._lock = threading.Lock()
        self._loaded: dict[str, ModelEntry] = {}
        self.errors: dict[str, str] = {}  # name -> why it cannot be loaded
        self.warnings: dict[str, str] = {}  # name -> why its assets.safetensors was ignored
        self._names = (
            sorted(p.parent.name for p in self.root.glob(f"*/{CONFIG_FILE}")) if self.root.is_dir() else []
        )

    def names(self) -> list[str]:
        """Names of the shipped models (folder names), sorted, without broken ones."""
        return [n for n in self._names if n not in self.errors]

    def get(self, name: str) -> ModelEntry:
        """The loaded model ``name``; raises CheckpointError when it is not shipped or is broken."""
        if name not in self._names:
            raise CheckpointError(f"no shipped model named {name!r}")
        with self._lock:
            if name not in self._loaded:
                folder = self.root / name
                try:
                    ckpt = load_checkpoint(folder)
                except CheckpointError as exc:
                    self.errors[name] = str(exc)
                    raise
                try:
                    assets = load_assets(folder)
                except CheckpointError as exc:  # the model still works, without percentile and PCA
                    self.warnings[name] = str(exc)
                    assets = None
                self._loaded[name] = ModelEntry(name, ckpt, assets, "shipped", folder)
            return self._loaded[name]

    def load_all(self) -> None:
        """Load every shipped model now and run it once (a warm-up; broken ones land in ``errors``)."""
        for name in self.names():
            try:
                model = self.get(name).checkpoint.model
            except CheckpointError:
                continue
            with torch.inference_mode():
                model(torch.zeros(1, 1, 28, 28))  # first calls pay one-time setup costs


def resolve(shipped: ShippedModels, session: Session, name: str | None) -> ModelEntry:
    """The model called ``name`` for this session: its own models first, then the shipped ones.

    ``None`` or "" means the session's current model, else the first shipped one.
    Raises FmaeError naming the available models when ``name`` is unknown.
    """
    name = name or session.current or next(iter(shipped.names()), None)
    if name is None:
        raise FmaeError("No model is available: train one in the Train tab.")
    own = session.get_model(name)
    if own is not None:
        return own
    if name in shipped.names():
        return shipped.get(name)
    known = session.model_names() + shipped.names()
    raise FmaeError(f"Unknown model {name!r}; available: {', '.join(known) or 'none'}.")
