"""Database engines and transactions.

SQLite allows one writer at a time. Writes therefore go through their own
single-connection engine that starts every transaction with `BEGIN IMMEDIATE`,
so two writers queue inside the process instead of failing with
`database is locked`. That connection runs its statements on the event
loop's thread, because trips to the driver's thread cost more than the
statements (see `core.sqlite_async`). Reads use a pool of their own and never
wait for writes (WAL mode); the hot ones go through `Database.run_read`, which
runs a whole read in one worker thread. PostgreSQL uses one pooled engine for
everything.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, TypeVar

import anyio.to_thread
import sqlalchemy.exc
from sqlalchemy import DateTime, MetaData, TypeDecorator, create_engine, event
from sqlalchemy.engine import Connection, Dialect, Engine
from sqlalchemy.ext.asyncio import (
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)
from sqlalchemy.orm import DeclarativeBase

from .sqlite_async import OneCallDBAPI

NAMING_CONVENTION = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


logger = logging.getLogger(__name__)

T = TypeVar("T")

CONFLICT_SQLSTATES = ("40001", "40P01")
"""PostgreSQL's serialization failure and deadlock: the transaction was
rolled back because of another one, and running it again is safe."""

CONFLICT_ATTEMPTS = 3

READ_THREADS = 4
"""SQLite reads that run at once, each in a worker thread of its own."""

BUSY_TIMEOUT_MS = 5000
"""How long a SQLite statement waits for another process's write lock."""

CHECKPOINT_EVERY_COMMITS = 200
"""SQLite write transactions between two WAL checkpoints, run off the loop.
At an estimated 5 pages per transaction, that is SQLite's own default of a
checkpoint every 1,000 pages."""


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


class UTCDateTime(TypeDecorator[datetime]):
    """A timestamp stored without zone and always read back as UTC.

    SQLite has no zone-aware type, so every value is converted to UTC on the
    way in and tagged as UTC on the way out.
    """

    impl = DateTime
    cache_ok = True

    def process_bind_param(
        self, value: datetime | None, dialect: Dialect
    ) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given; use datetime.now(UTC)")
        return value.astimezone(UTC).replace(tzinfo=None)

    def process_result_value(
        self, value: datetime | None, dialect: Dialect
    ) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC)


def utc_now() -> datetime:
    return datetime.now(UTC)


def isoformat(moment: datetime) -> str:
    """Render a timestamp as ISO 8601 UTC with a `Z`, to the millisecond."""
    return (
        moment.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
    )


def _configure_sqlite(
    engine: Engine,
    *,
    begin: str,
    busy_timeout_ms: int = BUSY_TIMEOUT_MS,
    checkpoints: bool = True,
) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Take over transaction control from the driver so BEGIN is ours.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute(f"PRAGMA busy_timeout={busy_timeout_ms:d}")
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        if not checkpoints:
            cursor.execute("PRAGMA wal_autocheckpoint=0")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection: Any) -> None:
        connection.exec_driver_sql(begin)


@dataclass(eq=False)
class SharedTransaction:
    """One write transaction that every write of one task joins.

    It begins with the first write, so work done before (hashing a
    password) does not hold the database's write lock.
    """

    database: Database
    task: asyncio.Task[Any] | None
    session: AsyncSession | None = None
    after_commit: list[Callable[[], None]] = field(default_factory=list)

    def begin(self) -> AsyncSession:
        if self.session is None:
            self.session = self.database._write_sessions()
        return self.session


_shared_transaction: ContextVar[SharedTransaction | None] = ContextVar(
    "shared_transaction", default=None
)


