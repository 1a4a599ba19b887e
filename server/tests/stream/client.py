"""A WebSocket client for the stream, and servers started for it."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from typing import Any

import orjson
import pytest
from websockets.asyncio.client import ClientConnection, connect

from ..conftest import server_env
from ..utils.server import ServerProcess

RECEIVE_TIMEOUT_SECONDS = 5.0


def start_server(
    tmp_path_factory: pytest.TempPathFactory, name: str, **settings: str
) -> ServerProcess:
    """Start a server whose `TECHCORP_` settings are the test defaults plus these."""
    env = server_env()
    env.update({f"TECHCORP_{key.upper()}": value for key, value in settings.items()})
    server = ServerProcess(tmp_path_factory.mktemp(name), env)
    server.start()
    return server


def stream_url(server: ServerProcess, query: str = "") -> str:
    url = server.base_url.replace("http://", "ws://") + "/v2/events"
    return f"{url}?{query}" if query else url


def open_stream(
    server: ServerProcess,
    token: str | None = None,
    *,
    query: str = "",
    subprotocols: Sequence[str] | None = None,
    **options: Any,
) -> Any:
    """Connect to `/v2/events`, with the token in the Authorization header."""
    headers = {"Authorization": f"Bearer {token}"} if token is not None else None
    return connect(
        stream_url(server, query),
        additional_headers=headers,
        subprotocols=list(subprotocols) if subprotocols else None,
        open_timeout=RECEIVE_TIMEOUT_SECONDS,
        # The client answers protocol pings itself; these tests leave the
        # connection quiet unless they mean to talk.
        ping_interval=None,
        **options,
    )


async def receive(
    websocket: ClientConnection, seconds: float = RECEIVE_TIMEOUT_SECONDS
) -> dict[str, Any]:
    text = await asyncio.wait_for(websocket.recv(), seconds)
    message: dict[str, Any] = orjson.loads(text)
    return message


async def receive_type(
    websocket: ClientConnection,
    message_type: str,
    seconds: float = RECEIVE_TIMEOUT_SECONDS,
) -> dict[str, Any]:
    """Receive messages until one of `message_type` arrives, skipping others."""
    async with asyncio.timeout(seconds):
        while True:
            message = await receive(websocket, seconds)
            if message["type"] == message_type:
                return message


async def send(websocket: ClientConnection, message: dict[str, Any]) -> None:
    await websocket.send(orjson.dumps(message).decode())


async def opened(websocket: ClientConnection) -> dict[str, Any]:
    """Receive the status snapshot every connection starts with."""
    message = await receive(websocket)
    assert message["type"] == "system_status", message
    assert message["id"] is None
    return message
