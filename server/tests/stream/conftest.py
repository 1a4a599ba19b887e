"""Fixtures for the event stream: real server processes and WebSocket clients.

The stream runs only under a real server (granian's WebSocket support), so
these tests talk to `techcorp-server serve` processes over loopback with the
`websockets` client. Servers with special settings are started per module.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator

import httpx
import pytest

from ..utils.api import client_token
from ..utils.server import ServerProcess
from .client import start_server


@pytest.fixture(scope="session")
def stream_server(
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[ServerProcess]:
    server = start_server(tmp_path_factory, "stream")
    yield server
    server.stop()


@pytest.fixture(scope="session")
async def stream_api(stream_server: ServerProcess) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=stream_server.base_url, timeout=30) as api:
        yield api


@pytest.fixture(scope="session")
async def stream_admin_token(stream_api: httpx.AsyncClient) -> str:
    return await client_token(stream_api)
