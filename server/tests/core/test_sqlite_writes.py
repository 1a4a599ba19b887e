"""SQLite writes run on the event loop's thread and wait for locks off it."""

from __future__ import annotations

import asyncio
import sqlite3
import threading
import time
from collections.abc import AsyncIterator
from pathlib import Path

import aiosqlite
import pytest
from sqlalchemy import text

from techcorp_server.core import db
from techcorp_server.core.db import Database

LOCK_SECONDS = 0.5


@pytest.fixture
async def database(tmp_path: Path) -> AsyncIterator[Database]:
    database = Database(f"sqlite+aiosqlite:///{tmp_path / 'writes.db'}")
    async with database.transaction() as session:
        await session.execute(text("CREATE TABLE notes (id INTEGER PRIMARY KEY, body)"))
    yield database
    await database.dispose()


def count_driver_calls(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    calls: list[str] = []
    queue_call = aiosqlite.Connection._execute

    async def counted(
        self: aiosqlite.Connection, fn: object, *args: object, **kwargs: object
    ) -> object:
        calls.append(getattr(fn, "__name__", repr(fn)))
        return await queue_call(self, fn, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(aiosqlite.Connection, "_execute", counted)
    return calls


async def test_write_transaction_makes_no_driver_calls(
    database: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls = count_driver_calls(monkeypatch)

    async with database.transaction() as session:
        await session.execute(text("INSERT INTO notes (body) VALUES ('a'), ('b')"))
        rows = (await session.execute(text("SELECT body FROM notes"))).all()

    assert [row.body for row in rows] == ["a", "b"]
    assert calls == []


async def test_checkpoint_runs_after_commits(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The write connection never checkpoints itself, so the WAL reaches the
    database file only through `Database.checkpoint`, every few commits."""
    monkeypatch.setattr(db, "CHECKPOINT_EVERY_COMMITS", 5)
    database_file = tmp_path / "checkpoints.db"
    database = Database(f"sqlite+aiosqlite:///{database_file}")
    try:
        async with database.transaction() as session:
            await session.execute(text("CREATE TABLE notes (body)"))
        size_before = database_file.stat().st_size
        for _ in range(3):
            async with database.transaction() as session:
                await session.execute(
                    text("INSERT INTO notes VALUES (randomblob(100000))")
                )
        assert database._checkpoint is None
        assert database_file.stat().st_size == size_before

        async with database.transaction() as session:
            await session.execute(text("INSERT INTO notes VALUES ('fifth')"))
        assert database._checkpoint is not None
        await database._checkpoint

        assert database_file.stat().st_size > size_before + 3 * 100_000
    finally:
        await database.dispose()


async def test_read_statement_is_one_driver_call(
    database: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    async with database.transaction() as session:
        await session.execute(text("INSERT INTO notes (body) VALUES ('a')"))
    # Open the read connection first, so its setup is not counted.
    async with database.read() as session:
        await session.scalar(text("SELECT 1"))
    calls = count_driver_calls(monkeypatch)

    async with database.read() as session:
        bodies = list(await session.scalars(text("SELECT body FROM notes")))

    assert bodies == ["a"]
    # One call each for BEGIN and the SELECT, where SQLAlchemy's adapter
    # makes three or four per statement.
    assert calls.count("_run_statement") == 2


async def insert_then_fail(database: Database) -> None:
    async with database.transaction() as session:
        await session.execute(text("INSERT INTO notes (body) VALUES ('gone')"))
        raise RuntimeError("fail the write")


async def test_rolled_back_write_leaves_nothing(database: Database) -> None:
    with pytest.raises(RuntimeError):
        await insert_then_fail(database)

    async with database.read() as session:
        count = await session.scalar(text("SELECT count(*) FROM notes"))
    assert count == 0


async def test_write_waits_for_other_process_lock(
    database: Database, tmp_path: Path
) -> None:
    """A write waits while another connection holds the lock, and the event
    loop keeps running meanwhile."""
    locked = threading.Event()

    def hold_lock() -> None:
        other = sqlite3.connect(tmp_path / "writes.db", isolation_level=None)
        other.execute("BEGIN IMMEDIATE")
        other.execute("INSERT INTO notes (body) VALUES ('other')")
        locked.set()
        time.sleep(LOCK_SECONDS)
        other.execute("COMMIT")
        other.close()

    holder = threading.Thread(target=hold_lock)
    holder.start()
    await asyncio.to_thread(locked.wait)

    ticks = 0

    async def tick() -> None:
        nonlocal ticks
        while True:
            await asyncio.sleep(0.01)
            ticks += 1

    ticker = asyncio.create_task(tick())
    started = time.monotonic()
    async with database.transaction() as session:
        await session.execute(text("INSERT INTO notes (body) VALUES ('mine')"))
    waited = time.monotonic() - started
    ticker.cancel()
    holder.join()

    async with database.read() as session:
        bodies = list(await session.scalars(text("SELECT body FROM notes ORDER BY id")))
    assert bodies == ["other", "mine"]
    assert waited >= LOCK_SECONDS * 0.5
    # The loop ran about every 10 ms while the write waited.
    assert ticks >= 10


async def test_write_through_async_connection(database: Database) -> None:
    async with database.write_engine.begin() as connection:
        await connection.execute(text("INSERT INTO notes (body) VALUES ('core')"))

    async with database.read() as session:
        bodies = list(await session.scalars(text("SELECT body FROM notes")))
    assert bodies == ["core"]
