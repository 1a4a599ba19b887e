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

While Redis is unreachable, a publish waits and retries, so the events
announced meanwhile go out in order once it is back, and the reader retries
too. Each kind of failure is logged once per outage, and the recovery once.
When Redis comes back without the stream's keys (restarted without
persistence, or flushed), the next publish starts a new epoch: ids from
before it get `resync_required` on resume, and the connections that
followed the old numbering receive `resync_required` too.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import secrets
import time
from collections.abc import Mapping, Sequence
from typing import Any, cast

import orjson
import redis.asyncio as redis
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

from ..core.errors import ServiceUnavailableError
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
"""How long the reader and a publish wait after a failure, while Redis is away."""

PUBLISHED_MARKER_SECONDS = 300
"""How long Redis remembers a publish's token, so that a retry of a publish
whose reply was lost returns the first id instead of adding the event twice."""

UNAVAILABLE_MESSAGE = (
    "The event stream's store (Redis) is unreachable. Retry in a few seconds."
)

UNREACHABLE_ERRORS = (RedisConnectionError, RedisTimeoutError)

# KEYS: the stream, the epoch, the sequence, the newest data of each type,
# the publish's marker.
# ARGV: history size, type, data, created, marker lifetime in seconds.
# Returns the event id.
#
# A missing epoch or sequence means Redis lost the stream's keys, so the
# numbering starts again under a new epoch, the millisecond of Redis's own
# clock: later than the old epoch, whichever process publishes first.
PUBLISH_SCRIPT = """
local published = redis.call('GET', KEYS[5])
if published then
  return published
end
local epoch = redis.call('GET', KEYS[2])
if not epoch or redis.call('EXISTS', KEYS[3]) == 0 then
  local now = redis.call('TIME')
  local milliseconds = tonumber(now[1]) * 1000 + math.floor(tonumber(now[2]) / 1000)
  epoch = string.format('%d', milliseconds)
  redis.call('SET', KEYS[2], epoch)
  redis.call('DEL', KEYS[1], KEYS[3])
end
local sequence = redis.call('INCR', KEYS[3])
local id = epoch .. '-' .. sequence
redis.call('XADD', KEYS[1], 'MAXLEN', ARGV[1], id,
  'type', ARGV[2], 'data', ARGV[3], 'created', ARGV[4])
redis.call('HSET', KEYS[4], ARGV[2], ARGV[3])
redis.call('SET', KEYS[5], id, 'EX', ARGV[5])
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


class OutageLog:
    """Logs each kind of failure of one task once, until the task succeeds.

    An unreachable Redis gets one line per kind of error, and anything else
    its traceback, also once per kind. The first success after failures logs
    that the task works again.
    """

    def __init__(self, task: str) -> None:
        self.task = task
        self._logged: set[type[Exception]] = set()

    @property
    def failing(self) -> bool:
        return bool(self._logged)

    def failed(self, exc: Exception) -> None:
        kind = type(exc)
        if kind in self._logged:
            return
        self._logged.add(kind)
        if isinstance(exc, UNREACHABLE_ERRORS):
            logger.warning("%s failed: %s: %s", self.task, kind.__name__, exc)
        else:
            log_background_failure(logger, f"{self.task} failed", exc)

    def succeeded(self) -> None:
        if self._logged:
            logger.info("%s works again", self.task)
            self._logged.clear()


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
        self._read_log = OutageLog("reading stream events")
        self._publish_log = OutageLog("publishing stream events")

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
        """Append the event; while Redis is unreachable, wait and retry.

        Redis remembers each publish's random token for a while, so a retry
        after a lost reply does not add the event twice.
        """
        created = int(time.time())
        marker = f"{KEY_PREFIX}:published:{secrets.token_hex(12)}"
        keys = [self._stream, self._epoch, self._sequence, self._latest, marker]
        args: list[int | bytes | str] = [
            self._history_size,
            event_type,
            orjson.dumps(data),
            created,
            PUBLISHED_MARKER_SECONDS,
        ]
        while True:
            try:
                reply = await self._publish(keys, args)
            except UNREACHABLE_ERRORS as exc:
                self._publish_log.failed(exc)
                await asyncio.sleep(RETRY_SECONDS)
                continue
            self._publish_log.succeeded()
            break
        event_id = EventId.parse(reply.decode())
        assert event_id is not None  # The script builds it from two integers.
        return StreamEvent.create(event_id, event_type, data, created=created)

    def check_available(self) -> None:
        """Raise `ServiceUnavailableError` while the reader cannot reach Redis.

        It costs no round trip: a stopped Redis fails the reader's blocking
        read at once, and one that stops responding fails it within
        `READ_BLOCK_MILLISECONDS` plus `TIMEOUT_SECONDS`.
        """
        if self._read_log.failing:
            raise ServiceUnavailableError(UNAVAILABLE_MESSAGE)

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
        try:
            async with self._client.pipeline(transaction=True) as pipeline:
                pipeline.get(self._epoch)
                pipeline.get(self._sequence)
                pipeline.xrange(self._stream, count=1)
                pipeline.xrange(self._stream, min=f"({last}")
                epoch, sequence, oldest, newer = cast(
                    tuple[bytes | None, bytes | None, list[Entry], list[Entry]],
                    tuple(await pipeline.execute()),
                )
        except UNREACHABLE_ERRORS as exc:
            raise ServiceUnavailableError(UNAVAILABLE_MESSAGE) from exc
        # Without an epoch Redis has lost the history (or nothing was ever
        # published), so the id cannot be resumed from.
        if epoch is None or int(epoch) != last.epoch:
            return None
        if last.sequence > int(sequence or 0):
            return None
        # The history must still hold the event right after `last`.
        if oldest and _event(*oldest[0]).sequence > last.sequence + 1:
            return None
        return [_event(entry_id, fields) for entry_id, fields in newer]

    async def _read(self) -> None:
        while True:
            try:
                replies = cast(
                    list[tuple[bytes, list[Entry]]],
                    await self._client.xread(
                        {self._stream: self._last_id}, block=READ_BLOCK_MILLISECONDS
                    ),
                )
            except Exception as exc:
                self._read_log.failed(exc)
                await asyncio.sleep(RETRY_SECONDS)
                continue
            self._read_log.succeeded()
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
