"""Changes to resources, and the parts of the server that follow them.

A service writes through `ChangeLog.transaction()` and records a `Change` for
each resource it creates, updates or deletes. Every listener hears of the
changes twice:

- `in_transaction` runs inside the write transaction, just before it
  commits. Whatever a listener writes there commits or rolls back with the
  change itself; an event outbox belongs here.
- `committed` runs after the commit, so it is never given a change that was
  rolled back. Caches, in-memory indexes and broadcasts belong here. An
  error in one is logged and does not reach the caller, whose change is
  already saved.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Mapping, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from functools import partial
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from .db import Database

logger = logging.getLogger("techcorp_server.changes")


@dataclass(frozen=True, slots=True)
class Change:
    """One resource created, updated or deleted.

    `type` is the event name (`product.updated`), `data` the resource as
    the API renders it after the change (before it, for a deletion), and
    `previous` the resource before an update. `remote` marks a change that
    another server process saved, which reached this one through the change
    feed.
    """

    type: str
    data: Mapping[str, Any]
    previous: Mapping[str, Any] | None = None
    remote: bool = False

    @property
    def resource(self) -> str:
        return self.type.partition(".")[0]

    @property
    def action(self) -> str:
        return self.type.partition(".")[2]


class ChangeListener:
    """A follower of changes; subclasses override one or both hooks."""

    async def in_transaction(
        self, session: AsyncSession, changes: Sequence[Change]
    ) -> None:
        """Write what must commit together with `changes`."""

    def committed(self, changes: Sequence[Change]) -> None:
        """Follow `changes` once they are saved. Must not block."""


@dataclass(slots=True)
class Transaction:
    """An open write transaction and the changes recorded in it so far."""

    session: AsyncSession
    changes: list[Change] = field(default_factory=list)

    def record(
        self,
        type: str,
        data: Mapping[str, Any],
        previous: Mapping[str, Any] | None = None,
    ) -> None:
        self.changes.append(Change(type, data, previous))


class ChangeLog:
    def __init__(self, database: Database) -> None:
        self.database = database
        self._listeners: list[ChangeListener] = []

    def subscribe(self, listener: ChangeListener) -> None:
        self._listeners.append(listener)

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[Transaction]:
        """Open a write transaction whose recorded changes reach the listeners.

        The transaction commits when the block ends without an error, after
        every listener's `in_transaction`; an error from one of those rolls
        everything back.
        """
        async with self.database.transaction() as session:
            transaction = Transaction(session)
            yield transaction
            if transaction.changes:
                for listener in self._listeners:
                    await listener.in_transaction(session, transaction.changes)

        if transaction.changes:
            self.database.after_commit(partial(self.announce, transaction.changes))

    def announce(
        self, changes: Sequence[Change], skip: ChangeListener | None = None
    ) -> None:
        """Pass saved `changes` to every listener's `committed`, except `skip`.

        Changes that another process saved arrive here too, through the
        change feed, which is the listener skipped for them.
        """
        for listener in self._listeners:
            if listener is skip:
                continue
            try:
                listener.committed(changes)
            except Exception:
                logger.exception(
                    "a change listener failed",
                    extra={"listener": type(listener).__name__},
                )
