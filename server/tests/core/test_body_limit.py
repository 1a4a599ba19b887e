"""Request body limits: size by header, size while reading, and stalled bodies."""

from __future__ import annotations

import asyncio
import json
import socket
import time
from collections.abc import AsyncIterator, Iterator
from typing import Any

import pytest
from starlette.types import Message, Scope

from techcorp_server.core.body_limit import BodyLimitMiddleware

from ..conftest import server_env
from ..utils.api import assert_error
from ..utils.server import ServerProcess
from .stack import MAX_BODY_BYTES, build_app, client_for

SERVER_BODY_TIMEOUT_SECONDS = 1.0
SERVER_MAX_BODY_BYTES = 1024 * 1024


def _scope(headers: list[tuple[bytes, bytes]]) -> Scope:
    return {
        "type": "http",
        "http_version": "1.1",
        "method": "POST",
        "path": "/v2/size",
        "raw_path": b"/v2/size",
        "query_string": b"",
        "headers": headers,
        "client": ("127.0.0.1", 50000),
        "server": ("testserver", 80),
        "scheme": "http",
        "root_path": "",
    }


async def _read_whole_body(scope: Scope, receive: Any, send: Any) -> None:
    """An inner app that reads the body and responds 200 with its size."""
    size = 0
    while True:
        message = await receive()
        size += len(message.get("body", b""))
        if not message.get("more_body", False):
            break
    body = json.dumps({"bytes": size}).encode()
    await send({"type": "http.response.start", "status": 200, "headers": []})
    await send({"type": "http.response.body", "body": body})


async def _call(
    app: Any, scope: Scope, chunks: list[bytes], *, stall: bool = False
) -> tuple[list[Message], int]:
    """Send `chunks` as the body (the last one ends it unless `stall`)."""
    sent: list[Message] = []
    reads = 0

    async def receive() -> Message:
        nonlocal reads
        reads += 1
        if reads <= len(chunks):
            more_body = stall or reads < len(chunks)
            return {
                "type": "http.request",
                "body": chunks[reads - 1],
                "more_body": more_body,
            }
        await asyncio.sleep(3600)
        return {"type": "http.disconnect"}

    async def send(message: Message) -> None:
        sent.append(message)

    await asyncio.wait_for(app(scope, receive, send), timeout=5)
    return sent, reads


def _status_and_body(sent: list[Message]) -> tuple[int, dict[str, Any]]:
    start = next(m for m in sent if m["type"] == "http.response.start")
    body = b"".join(m.get("body", b"") for m in sent[1:])
    document: dict[str, Any] = json.loads(body)
    return start["status"], document


def _limited(app: Any = _read_whole_body, timeout: float = 0.2) -> BodyLimitMiddleware:
    return BodyLimitMiddleware(
        app, max_body_bytes=MAX_BODY_BYTES, read_timeout_seconds=timeout
    )


async def test_oversized_declared_body_unread() -> None:
    scope = _scope([(b"content-length", b"1025")])
    sent, reads = await _call(_limited(), scope, [b"x" * 1025])

    status, body = _status_and_body(sent)
    assert status == 413
    assert body["error"] == "payload_too_large"
    assert reads == 0


async def test_oversized_declared_body_413() -> None:
    async with client_for(build_app()) as client:
        response = await client.post("/v2/size", content=b"x" * (MAX_BODY_BYTES + 1))

    body = assert_error(response, 413, "payload_too_large")
    assert str(MAX_BODY_BYTES) in body["message"]
    assert response.headers["Connection"] == "close"


async def test_body_at_limit_passes() -> None:
    async with client_for(build_app()) as client:
        response = await client.post("/v2/size", content=b"x" * MAX_BODY_BYTES)

    assert response.status_code == 200
    assert response.json() == {"bytes": MAX_BODY_BYTES}


async def test_chunked_body_cut_off_at_limit() -> None:
    async def chunks() -> AsyncIterator[bytes]:
        for _ in range(10):
            yield b"x" * 200

    async with client_for(build_app()) as client:
        response = await client.post("/v2/size", content=chunks())

    assert response.request.headers["Transfer-Encoding"] == "chunked"
    assert_error(response, 413, "payload_too_large")


async def test_chunked_body_under_limit_passes() -> None:
    async def chunks() -> AsyncIterator[bytes]:
        for _ in range(5):
            yield b"x" * 200

    async with client_for(build_app()) as client:
        response = await client.post("/v2/size", content=chunks())

    assert response.status_code == 200
    assert response.json() == {"bytes": 1000}


async def test_body_longer_than_declared_is_bad_request() -> None:
    scope = _scope([(b"content-length", b"10")])
    sent, _ = await _call(_limited(), scope, [b"x" * 8, b"x" * 8])

    status, body = _status_and_body(sent)
    assert status == 400
    assert body["error"] == "bad_request"


async def test_malformed_content_length_is_bad_request() -> None:
    scope = _scope([(b"content-length", b"12abc")])
    sent, reads = await _call(_limited(), scope, [b"x"])

    status, body = _status_and_body(sent)
    assert status == 400
    assert "Content-Length" in body["message"]
    assert reads == 0


