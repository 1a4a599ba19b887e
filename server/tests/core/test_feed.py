"""The change feed between two processes, played by two feeds on one database."""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from decimal import Decimal
from pathlib import Path
from typing import ClassVar

import pytest
from sqlalchemy import insert, text

from techcorp_server.core.changes import Change, ChangeListener, ChangeLog
from techcorp_server.core.db import Database, utc_now
from techcorp_server.core.feed import ChangeFeed, feed
from techcorp_server.core.migrate import upgrade_to_head
from techcorp_server.products.schemas import ProductCreate, ProductUpdate
from techcorp_server.products.service import ProductCatalog


class Recorder(ChangeListener):
    def __init__(self) -> None:
        self.seen: list[Change] = []

    def committed(self, changes: Sequence[Change]) -> None:
        self.seen.extend(changes)


class Process:
    """The parts of one server process that the feed connects."""

    started: ClassVar[list[Process]] = []

    def __init__(self, database: Database) -> None:
        Process.started.append(self)
        self.changes = ChangeLog(database)
        self.feed = ChangeFeed(database, self.changes)
        self.recorder = Recorder()
        self.catalog = ProductCatalog(database, cache_entries=8, changes=self.changes)
        for listener in (self.feed, self.recorder):
            self.changes.subscribe(listener)


@pytest.fixture
async def database(tmp_path: Path) -> AsyncIterator[Database]:
    database = Database(f"sqlite+aiosqlite:///{tmp_path / 'feed.db'}")
    await upgrade_to_head(database)
    yield database
    for process in Process.started:
        await process.feed.stop()
    Process.started.clear()
    await database.dispose()


def lamp() -> ProductCreate:
    return ProductCreate.model_validate(
        {"name": "Desk Lamp", "price": Decimal("19.99"), "category": "home"}
    )


async def insert_row(database: Database, seq: int) -> None:
    row = {
        "seq": seq,
        "origin": "elsewhere",
        "type": "product.deleted",
        "data": b'{"id": "prd_%d"}' % seq,
        "created_at": utc_now(),
    }
    async with database.transaction() as session:
        await session.execute(insert(feed), [row])


async def test_other_process_receives_changes(database: Database) -> None:
    first, second = Process(database), Process(database)
    await first.feed.start()
    await second.feed.start()

    product = await first.catalog.create(lamp())
    price = ProductUpdate.model_validate({"price": Decimal("24.50")})
    await first.catalog.update(product["id"], price)

    assert await second.feed.poll() == 2
    assert [change.type for change in second.recorder.seen] == [
        "product.created",
        "product.updated",
    ]
    updated = second.recorder.seen[1]
    assert updated.data["price"] == 24.5
    assert updated.previous is not None
    assert updated.previous["price"] == 19.99
    # A process skips its own changes: its listeners heard them at commit.
    assert await first.feed.poll() == 0
    assert len(first.recorder.seen) == 2


async def test_feed_starts_after_newest_row(database: Database) -> None:
    first, second = Process(database), Process(database)
    await first.feed.start()
    await first.catalog.create(lamp())

    await second.feed.start()

    assert await second.feed.poll() == 0


async def test_late_commit_behind_gap_is_applied(database: Database) -> None:
    process = Process(database)
    await process.feed.start()

    # Sequence 2 is taken by a transaction that commits after 1 and 3.
    await insert_row(database, 1)
    await insert_row(database, 3)
    assert await process.feed.poll() == 2
    await insert_row(database, 2)
    assert await process.feed.poll() == 1

    seen = [change.data["id"] for change in process.recorder.seen]
    assert seen == ["prd_1", "prd_3", "prd_2"]
    assert await process.feed.poll() == 0


async def test_remote_change_clears_list_cache(database: Database) -> None:
    first, second = Process(database), Process(database)
    second.changes.subscribe(second.catalog)
    await second.feed.start()
    page = second.catalog.cache
    await first.catalog.create(lamp())
    generation = page.generation

    await second.feed.poll()

    assert page.generation > generation


async def test_old_rows_are_pruned(
    database: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    process = Process(database)
    await process.feed.start()
    await insert_row(database, 1)
    async with database.transaction() as session:
        await session.execute(
            text("UPDATE change_feed SET created_at = '2000-01-01 00:00:00'")
        )
    monkeypatch.setattr("techcorp_server.core.feed.PRUNE_EVERY_POLLS", 1)

    await process.feed.poll()

    async with database.read() as session:
        remaining = await session.scalar(text("SELECT count(*) FROM change_feed"))
    assert remaining == 0


async def test_numbers_not_reused_after_prune(
    database: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    first, second = Process(database), Process(database)
    await first.feed.start()
    await second.feed.start()
    await first.catalog.create(lamp())
    await second.feed.poll()
    async with database.transaction() as session:
        await session.execute(text("DELETE FROM change_feed"))

    await first.catalog.create(lamp())

    assert await second.feed.poll() == 1
