"""Request body limits: a size cap, and a timeout for bodies that stop arriving.

A declared `Content-Length` over the limit gets a 413 response before any of
the body is read. Bodies without one (chunked, HTTP/2) are counted as they
are read and cut off with 413 at the limit. A client that declares more than
it sends gets 408 once no data has come for `read_timeout_seconds` (checked
every quarter of that, at most every second), so a stalled upload cannot hold
a request open forever.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from .errors import (
    APIError,
    BadRequestError,
    PayloadTooLargeError,
    RequestTimeoutError,
)
from .handlers import error_response, request_id_of

# A request whose body is cut short leaves unread bytes on the connection, so
# it cannot be reused for the next request.
_CLOSE_HEADERS = {"Connection": "close"}


def _close_headers(scope: Scope) -> dict[str, str] | None:
    # `Connection` is forbidden in HTTP/2 and later (RFC 9113 section 8.2.2).
    if scope.get("http_version", "1.1") in ("1.0", "1.1"):
        return _CLOSE_HEADERS
    return None


def _framing(scope: Scope) -> tuple[bytes | None, bool]:
    """Return the `Content-Length` value, if any, and whether a
    `Transfer-Encoding` is set."""
    content_length: bytes | None = None
    chunked = False
    for name, value in scope["headers"]:
        if name == b"content-length":
            content_length = value
        elif name == b"transfer-encoding":
            chunked = True
    return content_length, chunked


class StalledReadWatchdog:
    """Cancels body reads that have waited past their deadline.

    One sweep every `interval_seconds` replaces a timer per read: under
    granian a timer per read (`asyncio.timeout`) cost about 25 µs a request,
    while an entry in this dictionary costs well under one. A stalled read is
    therefore cut off up to one interval after its deadline.
    """

    def __init__(self, interval_seconds: float) -> None:
        self._interval_seconds = interval_seconds
        self._deadlines: dict[asyncio.Task[Any], float] = {}
        self._timed_out: set[asyncio.Task[Any]] = set()
        self._sweeper: asyncio.Task[None] | None = None

    def watch(self, task: asyncio.Task[Any], deadline: float) -> None:
        self._deadlines[task] = deadline
        if self._sweeper is None or self._sweeper.done():
            self._sweeper = asyncio.get_running_loop().create_task(self._sweep())

    def release(self, task: asyncio.Task[Any]) -> bool:
        """Stop watching `task`; return whether it was cancelled for timing out."""
        self._deadlines.pop(task, None)
        if task in self._timed_out:
            self._timed_out.discard(task)
            return True
        return False

    async def _sweep(self) -> None:
        # The sweeper ends when nothing is left to watch, so an idle server
        # keeps no timer running; the next read starts it again.
        while self._deadlines:
            await asyncio.sleep(self._interval_seconds)
            now = time.monotonic()
            for task, deadline in list(self._deadlines.items()):
                if deadline <= now:
                    del self._deadlines[task]
                    self._timed_out.add(task)
                    task.cancel()


class BodyLimitMiddleware:
    """Cap request bodies at `max_body_bytes` and time out stalled reads."""

    def __init__(
        self, app: ASGIApp, *, max_body_bytes: int, read_timeout_seconds: float
    ) -> None:
        self.app = app
        self.max_body_bytes = max_body_bytes
        self.read_timeout_seconds = read_timeout_seconds
        self.watchdog = StalledReadWatchdog(
            interval_seconds=min(1.0, read_timeout_seconds / 4)
        )

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        content_length, chunked = _framing(scope)
        if content_length is None:
            # Without Content-Length or Transfer-Encoding an HTTP/1.x request
            # has no body (RFC 9112 section 6.3). An HTTP/2 request may.
            if not chunked and scope.get("http_version") in ("1.0", "1.1"):
                await self.app(scope, receive, send)
                return
            await self._read_limited(scope, receive, send, None)
            return

        try:
            length = self._declared_length(scope, content_length)
        except APIError as error:
            await error_response(error, request_id_of(scope))(scope, receive, send)
            return

        if length == 0 and not chunked:
            await self.app(scope, receive, send)
            return
        await self._read_limited(scope, receive, send, length)

    def _declared_length(self, scope: Scope, content_length: bytes) -> int:
        """Parse `Content-Length`, raising 400 if malformed and 413 if too large."""
        declared = content_length.strip()
        if not declared.isdigit():
            shown = declared[:40].decode("latin-1")
            raise BadRequestError(
                f"The Content-Length header must be a number of bytes, got {shown!r}.",
                headers=_close_headers(scope),
            )

        length = int(declared)
        if length > self.max_body_bytes:
            raise PayloadTooLargeError(
                f"The request body is {length} bytes, over the limit of "
                f"{self.max_body_bytes} bytes. Send a smaller body.",
                headers=_close_headers(scope),
            )
        return length

    async def _read_limited(
        self, scope: Scope, receive: Receive, send: Send, declared: int | None
    ) -> None:
        reader = _BodyReader(
            receive,
            max_body_bytes=self.max_body_bytes,
            declared_bytes=declared,
            read_timeout_seconds=self.read_timeout_seconds,
            close_headers=_close_headers(scope),
            watchdog=self.watchdog,
        )
        response_started = False

        async def send_tracking_start(message: Message) -> None:
            nonlocal response_started
            if message["type"] == "http.response.start":
                response_started = True
            await send(message)

        try:
            await self.app(scope, reader.receive, send_tracking_start)
        except APIError as exc:
            # Inside a Starlette app its exception handlers render these errors.
            # This branch covers an inner app that lets the reader's error out.
            if exc is not reader.error or response_started:
                raise
            await error_response(exc, request_id_of(scope))(scope, receive, send)


class _BodyReader:
    """Wraps `receive`, counting body bytes and timing out stalled reads."""

    def __init__(
        self,
        receive: Receive,
        *,
        max_body_bytes: int,
        declared_bytes: int | None,
        read_timeout_seconds: float,
        close_headers: dict[str, str] | None,
        watchdog: StalledReadWatchdog,
    ) -> None:
        self._receive = receive
        self._watchdog = watchdog
        self._max_body_bytes = max_body_bytes
        self._declared_bytes = declared_bytes
        self._read_timeout_seconds = read_timeout_seconds
        self._close_headers = close_headers
        self._received_bytes = 0
        self._complete = False
        self.error: APIError | None = None

    async def receive(self) -> Message:
        if self._complete:
            # After the body only `http.disconnect` can come, and waiting for
            # it (as streaming responses do) must not time out.
            return await self._receive()

        task = asyncio.current_task()
        assert task is not None
        self._watchdog.watch(task, time.monotonic() + self._read_timeout_seconds)
        try:
            message = await self._receive()
        except asyncio.CancelledError:
            if not self._watchdog.release(task):
                raise
            task.uncancel()
            raise self._fail(
                RequestTimeoutError(
                    "The request body stopped arriving: no data came for "
                    f"{self._read_timeout_seconds:g} seconds. Send the whole "
                    "body without pausing.",
                    headers=self._close_headers,
                )
            ) from None
        self._watchdog.release(task)

        if message["type"] == "http.request":
            self._count(message)
        return message

    def _count(self, message: Message) -> None:
        self._received_bytes += len(message.get("body", b""))
        if not message.get("more_body", False):
            self._complete = True

        if self._received_bytes > self._max_body_bytes:
            raise self._fail(
                PayloadTooLargeError(
                    "The request body exceeds the limit of "
                    f"{self._max_body_bytes} bytes.",
                    headers=self._close_headers,
                )
            )
        if self._declared_bytes is not None and (
            self._received_bytes > self._declared_bytes
        ):
            raise self._fail(
                BadRequestError(
                    "The request body is longer than its Content-Length.",
                    headers=self._close_headers,
                )
            )

    def _fail(self, error: APIError) -> APIError:
        self.error = error
        return error