class Database:
    """The engines of one server process and the sessions made from them."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.is_sqlite = url.startswith("sqlite")
        if self.is_sqlite:
            self.engine = create_async_engine(
                url,
                pool_size=4,
                max_overflow=4,
                module=OneCallDBAPI(inline=False, busy_timeout_ms=BUSY_TIMEOUT_MS),
            )
            # The write connection runs its statements on the event loop's
            # thread (see `core.sqlite_async`), so its busy timeout is 0.
            self.write_engine = create_async_engine(
                url,
                pool_size=1,
                max_overflow=0,
                module=OneCallDBAPI(inline=True, busy_timeout_ms=BUSY_TIMEOUT_MS),
                connect_args={"check_same_thread": False},
            )
            _configure_sqlite(self.engine.sync_engine, begin="BEGIN")
            _configure_sqlite(
                self.write_engine.sync_engine,
                begin="BEGIN IMMEDIATE",
                busy_timeout_ms=0,
                checkpoints=False,
            )
            event.listen(self.write_engine.sync_engine, "commit", self._count_commit)
            sync_url = "sqlite:" + url.split(":", 1)[1]
            self._thread_reads: Engine | None = create_engine(
                sync_url, pool_size=READ_THREADS, max_overflow=0
            )
            _configure_sqlite(self._thread_reads, begin="BEGIN")
        else:
            self._thread_reads = None
            self.engine = create_async_engine(
                url, pool_size=10, max_overflow=10, pool_pre_ping=True
            )
            self.write_engine = self.engine
        self._read_threads = anyio.CapacityLimiter(READ_THREADS)
        self._commits_since_checkpoint = 0
        self._checkpoint: asyncio.Task[None] | None = None
        self._read_sessions = async_sessionmaker(self.engine, expire_on_commit=False)
        self._write_sessions = async_sessionmaker(
            self.write_engine, expire_on_commit=False
        )

    @asynccontextmanager
    async def read(self) -> AsyncIterator[AsyncSession]:
        """Open a session for reads; nothing in it is committed.

        Inside a `shared_transaction` that has written, reads go through its
        session, so they see its writes.
        """
        shared = self._shared()
        if shared is not None and shared.session is not None:
            yield shared.session
            return
        async with self._read_sessions() as session:
            yield session

    async def run_read(self, read: Callable[[Connection], T]) -> T:
        """Run `read` with a connection, inside one read transaction.

        On SQLite the whole function runs in one worker thread on the
        standard driver. Through aiosqlite every statement, fetch and
        commit is its own hop to the driver's thread and back (about 25
        for a list page), and those hops cost more than the queries.
        PostgreSQL runs `read` on its async connection. Inside a
        `shared_transaction` that has written, `read` runs on its connection.
        """
        shared = self._shared()
        if shared is not None and shared.session is not None:
            connection = await shared.session.connection()
            return await connection.run_sync(read)
        if self._thread_reads is None:
            async with self.engine.connect() as connection:
                return await connection.run_sync(read)
        return await anyio.to_thread.run_sync(
            self._read_in_thread, read, limiter=self._read_threads
        )

    def _read_in_thread(self, read: Callable[[Connection], T]) -> T:
        assert self._thread_reads is not None
        with self._thread_reads.connect() as connection, connection.begin():
            return read(connection)

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[AsyncSession]:
        """Open a write transaction that commits on success, else rolls back.

        Inside a `shared_transaction`, this is a savepoint of that one
        instead: an error rolls back to the savepoint, and the writes commit
        when the shared transaction does.
        """
        shared = self._shared()
        if shared is not None:
            session = shared.begin()
            async with session.begin_nested():
                yield session
            return
        async with self._write_sessions() as session, session.begin():
            yield session

    @asynccontextmanager
    async def shared_transaction(self) -> AsyncIterator[SharedTransaction]:
        """Make the writes of this task, until the block ends, one transaction.

        The transaction commits when the block ends without an error, after
        whatever the block wrote itself through `SharedTransaction.session`.
        Writes from other tasks are not part of it, and on SQLite they wait
        for it to end.
        """
        shared = SharedTransaction(self, asyncio.current_task())
        token = _shared_transaction.set(shared)
        try:
            yield shared
            if shared.session is not None:
                await shared.session.commit()
        finally:
            _shared_transaction.reset(token)
            if shared.session is not None:
                await shared.session.close()
        for callback in shared.after_commit:
            callback()

    def after_commit(self, callback: Callable[[], None]) -> None:
        """Run `callback` once the write just made is committed.

        That is now, unless the write joined a `shared_transaction`, which
        runs it after its own commit.
        """
        shared = self._shared()
        if shared is None:
            callback()
        else:
            shared.after_commit.append(callback)

    def _shared(self) -> SharedTransaction | None:
        shared = _shared_transaction.get()
        # A task started inside the block copies the context variable, but
        # must not use the block's session alongside it.
        if (
            shared is None
            or shared.database is not self
            or shared.task is not asyncio.current_task()
        ):
            return None
        return shared

    def _count_commit(self, _connection: Any) -> None:
        self._commits_since_checkpoint += 1
        if self._commits_since_checkpoint < CHECKPOINT_EVERY_COMMITS:
            return
        if self._checkpoint is None or self._checkpoint.done():
            self._commits_since_checkpoint = 0
            self._checkpoint = asyncio.get_running_loop().create_task(
                self.checkpoint(), name="sqlite-checkpoint"
            )

    async def checkpoint(self) -> None:
        """Copy the SQLite WAL into the database file, on a read connection.

        PASSIVE waits for no reader or writer. Pages still in use stay in
        the WAL until the next checkpoint.
        """
        try:
            async with self.engine.connect() as connection:
                raw = await connection.get_raw_connection()
                driver: Any = raw.driver_connection
                await driver.execute("PRAGMA wal_checkpoint(PASSIVE)")
        except Exception:
            logger.exception("SQLite checkpoint failed")

    async def dispose(self) -> None:
        if self._checkpoint is not None:
            await asyncio.gather(self._checkpoint, return_exceptions=True)
        if self._thread_reads is not None:
            self._thread_reads.dispose()
        await self.engine.dispose()
        if self.write_engine is not self.engine:
            await self.write_engine.dispose()


def sqlstate_of(exc: BaseException) -> str | None:
    """Return the SQLSTATE code of a database error, if it carries one."""
    if not isinstance(exc, sqlalchemy.exc.DBAPIError):
        return None
    # SQLAlchemy's asyncpg adapter wraps asyncpg's own error as its cause.
    for error in (exc.orig, getattr(exc.orig, "__cause__", None)):
        sqlstate = getattr(error, "sqlstate", None)
        if isinstance(sqlstate, str):
            return sqlstate
    return None


async def retry_on_conflict(run: Callable[[], Awaitable[T]]) -> T:
    """Run a write transaction, again when another one made it roll back.

    Two transactions that lock the same rows in different orders deadlock
    on PostgreSQL, which rolls one of them back. Its second run reads the
    other's committed change. SQLite serializes writers and never does this.
    """
    for attempt in range(1, CONFLICT_ATTEMPTS + 1):
        try:
            return await run()
        except sqlalchemy.exc.DBAPIError as exc:
            if (
                attempt == CONFLICT_ATTEMPTS
                or sqlstate_of(exc) not in CONFLICT_SQLSTATES
            ):
                raise
    raise AssertionError("unreachable")
