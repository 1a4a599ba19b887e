"""The event stream at `/v2/events`: sync and async iterators of typed messages.

`EventStream` and `AsyncEventStream` authenticate the WebSocket handshake
with `Authorization: Bearer <token>` and subscribe with the filters given.
They reply to the server's `ping` with a `pong` and yield every other
message as a typed model from `techcorp.events`. When the connection drops
they reconnect with exponential backoff and jitter. They send the id of the
last event they yielded as `last_event_id`, so the server replays what was
missed, or sends `resync_required` when its history no longer reaches back
that far. Events whose id is not newer than the last one yielded are
dropped, so a replay never yields an event twice.

When the server rejects the handshake with 401, or closes with code 4001
because the token expired, the stream calls the token source's `invalidate`
and then `get` for a fresh token before it reconnects.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import random
import threading
from collections.abc import AsyncIterator, Collection, Iterator
from dataclasses import dataclass, field
from types import TracebackType
from typing import Any, Final, Protocol, Self
from urllib.parse import urlencode, urlsplit, urlunsplit

import httpx
from pydantic import ValidationError
from websockets.asyncio.client import ClientConnection as AsyncClientConnection
from websockets.asyncio.client import connect as async_connect
from websockets.exceptions import ConnectionClosed, InvalidHandshake, InvalidStatus
from websockets.frames import Close
from websockets.sync.client import ClientConnection, connect

from ._errors import TechCorpError
from .events import Ping, Pong, StreamMessage, parse_stream_message

__all__ = [
    "AsyncEventStream",
    "AsyncTokenSource",
    "EventStream",
    "EventStreamError",
    "ReconnectPolicy",
    "StreamClosedError",
    "StreamHandshakeError",
    "TokenSource",
]

logger = logging.getLogger("techcorp.stream")

EVENTS_PATH: Final = "/v2/events"

# Close codes the server sends (RFC 6455 section 7.4.2 reserves 4000-4999 for
# applications); `/v2/asyncapi.json` lists them with their reasons.
TOKEN_EXPIRED: Final = 4001
ACCESS_REVOKED: Final = 4003

FINAL_CLOSE_CODES: Final = frozenset({ACCESS_REVOKED})
"""Close codes after which reconnecting cannot help."""

RETRYABLE_STATUSES: Final = frozenset({408, 429, 500, 502, 503, 504})
"""Handshake statuses worth another attempt; 401 also is, with a new token."""


class TokenSource(Protocol):
    """Supplies access tokens to `EventStream`."""

    def get(self) -> str:
        """Return a valid access token, cached or freshly fetched."""
        ...

    def invalidate(self) -> None:
        """Drop the cached token, so the next `get` fetches a new one."""
        ...


class AsyncTokenSource(Protocol):
    """Supplies access tokens to `AsyncEventStream`."""

    async def get(self) -> str:
        """Return a valid access token, cached or freshly fetched."""
        ...

    def invalidate(self) -> None:
        """Drop the cached token, so the next `get` fetches a new one."""
        ...


class EventStreamError(TechCorpError):
    """The event stream stopped and will not reconnect."""


class StreamHandshakeError(EventStreamError):
    """The server rejected the WebSocket handshake with an HTTP error."""

    def __init__(self, status_code: int, error: str | None, message: str) -> None:
        super().__init__(f"The stream handshake failed with {status_code}: {message}")
        self.status_code = status_code
        self.error = error
        """The API's error code, such as `bad_request`, when the body had one."""
        self.message = message


class StreamClosedError(EventStreamError):
    """The server closed the stream for a reason that reconnecting cannot fix."""

    def __init__(self, code: int | None, reason: str) -> None:
        super().__init__(f"The server closed the stream ({code}): {reason}")
        self.code = code
        self.reason = reason


