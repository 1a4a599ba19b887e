"""The watchdog that cuts off request bodies which stop arriving."""

from __future__ import annotations

import asyncio
import time

import pytest
from starlette.types import Message, Receive, Scope, Send

from techcorp_server.core.body_limit import BodyLimitMiddleware

TIMEOUT_SECONDS = 0.2


async def reading_app(scope: Scope, receive: Receive, send: Send) -> None:
    while (await receive()).get("more_body", False):
        pass
    await send({"type": "http.response.start", "status": 200, "headers": []})
    await send({"type": "http.response.body", "body": b"read"})


def post_scope() -> Scope:
    return {
        "type": "http",
        "http_version": "1.1",
        "method": "POST",
        "path": "/v2/users",
        "headers": [(b"content-length", b"100")],
        "state": {},
    }


async def stalled_receive() -> Message:
    await asyncio.Event().wait()
    raise AssertionError("unreachable")


async def test_stalled_body_gets_408() -> None:
    middleware = BodyLimitMiddleware(
        reading_app, max_body_bytes=1024, read_timeout_seconds=TIMEOUT_SECONDS
    )
    sent: list[Message] = []

    async def send(message: Message) -> None:
        sent.append(message)

    started = time.monotonic()
    await asyncio.wait_for(middleware(post_scope(), stalled_receive, send), timeout=2)
    elapsed = time.monotonic() - started

    assert sent[0]["status"] == 408
    assert TIMEOUT_SECONDS <= elapsed < TIMEOUT_SECONDS + 0.5


async def test_other_cancellation_propagates() -> None:
    middleware = BodyLimitMiddleware(
        reading_app, max_body_bytes=1024, read_timeout_seconds=10
    )
    sent: list[Message] = []

    async def send(message: Message) -> None:
        sent.append(message)

    task = asyncio.create_task(middleware(post_scope(), stalled_receive, send))
    await asyncio.sleep(0.05)
    task.cancel()

    with pytest.raises(asyncio.CancelledError):
        await task
    assert sent == []


async def test_reads_in_time_unaffected() -> None:
    middleware = BodyLimitMiddleware(
        reading_app, max_body_bytes=1024, read_timeout_seconds=TIMEOUT_SECONDS
    )
    chunks = [b"a" * 50, b"b" * 50]
    sent: list[Message] = []

    async def slow_receive() -> Message:
        await asyncio.sleep(TIMEOUT_SECONDS / 2)
        body = chunks.pop(0)
        return {"type": "http.request", "body": body, "more_body": bool(chunks)}

    async def send(message: Message) -> None:
        sent.append(message)

    await middleware(post_scope(), slow_receive, send)

    assert sent[0]["status"] == 200
    assert sent[1]["body"] == b"read"
