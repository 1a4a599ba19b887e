"""Writes made by another process show in lists within the cache's bounds.

A second connection to the same SQLite file plays the part of another
server process or the CLI, so the catalog learns nothing of its writes.
"""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import AsyncIterator
from contextlib import closing
from pathlib import Path

import orjson
import pytest

from techcorp_server.core.db import Database
from techcorp_server.core.ids import new_id
from techcorp_server.core.migrate import upgrade_to_head
from techcorp_server.core.pagination import PageRequest
from techcorp_server.products.cache import ListQuery
from techcorp_server.products.service import ProductCatalog

MAX_AGE_SECONDS = 0.2


def books_page(page: int, limit: int = 1) -> ListQuery:
    return ListQuery("books", None, None, PageRequest(page, limit))


def insert_elsewhere(path: Path, count: int) -> None:
    with closing(sqlite3.connect(path)) as connection, connection:
        for _ in range(count):
            connection.execute(
                "INSERT INTO products (id, name, price_cents, category, created_at,"
                " updated_at) VALUES (?, 'Book', 100, 'books', '2026-01-01',"
                " '2026-01-01')",
                (new_id("prd"),),
            )


@pytest.fixture
async def catalog(tmp_path: Path) -> AsyncIterator[ProductCatalog]:
    database = Database(f"sqlite+aiosqlite:///{tmp_path / 'catalog.db'}")
    await upgrade_to_head(database)
    yield ProductCatalog(
        database, cache_entries=16, cache_max_age_seconds=MAX_AGE_SECONDS
    )
    await database.dispose()


async def total_of(catalog: ProductCatalog, query: ListQuery) -> int:
    page = await catalog.list_page(query)
    total: int = orjson.loads(page.body)["total"]
    return total


async def test_total_recounted_under_steady_reads(
    catalog: ProductCatalog, tmp_path: Path
) -> None:
    insert_elsewhere(tmp_path / "catalog.db", 3)
    assert await total_of(catalog, books_page(1)) == 3

    insert_elsewhere(tmp_path / "catalog.db", 5)
    totals = []
    # Each page is read just before the other's copy of the total expires,
    # and with a limit of its own, so no read can reuse a cached page.
    for limit in range(2, 14):
        await asyncio.sleep(0.75 * MAX_AGE_SECONDS)
        totals.append(await total_of(catalog, books_page(1, limit)))

    assert totals[-1] == 8
    assert await total_of(catalog, books_page(8)) == 8


async def test_old_page_not_served_after_idle(
    catalog: ProductCatalog, tmp_path: Path
) -> None:
    assert await total_of(catalog, books_page(1)) == 0

    insert_elsewhere(tmp_path / "catalog.db", 5)
    await asyncio.sleep(3 * MAX_AGE_SECONDS)

    assert await total_of(catalog, books_page(1)) == 5