@dataclass(frozen=True)
class ReconnectPolicy:
    """When and how often a stream reconnects after it lost its connection.

    Attempt n (from 0) waits `min(max_backoff_seconds, initial_backoff_seconds
    * 2**n)`, times a random factor from 0.5 to 1 so that many clients
    dropped at once do not return at once. A handshake response's
    `Retry-After` lengthens the wait, up to `max_backoff_seconds`. The count
    restarts after each connection that opened.
    """

    max_reconnects: int | None = 10
    """Attempts in a row before the stream raises; None retries forever."""
    initial_backoff_seconds: float = 0.5
    max_backoff_seconds: float = 30.0

    def delay(self, attempt: int, rng: random.Random) -> float:
        # The exponent stops growing long before a float would overflow.
        growth = 2.0 ** min(attempt, 64)
        ceiling = min(self.max_backoff_seconds, self.initial_backoff_seconds * growth)
        return ceiling * rng.uniform(0.5, 1.0)

    def allows(self, attempt: int) -> bool:
        return self.max_reconnects is None or attempt < self.max_reconnects


@dataclass
class _Subscription:
    """The filters the stream requests on every connection, kept across them."""

    events: frozenset[str] | None
    product_ids: frozenset[str] | None
    category: str | None

    def query(self) -> dict[str, str]:
        params: dict[str, str] = {}
        if self.events is not None:
            params["events"] = ",".join(sorted(self.events))
        if self.product_ids is not None:
            params["product_ids"] = ",".join(sorted(self.product_ids))
        if self.category is not None:
            params["category"] = self.category
        return params


def _event_position(event_id: str) -> tuple[int, int] | None:
    """Split an event id, `<epoch>-<sequence>`, or return None if it is not one."""
    epoch, separator, sequence = event_id.partition("-")
    if not separator or not epoch.isdigit() or not sequence.isdigit():
        return None
    return int(epoch), int(sequence)


@dataclass
class _StreamState:
    """The state the sync and async streams share: filters, position, attempts."""

    base_url: str
    subscription: _Subscription
    policy: ReconnectPolicy
    last_event_id: str | None
    rng: random.Random = field(default_factory=random.Random)
    failed_attempts: int = 0
    closed: bool = False

    def url(self) -> str:
        """Return the stream's WebSocket URL, with the filters and position."""
        parts = urlsplit(self.base_url.rstrip("/"))
        scheme = {"http": "ws", "https": "wss"}.get(parts.scheme, parts.scheme)
        params = self.subscription.query()
        if self.last_event_id is not None:
            params["last_event_id"] = self.last_event_id
        path = parts.path + EVENTS_PATH
        return urlunsplit((scheme, parts.netloc, path, urlencode(params), ""))

    def parse(self, text: str | bytes) -> StreamMessage | None:
        """Parse a message, or log and return None when it is malformed."""
        try:
            return parse_stream_message(text)
        except ValidationError:
            logger.warning("skipped a malformed stream message: %.200r", text)
            return None

    def should_yield(self, message: StreamMessage) -> bool:
        """Return whether to yield `message`, and move the position past it."""
        if isinstance(message, (Ping, Pong)):
            return False
        if message.id is None:
            return True
        if self._seen(message.id):
            return False
        self.last_event_id = message.id
        return True

    def _seen(self, event_id: str) -> bool:
        if self.last_event_id is None:
            return False
        last = _event_position(self.last_event_id)
        current = _event_position(event_id)
        if last is None or current is None or last[0] != current[0]:
            return False
        return current[1] <= last[1]

    def connected(self) -> None:
        self.failed_attempts = 0
        logger.info("stream connected (last_event_id=%s)", self.last_event_id)

    def next_delay(self, cause: BaseException, at_least: float = 0.0) -> float:
        """Count a failed or dropped connection; return the wait before the next.

        `at_least` is a wait the server requested, honoured up to
        `max_backoff_seconds`.
        """
        if not self.policy.allows(self.failed_attempts):
            raise EventStreamError(
                f"The stream could not reconnect after {self.failed_attempts} "
                f"attempts; the last error was: {cause}"
            ) from cause
        requested = min(at_least, self.policy.max_backoff_seconds)
        delay = max(self.policy.delay(self.failed_attempts, self.rng), requested)
        self.failed_attempts += 1
        logger.info(
            "stream reconnecting in %.2f s (attempt %d): %s",
            delay,
            self.failed_attempts,
            cause,
        )
        return delay


def _handshake_error(exc: InvalidStatus) -> StreamHandshakeError:
    response = exc.response
    error: str | None = None
    message = response.reason_phrase
    try:
        body: Any = json.loads(response.body or b"")
    except ValueError:
        body = None
    if isinstance(body, dict):
        error = body.get("error") if isinstance(body.get("error"), str) else None
        message = str(body.get("message", message))
    return StreamHandshakeError(response.status_code, error, message)


