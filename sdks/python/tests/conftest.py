"""Fixtures: real server processes shared by the SDK's tests, and clients."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator

import pytest

from techcorp import AsyncTechCorp, TechCorp

from .server import LocalServer, admin_client, async_admin_client

RATE_LIMIT = 5
RATE_LIMIT_WINDOW_SECONDS = 2


def _serve(
    factory: pytest.TempPathFactory,
    name: str,
    env: dict[str, str] | None = None,
    *,
    demo_data: bool = False,
) -> Iterator[LocalServer]:
    process = LocalServer(factory.mktemp(name), env)
    if demo_data:
        process.load_demo_data()
    process.start()
    yield process
    process.stop()


@pytest.fixture(scope="session")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalServer]:
    # Webhook endpoints on loopback are refused unless private URLs are allowed.
    env = {"TECHCORP_WEBHOOK_ALLOW_PRIVATE": "true"}
    yield from _serve(tmp_path_factory, "server", env)


@pytest.fixture(scope="session")
def limited_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalServer]:
    """A server that allows `RATE_LIMIT` requests per short window."""
    env = {
        "TECHCORP_RATE_LIMIT_PER_MINUTE": str(RATE_LIMIT),
        "TECHCORP_RATE_LIMIT_WINDOW_SECONDS": str(RATE_LIMIT_WINDOW_SECONDS),
    }
    yield from _serve(tmp_path_factory, "limited", env)


@pytest.fixture(scope="session")
def demo_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalServer]:
    """A server like `scripts/demo.sh` starts: demo data and demo credentials."""
    env = {
        "TECHCORP_BOOTSTRAP_CLIENT_ID": "your_id",
        "TECHCORP_BOOTSTRAP_CLIENT_SECRET": "your_secret",
    }
    yield from _serve(tmp_path_factory, "demo", env, demo_data=True)


@pytest.fixture
def client(server: LocalServer) -> Iterator[TechCorp]:
    with admin_client(server) as client:
        yield client


@pytest.fixture
async def async_client(server: LocalServer) -> AsyncIterator[AsyncTechCorp]:
    async with async_admin_client(server) as client:
        yield client
