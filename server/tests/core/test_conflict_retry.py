"""Write transactions that PostgreSQL rolls back for a deadlock run again."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator

import pytest
import sqlalchemy.exc
from sqlalchemy import text

from techcorp_server.core.db import Database, retry_on_conflict, sqlstate_of
from techcorp_server.settings import Settings

from ..utils.postgres_server import PostgresServer


@pytest.fixture(scope="module")
def postgres() -> Iterator[PostgresServer]:
    server = PostgresServer()
    server.start()
    yield server
    server.stop()


@pytest.fixture
async def database(postgres: PostgresServer) -> AsyncIterator[Database]:
    url = Settings(database_url=postgres.create_database()).database_url
    database = Database(url)
    async with database.transaction() as session:
        await session.execute(text("CREATE TABLE pair (id int PRIMARY KEY, n int)"))
        await session.execute(text("INSERT INTO pair VALUES (1, 0), (2, 0)"))
    yield database
    await database.dispose()


async def lock_both(
    database: Database, first: int, second: int, both_hold: asyncio.Barrier
) -> None:
    """Lock row `first`, wait for the other transaction, then lock `second`."""
    async with database.transaction() as session:
        lock = "UPDATE pair SET n = n + 1 WHERE id = :id"
        await session.execute(text(lock), {"id": first})
        # Only the first run meets at the barrier; a rerun goes straight on.
        if both_hold.n_waiting < 2 and not both_hold.broken:
            try:
                await asyncio.wait_for(both_hold.wait(), timeout=5)
            except TimeoutError:
                await both_hold.abort()
        await session.execute(text(lock), {"id": second})


async def test_deadlock_without_retry_fails(database: Database) -> None:
    both_hold = asyncio.Barrier(2)

    results = await asyncio.gather(
        lock_both(database, 1, 2, both_hold),
        lock_both(database, 2, 1, both_hold),
        return_exceptions=True,
    )

    errors = [result for result in results if isinstance(result, BaseException)]
    assert len(errors) == 1
    assert isinstance(errors[0], sqlalchemy.exc.DBAPIError)
    assert sqlstate_of(errors[0]) == "40P01"


async def test_deadlocked_transaction_runs_again(database: Database) -> None:
    both_hold = asyncio.Barrier(2)

    await asyncio.gather(
        retry_on_conflict(lambda: lock_both(database, 1, 2, both_hold)),
        retry_on_conflict(lambda: lock_both(database, 2, 1, both_hold)),
    )

    async with database.read() as session:
        counts = (await session.execute(text("SELECT n FROM pair"))).scalars().all()
    # Both transactions committed, each adding one to both rows.
    assert sorted(counts) == [2, 2]