def _retry_after_seconds(exc: InvalidStatus) -> float:
    """Return the handshake response's `Retry-After` in seconds, or 0."""
    value = exc.response.headers.get("Retry-After", "")
    return float(value) if value.isascii() and value.isdigit() else 0.0


@dataclass(frozen=True)
class _Decision:
    """The action after a connection failed or ended."""

    reconnect: bool
    new_token: bool = False


def _decide_after_handshake(exc: InvalidStatus) -> _Decision:
    status = exc.response.status_code
    if status == 401:
        return _Decision(reconnect=True, new_token=True)
    return _Decision(reconnect=status in RETRYABLE_STATUSES)


def _decide_after_close(close: Close | None) -> _Decision:
    code = close.code if close is not None else None
    if code in FINAL_CLOSE_CODES:
        return _Decision(reconnect=False)
    return _Decision(reconnect=True, new_token=code == TOKEN_EXPIRED)


def _closed_error(exc: ConnectionClosed) -> StreamClosedError:
    close = exc.rcvd
    if close is None:
        return StreamClosedError(None, "The connection dropped without a close frame.")
    return StreamClosedError(close.code, close.reason)


def _subscription(
    events: Collection[str] | None,
    product_ids: Collection[str] | None,
    category: str | None,
) -> _Subscription:
    return _Subscription(
        frozenset(events) if events is not None else None,
        frozenset(product_ids) if product_ids is not None else None,
        category,
    )


def _subscribe_action(
    state: _StreamState,
    events: Collection[str] | None,
    product_ids: Collection[str] | None,
    category: str | None,
) -> str:
    """Update the kept filters and return the `subscribe` message to send."""
    action: dict[str, Any] = {"action": "subscribe", "events": sorted(events or ())}
    current = state.subscription
    if events is not None and current.events is not None:
        current.events = current.events | frozenset(events)
    if product_ids is not None:
        action["product_ids"] = sorted(product_ids)
        current.product_ids = frozenset(product_ids)
    if category is not None:
        action["category"] = category
        current.category = category
    return json.dumps(action)


def _unsubscribe_action(state: _StreamState, events: Collection[str]) -> str:
    current = state.subscription
    every = {"market_update", "system_status"}
    # NOTE: a stream unsubscribed from every type reconnects with an empty
    # `events` parameter, which the server rejects with 400.
    current.events = frozenset((current.events or every) - set(events))
    return json.dumps({"action": "unsubscribe", "events": sorted(events)})


PONG_MESSAGE: Final = json.dumps({"action": "pong"})

TRANSIENT_ERRORS: Final[tuple[type[Exception], ...]] = (
    OSError,  # TimeoutError and ConnectionRefusedError included
    InvalidHandshake,
    httpx.TransportError,
)
"""Errors of a connection attempt, or of a token fetch, that a later attempt
may not meet: the server is restarting, or the network is down for a while."""


def _delay_after_connect_error(
    state: _StreamState,
    tokens: TokenSource | AsyncTokenSource,
    exc: Exception,
    transient: tuple[type[Exception], ...],
) -> float:
    """Decide on a failed connection attempt: raise, or return the backoff."""
    if isinstance(exc, InvalidStatus):
        decision = _decide_after_handshake(exc)
        error = _handshake_error(exc)
        if not decision.reconnect:
            raise error from exc
        if decision.new_token:
            tokens.invalidate()
        return state.next_delay(error, at_least=_retry_after_seconds(exc))
    if isinstance(exc, transient):
        return state.next_delay(exc)
    raise exc


def _delay_after_close(
    state: _StreamState,
    tokens: TokenSource | AsyncTokenSource,
    exc: ConnectionClosed,
) -> float:
    """Decide on a connection that ended: raise, or return the backoff."""
    decision = _decide_after_close(exc.rcvd)
    error = _closed_error(exc)
    if not decision.reconnect:
        raise error from exc
    if decision.new_token:
        tokens.invalidate()
    return state.next_delay(error)


