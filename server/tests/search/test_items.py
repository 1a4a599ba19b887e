"""The cache of recently shown hits."""

from __future__ import annotations

import time

from techcorp_server.search.items import RecentItems


def test_recent_items_expire() -> None:
    recent = RecentItems(max_entries=10, max_age_seconds=0.05)
    recent.put_all({"prd_1": {"id": "prd_1"}}, recent.generation)

    assert recent.get("prd_1") == {"id": "prd_1"}
    time.sleep(0.06)
    assert recent.get("prd_1") is None
    assert len(recent) == 0


def test_recent_items_drop_least_recently_used() -> None:
    recent = RecentItems(max_entries=2)
    recent.put_all({"a": {"id": "a"}, "b": {"id": "b"}}, recent.generation)
    assert recent.get("a") is not None

    recent.put_all({"c": {"id": "c"}}, recent.generation)

    assert recent.get("b") is None
    assert recent.get("a") is not None
    assert recent.get("c") is not None


def test_read_before_write_is_not_stored() -> None:
    recent = RecentItems()
    generation = recent.generation

    recent.discard("prd_1")
    recent.put_all({"prd_1": {"name": "old"}}, generation)

    assert recent.get("prd_1") is None


def test_zero_entries_stores_nothing() -> None:
    recent = RecentItems(max_entries=0)

    recent.put_all({"prd_1": {}}, recent.generation)

    assert len(recent) == 0
