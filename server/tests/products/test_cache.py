"""The list page cache: LRU order, bounds, expiry, and the stale-write guard."""

from __future__ import annotations

import time

import pytest

from techcorp_server.core.pagination import PageRequest
from techcorp_server.products.cache import ListPageCache, ListQuery, RenderedPage


def query(page: int = 1, category: str | None = None) -> ListQuery:
    return ListQuery(
        category=category, min_cents=None, max_cents=None, page=PageRequest(page, 20)
    )


def rendered(body: bytes = b"{}", age_seconds: float = 0.0) -> RenderedPage:
    return RenderedPage(body=body, total=1, rendered_at=time.monotonic() - age_seconds)


def test_cache_returns_stored_page() -> None:
    cache = ListPageCache(max_entries=4)
    page = rendered(b'{"data":[]}')

    cache.put(query(), page, cache.generation)

    assert cache.get(query()) is page
    assert cache.get(query(page=2)) is None


def test_equal_queries_share_entry() -> None:
    cache = ListPageCache(max_entries=4)
    first = ListQuery("books", 500, None, PageRequest(1, 20))
    same = ListQuery("books", 500, None, PageRequest(1, 20))

    cache.put(first, rendered(), cache.generation)

    assert cache.get(same) is not None
    assert len(cache) == 1


def test_cache_evicts_least_recently_used() -> None:
    cache = ListPageCache(max_entries=2)
    cache.put(query(1), rendered(), cache.generation)
    cache.put(query(2), rendered(), cache.generation)
    assert cache.get(query(1)) is not None

    cache.put(query(3), rendered(), cache.generation)

    assert len(cache) == 2
    assert cache.get(query(2)) is None
    assert cache.get(query(1)) is not None
    assert cache.get(query(3)) is not None


def test_zero_entries_turns_cache_off() -> None:
    cache = ListPageCache(max_entries=0)

    cache.put(query(), rendered(), cache.generation)

    assert cache.get(query()) is None
    assert len(cache) == 0


def test_negative_entries_rejected() -> None:
    with pytest.raises(ValueError, match="max_entries"):
        ListPageCache(max_entries=-1)


def test_clear_empties_cache() -> None:
    cache = ListPageCache(max_entries=4)
    cache.put(query(), rendered(), cache.generation)

    cache.clear()

    assert cache.get(query()) is None
    assert len(cache) == 0


def test_page_read_before_clear_not_stored() -> None:
    cache = ListPageCache(max_entries=4)
    generation = cache.generation

    # A write commits and clears the cache while the read is in flight.
    cache.clear()
    cache.put(query(), rendered(b"stale"), generation)

    assert cache.get(query()) is None


def test_expired_page_read_again() -> None:
    cache = ListPageCache(max_entries=4, max_age_seconds=5.0)
    cache.put(query(1), rendered(age_seconds=6.0), cache.generation)
    cache.put(query(2), rendered(age_seconds=1.0), cache.generation)

    assert cache.get(query(1)) is None
    assert cache.get(query(2)) is not None
    assert cache.get_stale(query(1)) is not None


def test_clear_drops_stale_pages() -> None:
    cache = ListPageCache(max_entries=4, max_age_seconds=5.0)
    cache.put(query(1), rendered(age_seconds=6.0), cache.generation)

    cache.clear()

    assert cache.get_stale(query(1)) is None


def test_pages_never_expire_without_max_age() -> None:
    cache = ListPageCache(max_entries=4)

    cache.put(query(), rendered(age_seconds=86_400.0), cache.generation)

    assert cache.get(query()) is not None