async def test_stalled_body_times_out() -> None:
    scope = _scope([(b"content-length", b"100")])
    started = time.monotonic()
    sent, _ = await _call(_limited(timeout=0.2), scope, [b"x" * 10], stall=True)

    status, body = _status_and_body(sent)
    assert status == 408
    assert body["error"] == "request_timeout"
    assert time.monotonic() - started < 2


async def test_wait_after_body_no_timeout() -> None:
    # Streaming responses wait on receive() for a disconnect after the body
    # is read; that wait is not a stalled upload.
    async def read_then_wait(scope: Scope, receive: Any, send: Any) -> None:
        await receive()
        waiter = asyncio.ensure_future(receive())
        done, _ = await asyncio.wait({waiter}, timeout=0.5)
        waiter.cancel()
        status = 500 if done else 200
        await send({"type": "http.response.start", "status": status, "headers": []})
        await send({"type": "http.response.body", "body": b"{}"})

    scope = _scope([(b"content-length", b"2")])
    sent, _ = await _call(_limited(read_then_wait, timeout=0.1), scope, [b"{}"])

    status, _ = _status_and_body(sent)
    assert status == 200


# Against a real server process, over raw sockets: a stalled body there ties
# up a real connection, which is what the timeout exists for.


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    env = {
        **server_env(),
        "TECHCORP_BODY_READ_TIMEOUT_SECONDS": str(SERVER_BODY_TIMEOUT_SECONDS),
    }
    process = ServerProcess(tmp_path_factory.mktemp("body-limit"), env)
    process.start()
    yield process
    process.stop()


def _raw_request(server: ServerProcess, request: bytes, wait_seconds: float) -> bytes:
    """Send raw bytes and return everything the server sends back in time."""
    with socket.create_connection(("127.0.0.1", server.port), timeout=10) as sock:
        sock.sendall(request)
        sock.settimeout(wait_seconds)
        received = b""
        try:
            while True:
                chunk = sock.recv(65536)
                if not chunk:
                    break
                received += chunk
                if b"\r\n\r\n" in received and received.rstrip().endswith(b"}"):
                    break
        except TimeoutError:
            pass
    return received


def _parse(raw: bytes) -> tuple[int, dict[str, str], dict[str, Any]]:
    head, _, body = raw.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split(" ")[1])
    headers = {}
    for line in lines[1:]:
        name, _, value = line.partition(":")
        headers[name.strip().lower()] = value.strip()
    if headers.get("transfer-encoding") == "chunked":
        body = body.split(b"\r\n", 1)[1].rsplit(b"\r\n0\r\n", 1)[0]
    return status, headers, json.loads(body)


def test_server_stalled_body_408(server: ServerProcess) -> None:
    request = (
        b"POST /v2/auth/token HTTP/1.1\r\n"
        b"Host: 127.0.0.1\r\n"
        b"Content-Type: application/json\r\n"
        b"Content-Length: 200\r\n"
        b"\r\n"
        b'{"client_id": "x", '
    )
    started = time.monotonic()
    raw = _raw_request(server, request, wait_seconds=SERVER_BODY_TIMEOUT_SECONDS + 5)
    elapsed = time.monotonic() - started

    assert raw, "the server sent nothing before the socket timed out"
    status, headers, body = _parse(raw)
    assert status == 408
    assert body["error"] == "request_timeout"
    assert body["request_id"] == headers["x-request-id"]
    assert elapsed >= SERVER_BODY_TIMEOUT_SECONDS * 0.9
    assert elapsed < SERVER_BODY_TIMEOUT_SECONDS + 4


def test_server_huge_declared_body_413(server: ServerProcess) -> None:
    request = (
        b"POST /v2/auth/token HTTP/1.1\r\n"
        b"Host: 127.0.0.1\r\n"
        b"Content-Type: application/json\r\n"
        b"Content-Length: 50000000\r\n"
        b"\r\n"
    )
    raw = _raw_request(server, request, wait_seconds=5)

    status, headers, body = _parse(raw)
    assert status == 413
    assert body["error"] == "payload_too_large"
    assert "x-ratelimit-limit" in headers


def test_server_chunked_body_413(server: ServerProcess) -> None:
    chunk = b"x" * 65536
    framed = b"%x\r\n%s\r\n" % (len(chunk), chunk)
    count = SERVER_MAX_BODY_BYTES // len(chunk) + 2
    request = (
        b"POST /v2/auth/token HTTP/1.1\r\n"
        b"Host: 127.0.0.1\r\n"
        b"Content-Type: application/json\r\n"
        b"Transfer-Encoding: chunked\r\n"
        b"\r\n" + framed * count + b"0\r\n\r\n"
    )
    raw = _raw_request(server, request, wait_seconds=5)

    status, _, body = _parse(raw)
    assert status == 413
    assert body["error"] == "payload_too_large"
