"""Changes shared between server processes, through the database.

Each process keeps state in memory that follows the writes: list caches, the
search index, cached roles. A write made through another process must reach
that state too. `ChangeFeed` appends every recorded change to the
`change_feed` table inside the write transaction. Each process reads the
rows of the other processes in sequence order and hands them to its
listeners' `committed` hook, as if the change had been made locally.

Reading by sequence number alone could skip a row: on PostgreSQL a
transaction that took sequence 10 can commit after one that took 11. A
process that reads 11 while 10 is missing remembers the gap and looks for it
again on every poll, for `GAP_SECONDS`. A transaction that takes longer than
that to commit after its insert is not seen by the other processes.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import secrets
import time
from collections.abc import Sequence
from datetime import timedelta
from typing import Any

import orjson
from sqlalchemy import delete, func, insert, select
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncSession

from .changes import Change, ChangeListener, ChangeLog
from .db import Database, utc_now
from .feed_models import FeedEntry
from .handlers import log_background_failure

logger = logging.getLogger(__name__)

feed = FeedEntry.metadata.tables["change_feed"]

POLL_SECONDS = 0.2
"""How often a process reads the changes of the others."""

BATCH_ROWS = 1000
"""Rows read per query; a poll keeps reading until it has them all."""

GAP_SECONDS = 10.0
"""How long a missing sequence number is looked for again."""

KEEP = timedelta(hours=1)
"""How long rows stay in the table; a process that stops longer reads the
database again at its next start."""

PRUNE_EVERY_POLLS = 300


class ChangeFeed(ChangeListener):
    def __init__(
        self,
        database: Database,
        changes: ChangeLog,
        poll_seconds: float = POLL_SECONDS,
    ) -> None:
        self.database = database
        self.changes = changes
        self.poll_seconds = poll_seconds
        self.origin = secrets.token_hex(8)
        self.last_seq = 0
        self._gaps: dict[int, float] = {}
        self._task: asyncio.Task[None] | None = None
        self._polls = 0

    async def in_transaction(
        self, session: AsyncSession, changes: Sequence[Change]
    ) -> None:
        rows = [
            {
                "origin": self.origin,
                "type": change.type,
                "data": orjson.dumps(change.data),
                "previous": (
                    None if change.previous is None else orjson.dumps(change.previous)
                ),
                "created_at": utc_now(),
            }
            for change in changes
        ]
        await session.execute(insert(feed), rows)

    async def start(self) -> None:
        """Start following from the newest row, then poll in the background.

        Call it before reading the state that the listeners keep, so that a
        change committed while they read is applied again rather than lost.
        """
        statement = select(func.coalesce(func.max(feed.c.seq), 0))
        self.last_seq = await self.database.run_read(
            lambda connection: int(connection.scalar(statement) or 0)
        )
        self._task = asyncio.create_task(self._follow(), name="change feed")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    async def _follow(self) -> None:
        failing = False
        while True:
            await asyncio.sleep(self.poll_seconds)
            try:
                await self.poll()
            except Exception as exc:
                # The database may be away for a while, and the next poll
                # retries, so one line per outage is enough.
                if not failing:
                    log_background_failure(
                        logger, "reading the change feed failed", exc
                    )
                failing = True
                continue
            if failing:
                logger.info("reading the change feed again")
            failing = False

    async def poll(self) -> int:
        """Apply the other processes' new changes; return how many there were."""
        applied = 0
        while True:
            rows = await self.database.run_read(self._read_new)
            applied += self._apply(rows)
            if len(rows) < BATCH_ROWS:
                break
        if self._gaps:
            applied += self._apply(await self.database.run_read(self._read_gaps))

        self._polls += 1
        if self._polls % PRUNE_EVERY_POLLS == 0:
            await self._prune()
        return applied

    def _read_new(self, connection: Connection) -> list[Any]:
        statement = (
            select(feed)
            .where(feed.c.seq > self.last_seq)
            .order_by(feed.c.seq)
            .limit(BATCH_ROWS)
        )
        return list(connection.execute(statement))

    def _read_gaps(self, connection: Connection) -> list[Any]:
        statement = select(feed).where(feed.c.seq.in_(list(self._gaps)))
        return list(connection.execute(statement))

    def _apply(self, rows: Sequence[Any]) -> int:
        now = time.monotonic()
        for gap, seen_at in list(self._gaps.items()):
            if now - seen_at > GAP_SECONDS:
                del self._gaps[gap]

        remote: list[Change] = []
        for row in rows:
            self._gaps.pop(row.seq, None)
            for missing in range(self.last_seq + 1, row.seq):
                self._gaps[missing] = now
            self.last_seq = max(self.last_seq, row.seq)
            if row.origin != self.origin:
                previous = None if row.previous is None else orjson.loads(row.previous)
                data = orjson.loads(row.data)
                remote.append(Change(row.type, data, previous, remote=True))
        if remote:
            self.changes.announce(remote, skip=self)
        return len(remote)

    async def _prune(self) -> None:
        cutoff = utc_now() - KEEP
        async with self.database.transaction() as session:
            await session.execute(delete(feed).where(feed.c.created_at < cutoff))
