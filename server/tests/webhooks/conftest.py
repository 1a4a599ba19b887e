"""Fixtures: the API with loopback webhooks allowed, and a loopback receiver.

The servers here allow `http` and loopback webhook URLs, as
`TECHCORP_WEBHOOK_ALLOW_PRIVATE=true` does for development, and retry after
fractions of a second, so retries show within a test.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from typing import Any

import httpx
import pytest
from asgi_lifespan import LifespanManager

from techcorp_server.app import create_app

from ..conftest import app_settings, server_env
from ..utils.api import bearer, client_token
from ..utils.server import ServerProcess
from .receiver import Receiver

FAST_RETRIES = {
    "webhook_allow_private": "true",
    "webhook_retry_base_seconds": "0.2",
    "webhook_retry_max_delay_seconds": "1",
    "webhook_timeout_seconds": "2",
    "webhook_lease_seconds": "5",
    "webhook_poll_seconds": "0.2",
}


def webhook_server_env(**overrides: str) -> dict[str, str]:
    settings = {**FAST_RETRIES, **overrides}
    variables = {f"TECHCORP_{name.upper()}": value for name, value in settings.items()}
    return {**server_env(), **variables}


@pytest.fixture(scope="session")
def webhook_server(
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[ServerProcess]:
    server = ServerProcess(tmp_path_factory.mktemp("webhooks"), webhook_server_env())
    server.start()
    yield server
    server.stop()


@pytest.fixture(scope="session")
async def webhook_http_client(
    webhook_server: ServerProcess,
) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(
        base_url=webhook_server.base_url, timeout=30
    ) as client:
        yield client


@pytest.fixture(scope="session")
async def webhook_inprocess_client(
    tmp_path_factory: pytest.TempPathFactory,
) -> AsyncIterator[httpx.AsyncClient]:
    settings = app_settings(
        tmp_path_factory.mktemp("webhooks-inprocess"), **FAST_RETRIES
    )
    app = create_app(settings)
    async with LifespanManager(app) as manager:
        transport = httpx.ASGITransport(app=manager.app, client=("127.0.0.1", 50000))
        async with httpx.AsyncClient(
            transport=transport, base_url="http://testserver"
        ) as client:
            yield client


@pytest.fixture(params=["http", "inprocess"])
def hooks(request: pytest.FixtureRequest) -> httpx.AsyncClient:
    """The API of a server that may send webhooks to loopback."""
    client: httpx.AsyncClient = request.getfixturevalue(
        f"webhook_{request.param}_client"
    )
    return client


@pytest.fixture
async def hooks_admin(hooks: httpx.AsyncClient) -> dict[str, str]:
    return bearer(await client_token(hooks))


@pytest.fixture
async def receiver() -> AsyncIterator[Receiver]:
    receiver = Receiver()
    await receiver.start()
    yield receiver
    await receiver.stop()


RegisterEndpoint = Callable[..., Awaitable[dict[str, Any]]]


@pytest.fixture
async def register(
    hooks: httpx.AsyncClient, hooks_admin: dict[str, str]
) -> AsyncIterator[RegisterEndpoint]:
    """Register webhook endpoints, deleted again when the test ends."""
    created: list[str] = []

    async def register_endpoint(
        url: str, events: Any = "*", **fields: Any
    ) -> dict[str, Any]:
        response = await hooks.post(
            "/v2/webhooks",
            json={"url": url, "events": events, **fields},
            headers=hooks_admin,
        )
        assert response.status_code == 201, response.text
        endpoint: dict[str, Any] = response.json()
        created.append(endpoint["id"])
        return endpoint

    yield register_endpoint
    for webhook_id in created:
        await hooks.delete(f"/v2/webhooks/{webhook_id}", headers=hooks_admin)
