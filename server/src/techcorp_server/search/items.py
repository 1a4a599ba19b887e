"""Recently shown search hits, kept rendered so a repeated hit skips the database.

The search index finds which items match, but the items themselves (as
the API renders them) are read from the database, 20 at a time, which
costs more than the search. Popular queries show the same items again and again,
so a bounded cache keeps them for `max_age_seconds`.

A write through this process removes the item at once. A write by another
process shows here within `max_age_seconds`, the same bound the product list
cache gives.
"""

from __future__ import annotations

import time
from collections import OrderedDict
from typing import Any

MAX_ENTRIES = 20_000
"""Items kept; about 600 bytes each for a product with a short description."""

MAX_AGE_SECONDS = 2.0


class RecentItems:
    """Rendered items by id, least recently used first out.

    `generation` changes on every `discard`. Items read from the database
    are stored only if no discard happened since the read began, so a read
    that overlaps a write cannot put the old item back after the write.
    """

    def __init__(
        self, max_entries: int = MAX_ENTRIES, max_age_seconds: float = MAX_AGE_SECONDS
    ) -> None:
        self.max_entries = max_entries
        self.max_age_seconds = max_age_seconds
        self.generation = 0
        self._items: OrderedDict[str, tuple[dict[str, Any], float]] = OrderedDict()

    def __len__(self) -> int:
        return len(self._items)

    def get(self, item_id: str) -> dict[str, Any] | None:
        entry = self._items.get(item_id)
        if entry is None:
            return None
        item, stored_at = entry
        if time.monotonic() - stored_at > self.max_age_seconds:
            del self._items[item_id]
            return None
        self._items.move_to_end(item_id)
        return item

    def put_all(self, items: dict[str, dict[str, Any]], generation: int) -> None:
        """Store items read while `generation` was current, if it still is."""
        if generation != self.generation or self.max_entries == 0:
            return
        now = time.monotonic()
        for item_id, item in items.items():
            self._items[item_id] = (item, now)
            self._items.move_to_end(item_id)
        while len(self._items) > self.max_entries:
            self._items.popitem(last=False)

    def discard(self, item_id: str) -> None:
        self.generation += 1
        self._items.pop(item_id, None)
