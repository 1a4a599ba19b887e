"""An in-memory cache of rendered product list pages.

`GET /v2/products` is the hottest endpoint, and most calls repeat a few
queries (the first page, a category). Keeping the ready JSON body of each
page turns such a call into a dictionary lookup.

Every product write made through the catalog clears the whole cache, because
a write can move a product into or out of any page of any filter and no
narrower invalidation is exact.

The cache belongs to one process. A write made by another process (a second
worker, or the CLI loading demo data) clears nothing here, so its pages stay
stale until `max_age_seconds` passes.
"""

from __future__ import annotations

import time
from collections import OrderedDict
from dataclasses import dataclass
from typing import NamedTuple

from ..core.pagination import PageRequest

STALE_GRACE_FACTOR = 2
"""An expired page is served while it is read again up to this many max ages."""

KnownTotal = tuple[int, float]
"""A filter's total and the `time.monotonic()` when it was counted."""

ListFilter = tuple[str | None, int | None, int | None]
"""Category and price bounds in cents: what a list's total depends on."""


class ListQuery(NamedTuple):
    """A product list request, normalised so equal requests share an entry.

    `category` is lower-case and the price bounds are whole cents, so
    `min_price=5` and `min_price=5.00` are the same query. It is the key of
    every cache lookup, and a named tuple hashes several times faster than
    a frozen dataclass.
    """

    category: str | None
    min_cents: int | None
    max_cents: int | None
    page: PageRequest

    @property
    def filter(self) -> ListFilter:
        return (self.category, self.min_cents, self.max_cents)


@dataclass(frozen=True, slots=True)
class RenderedPage:
    """The JSON body of one list page, and the total the `Link` header needs."""

    body: bytes
    total: int
    rendered_at: float
    """`time.monotonic()` when the page was read from the database."""
    total_counted_at: float | None = None
    """When `total` was counted, if earlier than `rendered_at` (a known total)."""

    @property
    def counted_at(self) -> float:
        if self.total_counted_at is None:
            return self.rendered_at
        return self.total_counted_at


class ListPageCache:
    """Least recently used list pages, at most `max_entries` of them.

    `max_entries=0` turns the cache off. With `max_age_seconds` set, older
    pages are read again, which bounds how stale a page can be when another
    process writes to the same database.

    `generation` changes on every `clear()`. A page read from the database
    is stored only if no clear happened since its read began, so a read that
    overlaps a write cannot put its stale page back after the write.

    The total of each filter is kept too, under the same rules, so reading
    another page of a known filter skips the `count(*)`.
    """

    def __init__(self, max_entries: int, max_age_seconds: float | None = None) -> None:
        if max_entries < 0:
            raise ValueError(f"max_entries must be 0 or more, got {max_entries}")
        self.max_entries = max_entries
        self.max_age_seconds = max_age_seconds
        self.generation = 0
        self._pages: OrderedDict[ListQuery, RenderedPage] = OrderedDict()
        self._totals: OrderedDict[ListFilter, tuple[int, float]] = OrderedDict()

    def __len__(self) -> int:
        return len(self._pages)

    def get(self, query: ListQuery) -> RenderedPage | None:
        """Return the page if it is younger than `max_age_seconds`."""
        page = self._pages.get(query)
        if page is None:
            return None
        # `_is_too_old`, written out: this runs on every cached list request.
        max_age = self.max_age_seconds
        if max_age is not None and time.monotonic() - page.rendered_at > max_age:
            return None
        self._pages.move_to_end(query)
        return page

    def get_stale(self, query: ListQuery) -> RenderedPage | None:
        """Return an expired page that is less than twice the maximum age old.

        Every write through the catalog clears the cache, so a stored page is
        never older than the last such write. It can only have missed writes
        of other processes, for at most twice the maximum age.
        """
        page = self._pages.get(query)
        if page is None:
            return None
        if self.max_age_seconds is not None:
            age = time.monotonic() - page.rendered_at
            if age > STALE_GRACE_FACTOR * self.max_age_seconds:
                return None
        return page

    def put(self, query: ListQuery, page: RenderedPage, generation: int) -> None:
        """Store a page read while `generation` was current, if it still is."""
        if self.max_entries == 0 or generation != self.generation:
            return
        self._pages[query] = page
        self._pages.move_to_end(query)
        if len(self._pages) > self.max_entries:
            self._pages.popitem(last=False)

    def get_total(self, list_filter: ListFilter) -> KnownTotal | None:
        """Return a filter's total and when it was counted, while fresh."""
        entry = self._totals.get(list_filter)
        if entry is None:
            return None
        if self._is_too_old(entry[1]):
            del self._totals[list_filter]
            return None
        return entry

    def put_total(
        self, list_filter: ListFilter, page: RenderedPage, generation: int
    ) -> None:
        if self.max_entries == 0 or generation != self.generation:
            return
        # The count's own time, not the page's: a total carried over from an
        # earlier count must still expire when that count does.
        self._totals[list_filter] = (page.total, page.counted_at)
        self._totals.move_to_end(list_filter)
        if len(self._totals) > self.max_entries:
            self._totals.popitem(last=False)

    def clear(self) -> None:
        self.generation += 1
        self._pages.clear()
        self._totals.clear()

    def _is_too_old(self, rendered_at: float) -> bool:
        if self.max_age_seconds is None:
            return False
        return time.monotonic() - rendered_at > self.max_age_seconds
