"""Reading what a server under test stored, in SQLite or PostgreSQL."""

from __future__ import annotations

import asyncio
import re
import sqlite3
from concurrent.futures import ThreadPoolExecutor
from contextlib import closing
from typing import Any

import asyncpg

Row = tuple[Any, ...]


def fetch_all(database_url: str, query: str, *parameters: Any) -> list[Row]:
    """Run one query with `?` placeholders against the database at `database_url`."""
    if database_url.startswith("sqlite"):
        path = database_url.split(":///", 1)[1]
        with closing(sqlite3.connect(path)) as connection:
            return [tuple(row) for row in connection.execute(query, parameters)]
    return _fetch_from_postgres(database_url, query, parameters)


def _fetch_from_postgres(
    database_url: str, query: str, parameters: tuple[Any, ...]
) -> list[Row]:
    numbers = iter(range(1, len(parameters) + 1))
    numbered = re.sub(r"\?", lambda _: f"${next(numbers)}", query)
    url = re.sub(r"^postgresql\+asyncpg:", "postgresql:", database_url)

    async def fetch() -> list[Row]:
        connection = await asyncpg.connect(url)
        try:
            return [tuple(row) for row in await connection.fetch(numbered, *parameters)]
        finally:
            await connection.close()

    # A thread of its own has no running event loop, even when the caller's
    # thread has one.
    with ThreadPoolExecutor(max_workers=1) as thread:
        return thread.submit(asyncio.run, fetch()).result()
