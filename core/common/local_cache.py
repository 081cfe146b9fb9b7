"""Process-local caches for hot read paths, and one switch to empty them all.

Each web process keeps its own small maps (tenants by slug, enabled plugins, rendered statement
fragments). They are safe across processes only because every entry is either keyed by a value
that changes whenever the data does (the statement's account stamp) or read with an explicit
``max_age`` chosen by the caller. Nothing here is shared or authoritative: dropping an entry only
costs a database read.
"""

from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import Hashable
from typing import Generic, TypeVar

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")

_ALL: list[LocalCache[object, object]] = []


class LocalCache(Generic[K, V]):
    """A bounded map, least recently used out first, each entry stamped with when it was stored."""

    def __init__(self, name: str, max_entries: int) -> None:
        if max_entries < 1:
            raise ValueError("a cache needs room for at least one entry")
        self.name = name
        self.max_entries = max_entries
        self._items: OrderedDict[K, tuple[float, V]] = OrderedDict()
        _ALL.append(self)  # type: ignore[arg-type]

    def __len__(self) -> int:
        return len(self._items)

    def get(self, key: K, max_age: float | None = None) -> V | None:
        """The value, or ``None`` when absent or older than ``max_age`` seconds."""
        item = self._items.get(key)
        if item is None:
            return None
        stored_at, value = item
        if max_age is not None and time.monotonic() - stored_at > max_age:
            del self._items[key]
            return None
        self._items.move_to_end(key)
        return value

    def put(self, key: K, value: V) -> None:
        self._items[key] = (time.monotonic(), value)
        self._items.move_to_end(key)
        while len(self._items) > self.max_entries:
            self._items.popitem(last=False)

    def forget(self, key: K) -> None:
        self._items.pop(key, None)

    def clear(self) -> None:
        self._items.clear()


def clear_all() -> None:
    """Empty every cache of this process (tests do it whenever they start a fresh database)."""
    for cache in _ALL:
        cache.clear()