class _BaseStream:
    def __init__(
        self,
        base_url: str,
        *,
        events: Collection[str] | None,
        product_ids: Collection[str] | None,
        category: str | None,
        last_event_id: str | None,
        reconnect: ReconnectPolicy | None,
        open_timeout_seconds: float,
        transient_errors: tuple[type[Exception], ...],
    ) -> None:
        self.open_timeout_seconds = open_timeout_seconds
        self.transient_errors = transient_errors
        self._state = _StreamState(
            base_url,
            _subscription(events, product_ids, category),
            reconnect or ReconnectPolicy(),
            last_event_id,
        )

    @property
    def last_event_id(self) -> str | None:
        """The id of the last event yielded, where a new stream can resume."""
        return self._state.last_event_id

    @property
    def closed(self) -> bool:
        """True once `close()` was called."""
        return self._state.closed


class EventStream(_BaseStream, Iterator[StreamMessage]):
    """The event stream as a blocking iterator, on websockets' sync client.

    `events` limits the stream to `market_update`, `system_status` or both
    (the default); `product_ids` and `category` filter `market_update`.
    `last_event_id` resumes after an event that an earlier stream yielded.
    `open_timeout_seconds` bounds each handshake, and `transient_errors`
    are the errors of a handshake or of `tokens.get()` that are retried.

    Iterating yields every message except pings and pongs. The first
    message of each connection is the current `SystemStatus`, with `id`
    None. `close()` ends the iteration, also from another thread.
    """

    def __init__(
        self,
        base_url: str,
        tokens: TokenSource,
        *,
        events: Collection[str] | None = None,
        product_ids: Collection[str] | None = None,
        category: str | None = None,
        last_event_id: str | None = None,
        reconnect: ReconnectPolicy | None = None,
        open_timeout_seconds: float = 10.0,
        transient_errors: tuple[type[Exception], ...] = TRANSIENT_ERRORS,
    ) -> None:
        super().__init__(
            base_url,
            events=events,
            product_ids=product_ids,
            category=category,
            last_event_id=last_event_id,
            reconnect=reconnect,
            open_timeout_seconds=open_timeout_seconds,
            transient_errors=transient_errors,
        )
        self.tokens = tokens
        self._connection: ClientConnection | None = None
        # Holds the `connect()` context of the open connection; websockets 17
        # warns about a sync connection opened outside one.
        self._connection_context = contextlib.ExitStack()
        self._wakeup = threading.Event()

    def __iter__(self) -> Self:
        return self

    def __next__(self) -> StreamMessage:
        try:
            return self._receive()
        except Exception:
            # Like a generator that raised, the stream is finished.
            self.close()
            raise

    def _receive(self) -> StreamMessage:
        while not self._state.closed:
            connection = self._connection or self._connect()
            if connection is None:
                continue
            try:
                text = connection.recv()
            except ConnectionClosed as exc:
                self._connection = None
                self._connection_context.close()
                if not self._state.closed:
                    self._wakeup.wait(_delay_after_close(self._state, self.tokens, exc))
                continue
            message = self._state.parse(text)
            if isinstance(message, Ping):
                self._send(PONG_MESSAGE)
            elif message is not None and self._state.should_yield(message):
                return message
        raise StopIteration

    def subscribe(
        self,
        events: Collection[str] | None = None,
        *,
        product_ids: Collection[str] | None = None,
        category: str | None = None,
    ) -> None:
        """Add event types or set the `market_update` filters, now and on reconnect.

        The server replies with an `Ack`, which the iteration yields.
        """
        self._send(_subscribe_action(self._state, events, product_ids, category))

    def unsubscribe(self, events: Collection[str]) -> None:
        """Stop receiving `events`, now and on reconnect."""
        self._send(_unsubscribe_action(self._state, events))

    def close(self) -> None:
        """Close the connection and end the iteration; calling it again does nothing."""
        self._state.closed = True
        self._wakeup.set()
        connection = self._connection
        if connection is not None:
            connection.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()

    def _send(self, text: str) -> None:
        # Without a connection, or after a close, the next connection
        # requests the kept filters in its URL.
        connection = self._connection
        if connection is None:
            return
        with contextlib.suppress(ConnectionClosed):
            connection.send(text)

    def _connect(self) -> ClientConnection | None:
        state = self._state
        try:
            token = self.tokens.get()
            connection = self._connection_context.enter_context(
                connect(
                    state.url(),
                    additional_headers={"Authorization": f"Bearer {token}"},
                    open_timeout=self.open_timeout_seconds,
                    legacy=False,
                )
            )
        except Exception as exc:
            delay = _delay_after_connect_error(
                state, self.tokens, exc, self.transient_errors
            )
            self._wakeup.wait(delay)
            return None
        state.connected()
        self._connection = connection
        if state.closed:
            # `close()` ran while the handshake was under way.
            connection.close()
        return connection


