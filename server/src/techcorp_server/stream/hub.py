"""The stream hub: fan-out of bus events to this process's connections.

The hub publishes through the bus in the order events are announced, keeps
the set of open connections, and hands each event, encoded once by the bus,
to every connection. It also follows the callers' access: a deleted user's
connections close at once, and every connection re-checks its token on each
heartbeat.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections import Counter
from collections.abc import Mapping
from typing import Any

from starlette.types import Message

from ..auth.service import AuthService
from ..core.db import isoformat, utc_now
from ..core.errors import RateLimitedError, UnauthorizedError
from .bus import EventBus, Unsubscribe
from .connection import StreamConnection, resync_data
from .events import RESYNC_REQUIRED, SYSTEM_STATUS, StreamEvent, control_message
from .metrics import open_connections, published_events
from .protocol import ACCESS_REVOKED, GOING_AWAY, TOKEN_EXPIRED

logger = logging.getLogger(__name__)

FAN_OUT_SLICE = 250
"""Connections offered an event before the fan-out waits for their writes."""

WRITE_POLL_SECONDS = 0.001
SLICE_WAIT_POLLS = 50
"""Polls of a slice's last write before the fan-out moves on regardless."""


SHUTDOWN_NOTICE = (
    "This server is shutting down. Reconnect with last_event_id to resume."
)


