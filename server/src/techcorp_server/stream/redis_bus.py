"""The event bus in Redis, shared by every server process.

Events live in one Redis stream, capped at the history size (`XADD MAXLEN`).
A Lua script numbers each event and appends it in one atomic step, with the
event id as the stream entry's id: `<epoch>-<sequence>`, the epoch being the
millisecond the first process started the numbering. Every process reads
the stream (`XREAD BLOCK`) and hands each entry to its listeners, so all
processes deliver the same events, with the same ids, in the same order,
and a client that reconnects to another process resumes where it stopped.

The data of the newest event of each type is kept too, so a process that
starts late reads the current system status from it.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Mapping, Sequence
from typing import Any, cast

import orjson
import redis.asyncio as redis
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

from ..core.handlers import log_background_failure
from .bus import EventBus, Listener, Unsubscribe
from .events import EventId, StreamEvent

logger = logging.getLogger(__name__)

Entry = tuple[bytes, dict[bytes, bytes]]
"""A stream entry as redis-py returns it: its id and its fields."""

KEY_PREFIX = "techcorp:stream"

READ_BLOCK_MILLISECONDS = 1000
"""How long one `XREAD` waits for new events before the reader reads again."""

TIMEOUT_SECONDS = 1.0
"""How long a command waits for Redis before it fails."""

RETRY_SECONDS = 0.5
"""How long the reader waits after a failed read, while Redis is away."""

# KEYS: the stream, the epoch, the sequence, the newest data of each type.
# ARGV: epoch if none is set yet, history size, type, data, created.
# Returns the event id.
PUBLISH_SCRIPT = """
local epoch = redis.call('GET', KEYS[2])
if not epoch then
  epoch = ARGV[1]
  redis.call('SET', KEYS[2], epoch)
  redis.call('DEL', KEYS[1], KEYS[3])
end
local sequence = redis.call('INCR', KEYS[3])
local id = epoch .. '-' .. sequence
redis.call('XADD', KEYS[1], 'MAXLEN', ARGV[2], id,
  'type', ARGV[3], 'data', ARGV[4], 'created', ARGV[5])
redis.call('HSET', KEYS[4], ARGV[3], ARGV[4])
return id
"""


def _event(entry_id: bytes, fields: Mapping[bytes, bytes]) -> StreamEvent:
    text = entry_id.decode()
    event_id = EventId.parse(text)
    if event_id is None:
        raise ValueError(f"not an event id: {text!r}")
    return StreamEvent.create(
        event_id,
        fields[b"type"].decode(),
        orjson.loads(fields[b"data"]),
        created=int(fields[b"created"]),
    )


def _log_read_failure(exc: Exception) -> None:
    """Log one line for an unreachable Redis, and a traceback for other errors."""
    if isinstance(exc, (RedisConnectionError, RedisTimeoutError)):
        logger.warning("reading stream events failed: %s: %s", type(exc).__name__, exc)
    else:
        log_background_failure(logger, "reading stream events failed", exc)


class RedisEventBus(EventBus):
    shared = True

    def __init__(self, client: redis.Redis, history_size: int) -> None:
        self._client = client
        # With MAXLEN 0 an entry would be gone before the readers see it.
        self._history_size = max(history_size, 1)
        self._keeps_history = history_size > 0
        self._stream = f"{KEY_PREFIX}:events"
        self._epoch = f"{KEY_PREFIX}:epoch"
        self._sequence = f"{KEY_PREFIX}:sequence"
        self._latest = f"{KEY_PREFIX}:latest"
        self._publish = client.register_script(PUBLISH_SCRIPT)
        self._listeners: list[Listener] = []
        self._last_id = "0-0"
        self._reader: asyncio.Task[None] | None = None

    @classmethod
    def from_url(cls, url: str, history_size: int) -> RedisEventBus:
        client = redis.Redis.from_url(
            url,
            socket_connect_timeout=TIMEOUT_SECONDS,
            # A blocking read waits this long plus the block itself.
            socket_timeout=TIMEOUT_SECONDS + READ_BLOCK_MILLISECONDS / 1000,
            health_check_interval=30,
        )
        return cls(client, history_size)

    async def start(self) -> None:
        """Follow the stream from its newest entry."""
        newest = cast(list[Entry], await self._client.xrevrange(self._stream, count=1))
        if newest:
            self._last_id = newest[0][0].decode()
        self._reader = asyncio.create_task(self._read(), name="stream bus reader")

    async def stop(self) -> None:
        if self._reader is not None:
            self._reader.cancel()
            # NOTE: a cancelled blocking read in redis-py has been seen to not
            # return, so the wait is bounded.
            await asyncio.wait({self._reader}, timeout=TIMEOUT_SECONDS)
            self._reader = None
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(TIMEOUT_SECONDS):
                await self._client.aclose()

    async def publish(self, event_type: str, data: Mapping[str, Any]) -> StreamEvent:
        created = int(time.time())
        keys = [self._stream, self._epoch, self._sequence, self._latest]
        args: list[int | bytes | str] = [
            time.time_ns() // 1_000_000,
            self._history_size,
            event_type,
            orjson.dumps(data),
            created,
        ]
        event_id = EventId.parse((await self._publish(keys, args)).decode())
        assert event_id is not None  # The script builds it from two integers.
        return StreamEvent.create(event_id, event_type, data, created=created)

    def subscribe(self, listener: Listener) -> Unsubscribe:
        self._listeners.append(listener)
        return lambda: self._listeners.remove(listener)

    async def latest(self, event_type: str) -> Mapping[str, Any] | None:
        data = await self._client.hget(self._latest, event_type)
        return None if data is None else orjson.loads(data)

    async def events_after(self, event_id: str) -> Sequence[StreamEvent] | None:
        last = EventId.parse(event_id)
        if last is None or not self._keeps_history:
            return None
        async with self._client.pipeline(transaction=True) as pipeline:
            pipeline.get(self._epoch)
            pipeline.get(self._sequence)
            pipeline.xrange(self._stream, count=1)
            pipeline.xrange(self._stream, min=f"({last}")
            epoch, sequence, oldest, newer = cast(
                tuple[bytes | None, bytes | None, list[Entry], list[Entry]],
                tuple(await pipeline.execute()),
            )
        if epoch is None or int(epoch) != last.epoch:
            return None
        if last.sequence > int(sequence or 0):
            return None
        # The history must still hold the event right after `last`.
        if oldest and _event(*oldest[0]).sequence > last.sequence + 1:
            return None
        return [_event(entry_id, fields) for entry_id, fields in newer]

    async def _read(self) -> None:
        failing = False
        while True:
            try:
                replies = cast(
                    list[tuple[bytes, list[Entry]]],
                    await self._client.xread(
                        {self._stream: self._last_id}, block=READ_BLOCK_MILLISECONDS
                    ),
                )
            except Exception as exc:
                if not failing:
                    _log_read_failure(exc)
                failing = True
                await asyncio.sleep(RETRY_SECONDS)
                continue
            failing = False
            for _stream, entries in replies:
                for entry_id, fields in entries:
                    self._last_id = entry_id.decode()
                    try:
                        event = _event(entry_id, fields)
                    except (KeyError, ValueError):
                        logger.exception(
                            "skipped an invalid stream entry",
                            extra={"entry_id": self._last_id},
                        )
                        continue
                    self._deliver(event)

    def _deliver(self, event: StreamEvent) -> None:
        for listener in list(self._listeners):
            try:
                listener(event)
            except Exception:
                logger.exception(
                    "a stream listener failed", extra={"event_id": str(event.id)}
                )
