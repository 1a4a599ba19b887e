"""Fixtures: the API both as a real server process and in-process.

Tests that take `api` run twice: once over real sockets against
`techcorp-server serve`, once against the ASGI app in this process. Both use
a fresh SQLite file and the same bootstrap admin client, and a rate limit
high enough that the suite never meets it; rate-limit tests start servers of
their own.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import httpx
import pytest
from asgi_lifespan import LifespanManager

from techcorp_server.app import create_app
from techcorp_server.settings import Settings

from .utils.api import ADMIN_CLIENT_ID, ADMIN_CLIENT_SECRET, client_token
from .utils.backends import database_url, redis_url
from .utils.server import ServerProcess

UNLIMITED = str(10**9)


def server_env() -> dict[str, str]:
    return {
        "TECHCORP_BOOTSTRAP_CLIENT_ID": ADMIN_CLIENT_ID,
        "TECHCORP_BOOTSTRAP_CLIENT_SECRET": ADMIN_CLIENT_SECRET,
        "TECHCORP_RATE_LIMIT_PER_MINUTE": UNLIMITED,
    }


def app_settings(data_dir: Path, **overrides: object) -> Settings:
    values: dict[str, object] = {
        "database_url": database_url(data_dir),
        "redis_url": redis_url(data_dir),
        "bootstrap_client_id": ADMIN_CLIENT_ID,
        "bootstrap_client_secret": ADMIN_CLIENT_SECRET,
        "rate_limit_per_minute": int(UNLIMITED),
        "log_format": "json",
    }
    values.update(overrides)
    return Settings.model_validate(values)


@pytest.fixture(scope="session")
def server_process(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    server = ServerProcess(tmp_path_factory.mktemp("server"), server_env())
    server.start()
    yield server
    server.stop()


@pytest.fixture(scope="session")
async def inprocess_client(
    tmp_path_factory: pytest.TempPathFactory,
) -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(app_settings(tmp_path_factory.mktemp("inprocess")))
    async with LifespanManager(app) as manager:
        transport = httpx.ASGITransport(app=manager.app, client=("127.0.0.1", 50000))
        async with httpx.AsyncClient(
            transport=transport, base_url="http://testserver"
        ) as client:
            yield client


@pytest.fixture(scope="session")
async def http_client(
    server_process: ServerProcess,
) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(
        base_url=server_process.base_url, timeout=30
    ) as client:
        yield client


@pytest.fixture(params=["http", "inprocess"])
def api(
    request: pytest.FixtureRequest,
) -> httpx.AsyncClient:
    """An HTTP client for the API, over a socket or in-process."""
    client: httpx.AsyncClient = request.getfixturevalue(f"{request.param}_client")
    return client


@pytest.fixture
async def admin_token(api: httpx.AsyncClient) -> str:
    return await client_token(api)