class StreamHub:
    def __init__(
        self, bus: EventBus, auth: AuthService, close_timeout_seconds: float
    ) -> None:
        self.bus = bus
        self.auth = auth
        self.close_timeout_seconds = close_timeout_seconds
        self._connections: dict[StreamConnection, None] = {}
        self._open_by_user: Counter[str] = Counter()
        self._outbox: asyncio.Queue[tuple[str, Mapping[str, Any]]] = asyncio.Queue()
        self._fan_out_queue: asyncio.Queue[StreamEvent] = asyncio.Queue()
        self._tasks: list[asyncio.Task[None]] = []
        self._unsubscribe: Unsubscribe | None = None
        self._checks: set[asyncio.Task[None]] = set()
        self._all_closed = asyncio.Event()

    @property
    def connection_count(self) -> int:
        return len(self._connections)

    async def start(self) -> None:
        self._unsubscribe = self.bus.subscribe(self._deliver)
        await self.bus.start()
        self._tasks = [
            asyncio.create_task(self._publish_announced()),
            asyncio.create_task(self._fan_out()),
        ]
        open_connections.set_function(lambda: len(self._connections))

    async def stop(self) -> None:
        """Tell every client the server is going away, then close them all."""
        await self.close_all()
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        if self._unsubscribe is not None:
            self._unsubscribe()
        await self.bus.stop()

    def announce(self, event_type: str, data: Mapping[str, Any]) -> None:
        """Publish an event soon, after those announced before it.

        It never waits, because the outbox is unbounded.
        """
        # NOTE: the outbox is unbounded. Its producers are database writes and
        # admin requests, far slower than the in-process bus empties it.
        self._outbox.put_nowait((event_type, data))

    async def _publish_announced(self) -> None:
        while True:
            event_type, data = await self._outbox.get()
            try:
                await self.bus.publish(event_type, data)
            except Exception:
                logger.exception(
                    "publishing a stream event failed", extra={"type": event_type}
                )

    def _deliver(self, event: StreamEvent) -> None:
        self._fan_out_queue.put_nowait(event)

    async def _fan_out(self) -> None:
        """Offer each event to every connection, in order of publication.

        granian 2.8 writes every socket from one I/O thread by default
        (`runtime_threads=1`), about in the order of the sends, so an HTTP
        response waits behind the writes queued before it. The event
        therefore goes out in slices of connections, and each slice waits
        until the socket took the last write it started. An HTTP response
        then waits for one slice, not for 5,000 writes.
        """
        while True:
            event = await self._fan_out_queue.get()
            published_events.labels(event.type).inc()
            connections = tuple(self._connections)
            for start in range(0, len(connections), FAN_OUT_SLICE):
                last_sent = None
                for connection in connections[start : start + FAN_OUT_SLICE]:
                    if connection.offer(event):
                        last_sent = connection
                await _until_written(last_sent)

    # Connections

    def admit(self, user_id: str, limit: int) -> None:
        """Count a new connection of `user_id`, or raise 429 if it has `limit` open.

        The count is taken before the upgrade, so handshakes that arrive
        together cannot pass the limit, and `release` gives it back.
        """
        if self._open_by_user[user_id] >= limit:
            raise RateLimitedError(
                f"Too many stream connections: this user has {limit} open, the "
                "limit. Close one before opening another.",
            )
        self._open_by_user[user_id] += 1

    def release(self, user_id: str) -> None:
        """Give back a connection counted by `admit`."""
        self._open_by_user[user_id] -= 1
        if self._open_by_user[user_id] <= 0:
            del self._open_by_user[user_id]

    async def serve(
        self,
        connection: StreamConnection,
        status: Mapping[str, Any],
        last_event_id: str | None,
    ) -> None:
        """Register `connection`, send what it needs first, and serve it.

        The connection is registered before the history is read, so no event
        falls between the replay and the live events.
        """
        self._connections[connection] = None
        try:
            opening: list[Message] = [control_message(SYSTEM_STATUS, status)]
            if last_event_id is not None:
                opening += await self._replay(connection, last_event_id)
            await connection.run(opening)
        finally:
            self._connections.pop(connection, None)
            if not self._connections:
                self._all_closed.set()

    async def _replay(
        self, connection: StreamConnection, last_event_id: str
    ) -> list[Message]:
        events = await self.bus.events_after(last_event_id)
        missed = None if events is None else connection.missed(events)
        if missed is None:
            return [control_message(RESYNC_REQUIRED, resync_data(last_event_id))]
        return [event.message for event in missed]

    async def resume(self, connection: StreamConnection, last_event_id: str) -> None:
        events = await self.bus.events_after(last_event_id)
        missed = None if events is None else connection.missed(events)
        connection.replay(missed, last_event_id)

    async def check_access(self, connection: StreamConnection) -> None:
        """Close the connection if its token no longer authenticates its caller."""
        try:
            await self.auth.authenticate_token(connection.caller.token)
        except UnauthorizedError:
            expired = connection.caller.expires_at <= time.time()
            connection.close(TOKEN_EXPIRED if expired else ACCESS_REVOKED)
        except Exception:
            # The database may be down for a moment; the next check retries,
            # and the connection stays open meanwhile.
            logger.exception(
                "checking a stream caller's access failed",
                extra={"user_id": connection.user_id},
            )

    def revoke_user(self, user_id: str) -> None:
        """Close the connections of a deleted user."""
        for connection in tuple(self._connections):
            if connection.user_id == user_id:
                connection.close(ACCESS_REVOKED)

    def recheck_user(self, user_id: str) -> None:
        """Re-check the access of a changed user's connections, soon."""
        for connection in tuple(self._connections):
            if connection.user_id == user_id:
                check = asyncio.create_task(self.check_access(connection))
                # The loop keeps only a weak reference to a task.
                self._checks.add(check)
                check.add_done_callback(self._checks.discard)

    async def close_all(self) -> None:
        """Send each client a maintenance notice and close it with 1001."""
        connections = tuple(self._connections)
        if not connections:
            return
        now = isoformat(utc_now())
        notice = control_message(
            SYSTEM_STATUS,
            {
                "status": "maintenance",
                "message": SHUTDOWN_NOTICE,
                "starts_at": now,
                "ends_at": None,
                "updated_at": now,
            },
        )
        logger.info("closing stream connections", extra={"count": len(connections)})
        for connection in connections:
            connection.close(GOING_AWAY, final=notice)
        self._all_closed.clear()
        # Each connection stops waiting for its peer after the same timeout.
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(self.close_timeout_seconds):
                await self._all_closed.wait()


async def _until_written(connection: StreamConnection | None) -> None:
    """Wait until the socket took `connection`'s write, or `SLICE_WAIT_POLLS` polls.

    The I/O thread finishes writes about in the order they started, so the
    slice is out once its last write is. A client that stopped reading keeps
    its write pending, so the wait is bounded. The write's awaitable accepts
    one waiter, the connection's sender task, so this polls `done()`.
    Other tasks run at least once, even when the write is already done.
    """
    await asyncio.sleep(0)
    if connection is None:
        return
    for _ in range(SLICE_WAIT_POLLS):
        if not connection.writing:
            return
        await asyncio.sleep(WRITE_POLL_SECONDS)
