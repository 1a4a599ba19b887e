"""A small Starlette app wrapped in the server's middleware, as `app.py` does.

Its endpoints fail on purpose, so every error path of the HTTP layer can be
reached without the domain modules.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import httpx
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response, StreamingResponse
from starlette.routing import Route, WebSocketRoute
from starlette.types import ASGIApp, Message, Scope
from starlette.websockets import WebSocket

from techcorp_server.core.body_limit import BodyLimitMiddleware
from techcorp_server.core.errors import ConflictError, UnauthorizedError
from techcorp_server.core.handlers import EXCEPTION_HANDLERS
from techcorp_server.core.http import json_response, read_json_object
from techcorp_server.core.request_context import RequestContextMiddleware
from techcorp_server.ratelimit.limiter import MemoryRateLimiter, RateLimiter
from techcorp_server.ratelimit.middleware import RateLimitMiddleware

CRASH_TEXT = "secret internals: SELECT * FROM users WHERE password = 'hunter2'"
MAX_BODY_BYTES = 1024


async def read_item(request: Request) -> Response:
    return json_response({"id": request.path_params["item_id"]})


async def create_item(request: Request) -> Response:
    document = await read_json_object(request)
    return json_response({"received": document}, status_code=201)


async def echo_size(request: Request) -> Response:
    body = await request.body()
    return json_response({"bytes": len(body)})


async def crash(request: Request) -> Response:
    raise RuntimeError(CRASH_TEXT)


async def crash_midway(request: Request) -> Response:
    async def chunks() -> AsyncIterator[bytes]:
        yield b"partial"
        raise RuntimeError(CRASH_TEXT)

    return StreamingResponse(chunks())


async def conflict(request: Request) -> Response:
    raise ConflictError(
        "The email is taken.",
        details=[{"field": "email", "message": "Already registered."}],
        headers={"X-Conflict": "email"},
    )


async def plain(request: Request) -> Response:
    return PlainTextResponse("plain")


async def private_stream(websocket: WebSocket) -> None:
    raise UnauthorizedError(
        "Send a bearer token in the Authorization header.",
        headers={"WWW-Authenticate": "Bearer"},
    )


async def stream(websocket: WebSocket) -> None:
    await websocket.accept()
    await websocket.send_json({"hello": "world"})
    await websocket.close()


def build_app(
    *,
    limiter: RateLimiter | None = None,
    max_body_bytes: int = MAX_BODY_BYTES,
    read_timeout_seconds: float = 1.0,
    access_log: bool = True,
) -> ASGIApp:
    routes = [
        Route("/v2/items/{item_id}", read_item, methods=["GET"]),
        Route("/v2/items", create_item, methods=["POST"]),
        Route("/v2/size", echo_size, methods=["POST", "PUT"]),
        Route("/v2/crash", crash),
        Route("/v2/crash-midway", crash_midway),
        Route("/v2/conflict", conflict),
        Route("/healthz", plain),
        WebSocketRoute("/v2/stream", stream),
        WebSocketRoute("/stream", stream),
        WebSocketRoute("/v2/private-stream", private_stream),
    ]
    app = Starlette(routes=routes, exception_handlers=EXCEPTION_HANDLERS)
    stack: ASGIApp = BodyLimitMiddleware(
        app, max_body_bytes=max_body_bytes, read_timeout_seconds=read_timeout_seconds
    )
    stack = RateLimitMiddleware(
        stack, limiter=limiter or MemoryRateLimiter(limit=10**9, window_seconds=60)
    )
    return RequestContextMiddleware(stack, access_log=access_log)


def client_for(app: ASGIApp, client_ip: str = "127.0.0.1") -> httpx.AsyncClient:
    transport = httpx.ASGITransport(app=app, client=(client_ip, 50000))
    return httpx.AsyncClient(transport=transport, base_url="http://testserver")


async def open_websocket(
    app: ASGIApp,
    path: str,
    *,
    headers: list[tuple[bytes, bytes]] | None = None,
    client_ip: str = "127.0.0.1",
    denial_response: bool = True,
) -> list[Message]:
    """Run one WebSocket connection as an ASGI server would; return what was sent.

    The client sends the handshake, then disconnects once the app has accepted
    or refused it. `denial_response` sets whether the server offers the
    extension that lets an app refuse with an HTTP response.
    """
    sent: list[Message] = []
    answered = asyncio.Event()
    handshake_sent = False

    async def receive() -> Message:
        nonlocal handshake_sent
        if not handshake_sent:
            handshake_sent = True
            return {"type": "websocket.connect"}
        await answered.wait()
        return {"type": "websocket.disconnect", "code": 1000}

    async def send(message: Message) -> None:
        sent.append(message)
        if message["type"] in ("websocket.close", "websocket.http.response.body"):
            answered.set()

    scope: Scope = {
        "type": "websocket",
        "asgi": {"version": "3.0", "spec_version": "2.4"},
        "http_version": "1.1",
        "scheme": "ws",
        "path": path,
        "raw_path": path.encode(),
        "query_string": b"",
        "root_path": "",
        "headers": [(b"host", b"testserver"), *(headers or [])],
        "client": (client_ip, 50000),
        "server": ("testserver", 80),
        "subprotocols": [],
        "extensions": {"websocket.http.response": {}} if denial_response else {},
    }
    await asyncio.wait_for(app(scope, receive, send), timeout=5)
    return sent
