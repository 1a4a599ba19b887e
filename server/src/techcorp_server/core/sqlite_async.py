"""SQLite through aiosqlite, with fewer trips to the driver's thread.

aiosqlite runs every call on its own thread, and the result reaches the
event loop as a callback. SQLAlchemy 2.1's aiosqlite adapter makes three or
four such calls per statement (open a cursor, execute, fetch, close). Each
trip waits for the GIL and then for its turn on the loop. On a busy server a
trip took 0.5 to 3 ms, so a product's write transaction, about 20 trips, held
the single SQLite writer for about 9 ms. These figures come from
bench/webhook_delivery.py, with wrk loading the same process.

The cursor here runs a whole statement in one call: it executes, fetches
every row and closes the driver's cursor, then serves the rows from memory,
as SQLAlchemy's own adapter does after `fetchall`.

A connection made with `inline=True` goes further and runs its statements,
commits and rollbacks on the event loop's thread, with no trip at all. That
suits the write connection, whose statements insert or update a few rows
each and take microseconds. Two things could block the loop for longer:

- A WAL checkpoint and its fsync, which SQLite runs in a committing
  connection once the WAL has 1,000 pages (40 ms was seen on a busy
  machine). The write connection turns that off, and `Database` runs the
  checkpoints on a read connection, on its own aiosqlite thread.
- Waiting for another process's write lock. The connection's busy timeout
  is 0, so a `BEGIN IMMEDIATE` that finds the lock taken fails at once, and
  runs again on aiosqlite's thread with a busy timeout of `busy_timeout_ms`.
"""

from __future__ import annotations

import sqlite3
from collections import deque
from collections.abc import Sequence
from typing import Any

import aiosqlite
from sqlalchemy.dialects.sqlite.aiosqlite import (
    AsyncAdapt_aiosqlite_connection,
    AsyncAdapt_aiosqlite_cursor,
    AsyncAdapt_aiosqlite_dbapi,
)
from sqlalchemy.util import EMPTY_DICT, await_

Description = tuple[tuple[Any, ...], ...] | None
StatementResult = tuple[Description, list[Any], int, int | None]


def _run_statement(
    connection: sqlite3.Connection, operation: str, parameters: Any, many: bool
) -> StatementResult:
    cursor = connection.cursor()
    try:
        if many:
            cursor.executemany(operation, parameters)
        else:
            cursor.execute(operation, parameters)
        description = cursor.description
        rows = cursor.fetchall() if description else []
        return description, rows, cursor.rowcount, cursor.lastrowid
    finally:
        cursor.close()


def _run_waiting(
    connection: sqlite3.Connection,
    operation: str,
    parameters: Any,
    many: bool,
    busy_timeout_ms: int,
) -> StatementResult:
    """Run a statement that may wait for the write lock, on aiosqlite's thread."""
    connection.execute(f"PRAGMA busy_timeout={busy_timeout_ms:d}")
    try:
        return _run_statement(connection, operation, parameters, many)
    finally:
        connection.execute("PRAGMA busy_timeout=0")


def _is_busy(error: sqlite3.OperationalError) -> bool:
    # The low byte is the primary code of an extended one (SQLITE_BUSY_RECOVERY).
    code = getattr(error, "sqlite_errorcode", None)
    return code is not None and code & 0xFF == sqlite3.SQLITE_BUSY


class OneCallCursor(AsyncAdapt_aiosqlite_cursor):
    """A cursor whose statement is one call, on aiosqlite's thread or inline."""

    __slots__ = ("_description", "_lastrowid", "_rowcount")

    _adapt_connection: OneCallConnection

    def __init__(self, adapt_connection: OneCallConnection) -> None:
        # Unlike the base class, this opens no driver cursor yet.
        self._adapt_connection = adapt_connection
        self._connection = adapt_connection._connection
        self._cursor = None  # type: ignore[assignment]
        self._soft_closed_memoized = EMPTY_DICT
        self._rows = deque()
        self._description: Description = None
        self._rowcount = -1
        self._lastrowid: int | None = None

    @property
    def description(self) -> Any:
        return self._description

    @property
    def rowcount(self) -> int:
        return self._rowcount

    @property
    def lastrowid(self) -> Any:
        return self._lastrowid

    def execute(self, operation: Any, parameters: Any = None) -> None:
        self._run(operation, () if parameters is None else parameters, many=False)

    def executemany(self, operation: Any, seq_of_parameters: Any) -> None:
        self._run(operation, seq_of_parameters, many=True)

    def _run(self, operation: str, parameters: Any, *, many: bool) -> None:
        adapt_connection = self._adapt_connection
        connection: Any = self._connection
        try:
            if adapt_connection.inline:
                result = await_(
                    adapt_connection.run_inline(operation, parameters, many)
                )
            else:
                result = await_(
                    connection._execute(
                        _run_statement, connection._conn, operation, parameters, many
                    )
                )
        except Exception as error:
            adapt_connection._handle_exception(error)
        self._description, rows, self._rowcount, self._lastrowid = result
        self._rows = deque(rows)

    async def _async_soft_close(self) -> None:
        """Close nothing: the driver's cursor closed after the statement."""

    def close(self) -> None:
        self._rows.clear()

    def fetchall(self) -> Sequence[Any]:
        rows = list(self._rows)
        self._rows.clear()
        return rows


class OneCallConnection(AsyncAdapt_aiosqlite_connection):
    __slots__ = ("busy_timeout_ms", "inline")

    _cursor_cls = OneCallCursor  # type: ignore[assignment]

    def __init__(
        self,
        dbapi: Any,
        connection: Any,
        *,
        inline: bool,
        busy_timeout_ms: int,
    ) -> None:
        super().__init__(dbapi, connection)
        self.inline = inline
        self.busy_timeout_ms = busy_timeout_ms

    async def run_inline(
        self, operation: str, parameters: Any, many: bool
    ) -> StatementResult:
        """Run a statement on the loop's thread.

        A coroutine that returns without suspending, because SQLAlchemy's
        `AsyncConnection.execute` checks that its statement awaited.
        """
        connection: Any = self._connection
        try:
            return _run_statement(connection._conn, operation, parameters, many)
        except sqlite3.OperationalError as error:
            # Only a statement that opens a transaction waits for the lock.
            if not _is_busy(error) or connection._conn.in_transaction:
                raise
        result: StatementResult = await connection._execute(
            _run_waiting,
            connection._conn,
            operation,
            parameters,
            many,
            self.busy_timeout_ms,
        )
        return result

    def commit(self) -> None:
        connection: Any = self._connection
        if not self.inline:
            super().commit()
        elif connection._connection:
            try:
                connection._conn.commit()
            except Exception as error:
                self._handle_exception(error)

    def rollback(self) -> None:
        connection: Any = self._connection
        if not self.inline:
            super().rollback()
        elif connection._connection:
            try:
                connection._conn.rollback()
            except Exception as error:
                self._handle_exception(error)


class OneCallDBAPI(AsyncAdapt_aiosqlite_dbapi):
    """The aiosqlite DBAPI adapter, making `OneCallConnection`s."""

    def __init__(self, *, inline: bool, busy_timeout_ms: int) -> None:
        super().__init__(aiosqlite, sqlite3)
        self.inline = inline
        self.busy_timeout_ms = busy_timeout_ms

    def connect(self, *arg: Any, **kw: Any) -> OneCallConnection:
        adapted = super().connect(*arg, **kw)
        return OneCallConnection(
            self,
            adapted._connection,
            inline=self.inline,
            busy_timeout_ms=self.busy_timeout_ms,
        )