class AsyncEventStream(_BaseStream, AsyncIterator[StreamMessage]):
    """The event stream as an async iterator, on websockets' asyncio client.

    It takes the same options as `EventStream`, and a token source whose
    `get` is a coroutine. `await close()` ends the iteration.
    """

    def __init__(
        self,
        base_url: str,
        tokens: AsyncTokenSource,
        *,
        events: Collection[str] | None = None,
        product_ids: Collection[str] | None = None,
        category: str | None = None,
        last_event_id: str | None = None,
        reconnect: ReconnectPolicy | None = None,
        open_timeout_seconds: float = 10.0,
        transient_errors: tuple[type[Exception], ...] = TRANSIENT_ERRORS,
    ) -> None:
        super().__init__(
            base_url,
            events=events,
            product_ids=product_ids,
            category=category,
            last_event_id=last_event_id,
            reconnect=reconnect,
            open_timeout_seconds=open_timeout_seconds,
            transient_errors=transient_errors,
        )
        self.tokens = tokens
        self._connection: AsyncClientConnection | None = None
        self._wakeup = asyncio.Event()

    def __aiter__(self) -> Self:
        return self

    async def __anext__(self) -> StreamMessage:
        try:
            return await self._receive()
        except Exception:
            # Like a generator that raised, the stream is finished. A
            # cancelled `__anext__` is not an Exception and leaves it open.
            await self.close()
            raise

    async def _receive(self) -> StreamMessage:
        while not self._state.closed:
            connection = self._connection or await self._connect()
            if connection is None:
                continue
            try:
                text = await connection.recv()
            except ConnectionClosed as exc:
                self._connection = None
                if not self._state.closed:
                    await self._sleep(_delay_after_close(self._state, self.tokens, exc))
                continue
            message = self._state.parse(text)
            if isinstance(message, Ping):
                await self._send(PONG_MESSAGE)
            elif message is not None and self._state.should_yield(message):
                return message
        raise StopAsyncIteration

    async def subscribe(
        self,
        events: Collection[str] | None = None,
        *,
        product_ids: Collection[str] | None = None,
        category: str | None = None,
    ) -> None:
        """Add event types or set the `market_update` filters, now and on reconnect.

        The server replies with an `Ack`, which the iteration yields.
        """
        await self._send(_subscribe_action(self._state, events, product_ids, category))

    async def unsubscribe(self, events: Collection[str]) -> None:
        """Stop receiving `events`, now and on reconnect."""
        await self._send(_unsubscribe_action(self._state, events))

    async def close(self) -> None:
        """Close the connection and end the iteration; calling it again does nothing."""
        self._state.closed = True
        self._wakeup.set()
        connection = self._connection
        if connection is not None:
            await connection.close()

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        await self.close()

    async def _send(self, text: str) -> None:
        # Without a connection, or after a close, the next connection
        # requests the kept filters in its URL.
        connection = self._connection
        if connection is None:
            return
        with contextlib.suppress(ConnectionClosed):
            await connection.send(text)

    async def _sleep(self, seconds: float) -> None:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._wakeup.wait(), seconds)

    async def _connect(self) -> AsyncClientConnection | None:
        state = self._state
        try:
            token = await self.tokens.get()
            connection = await async_connect(
                state.url(),
                additional_headers={"Authorization": f"Bearer {token}"},
                open_timeout=self.open_timeout_seconds,
            )
        except Exception as exc:
            delay = _delay_after_connect_error(
                state, self.tokens, exc, self.transient_errors
            )
            await self._sleep(delay)
            return None
        state.connected()
        self._connection = connection
        if state.closed:
            await connection.close()
        return connection
