"""Process-local caches: bounded, age-limited on request, and emptied in one call."""

from __future__ import annotations

import pytest

from recaudo.core.common import local_cache
from recaudo.core.common.local_cache import LocalCache, clear_all


def test_least_recently_used_entry_goes_first() -> None:
    cache: LocalCache[str, int] = LocalCache("test", max_entries=2)
    cache.put("a", 1)
    cache.put("b", 2)
    assert cache.get("a") == 1  # "a" is now the most recently used
    cache.put("c", 3)
    assert cache.get("b") is None and cache.get("a") == 1 and cache.get("c") == 3
    assert len(cache) == 2


def test_max_age_is_the_readers_choice(monkeypatch: pytest.MonkeyPatch) -> None:
    now = [1000.0]
    monkeypatch.setattr(local_cache.time, "monotonic", lambda: now[0])
    cache: LocalCache[str, str] = LocalCache("test", max_entries=10)
    cache.put("tenant", "row")
    now[0] += 4
    assert cache.get("tenant", max_age=5) == "row"
    assert cache.get("tenant") == "row"  # no age limit asked
    now[0] += 2
    assert cache.get("tenant", max_age=5) is None
    assert cache.get("tenant") is None, "an entry found too old is dropped"


def test_forget_and_clear_all() -> None:
    one: LocalCache[tuple[int, int], str] = LocalCache("one", max_entries=10)
    two: LocalCache[str, str] = LocalCache("two", max_entries=10)
    one.put((1, 1), "x")
    one.put((2, 1), "z")
    one.forget((1, 1))
    assert one.get((1, 1)) is None and one.get((2, 1)) == "z"
    two.put("k", "v")
    clear_all()
    assert len(one) == 0 and len(two) == 0


def test_a_cache_needs_room() -> None:
    with pytest.raises(ValueError):
        LocalCache("empty", max_entries=0)
