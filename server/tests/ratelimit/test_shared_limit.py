"""Two server processes counting against one limit in a real Redis server."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from ..conftest import server_env
from ..utils.redis_server import RedisServer
from ..utils.server import ServerProcess
from .test_server import _raw_get


def _processes(tmp_path: Path, redis_url: str, count: int) -> list[ServerProcess]:
    env = {
        **server_env(),
        "TECHCORP_DATABASE_URL": f"sqlite:///{tmp_path / 'shared.db'}",
        "TECHCORP_REDIS_URL": redis_url,
        "TECHCORP_RATE_LIMIT_PER_MINUTE": "100",
        # One long window, so a burst never straddles two of them.
        "TECHCORP_RATE_LIMIT_WINDOW_SECONDS": "3600",
    }
    servers = []
    for number in range(count):
        folder = tmp_path / f"process-{number}"
        folder.mkdir()
        servers.append(ServerProcess(folder, env))
    return servers


@pytest.fixture
def two_processes(tmp_path: Path, redis_url: str) -> Iterator[list[ServerProcess]]:
    servers = _processes(tmp_path, redis_url, 2)
    try:
        for server in servers:
            server.start()
        yield servers
    finally:
        for server in servers:
            if server.process is not None:
                server.stop()


async def test_burst_over_two_processes_passes_100(
    two_processes: list[ServerProcess],
) -> None:
    requests = [
        _raw_get(two_processes[number % 2], "/v2/users") for number in range(1000)
    ]
    responses = await asyncio.gather(*requests)

    statuses = [r.status_code for r in responses]
    # Each process received 500 requests, so two separate counts would have
    # let 200 through.
    assert statuses.count(429) == 900
    assert len(statuses) - statuses.count(429) == 100
    passed = [r for r in responses if r.status_code != 429]
    remaining = sorted(int(r.headers["X-RateLimit-Remaining"]) for r in passed)
    assert remaining == list(range(100))


async def test_redis_outage_gives_503_then_recovers(
    tmp_path: Path,
) -> None:
    redis_server = RedisServer(tmp_path)
    redis_server.start()
    [server] = _processes(tmp_path, redis_server.url, 1)
    server.start()
    try:
        async with httpx.AsyncClient(base_url=server.base_url, timeout=10) as client:
            assert (await client.get("/v2/users")).status_code == 401

            redis_server.stop()
            down = await client.get("/v2/users")
            ready_while_down = await client.get("/readyz")

            redis_server.start_on_same_port()
            up = await client.get("/v2/users")
            ready_again = await client.get("/readyz")
    finally:
        server.stop()
        redis_server.stop()

    assert down.status_code == 503
    assert down.json()["error"] == "service_unavailable"
    assert "Redis" in down.json()["message"]
    assert "X-Request-Id" in down.headers
    assert ready_while_down.status_code == 503
    assert up.status_code == 401
    assert ready_again.status_code == 200
    assert "Traceback" not in server.logs()
