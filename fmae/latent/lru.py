"""A bounded, thread-safe least-recently-used map (the projection cache's memory, the UI's memos)."""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable
from typing import Generic, TypeVar

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")
_MISSING = object()  # "no such key" (None is a value the cache may hold)


class LRUCache(Generic[K, V]):
    """A bounded, thread-safe map: the least recently used entry goes when it is full."""

    def __init__(self, max_items: int) -> None:
        self.max_items = max_items
        self._items: OrderedDict[K, V] = OrderedDict()
        self._lock = threading.Lock()

    def __len__(self) -> int:
        return len(self._items)

    def _find(self, key: K) -> V | object:
        with self._lock:
            if key in self._items:
                self._items.move_to_end(key)
                return self._items[key]
        return _MISSING

    def get(self, key: K) -> V | None:
        """The value under ``key`` (marked recently used), else None."""
        value = self._find(key)
        return None if value is _MISSING else value

    def put(self, key: K, value: V) -> None:
        """Remember ``value``; the least recently used entry goes when full."""
        with self._lock:
            self._items[key] = value
            self._items.move_to_end(key)
            while len(self._items) > self.max_items:
                self._items.popitem(last=False)

    def get_or_make(self, key: K, make: Callable[[], V]) -> V:
        """The value under ``key`` (None included), else ``make()``, remembered. ``make`` runs
        outside the lock, so two callers may both make a missing value; the last one is kept."""
        value = self._find(key)
        if value is _MISSING:
            value = make()
            self.put(key, value)
        return value
