"""Two server processes behind nginx with `deploy/nginx.conf`, on one address.

The processes share one database (PostgreSQL when the suite runs on it) and
one Redis server, and trust nginx's X-Forwarded-For.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from dataclasses import dataclass

import httpx
import pytest

from ..conftest import server_env
from ..utils.api import ADMIN_CLIENT_ID, ADMIN_CLIENT_SECRET, bearer
from ..utils.backends import database_url
from ..utils.nginx import Nginx
from ..utils.redis_server import RedisServer
from ..utils.server import ServerProcess


@dataclass
class Deployment:
    nginx: Nginx
    processes: list[ServerProcess]
    redis: RedisServer


@pytest.fixture(scope="module")
def deployment(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Deployment]:
    folder = tmp_path_factory.mktemp("nginx")
    redis = RedisServer(folder)
    redis.start()
    env = {
        **server_env(),
        "TECHCORP_DATABASE_URL": database_url(folder),
        "TECHCORP_REDIS_URL": redis.url,
        "TECHCORP_RATE_LIMIT_PER_MINUTE": "100",
        # One long window, so a burst never straddles two of them.
        "TECHCORP_RATE_LIMIT_WINDOW_SECONDS": "3600",
        "TECHCORP_TRUSTED_PROXIES": "127.0.0.1",
        "TECHCORP_ACCESS_LOG": "true",
        "TECHCORP_LOG_LEVEL": "info",
    }
    processes = []
    for number in range(2):
        process_folder = folder / f"process-{number}"
        process_folder.mkdir()
        processes.append(ServerProcess(process_folder, env))
    nginx_folder = folder / "nginx"
    nginx_folder.mkdir()
    nginx = Nginx(nginx_folder, [process.port for process in processes])
    try:
        for process in processes:
            process.start()
        nginx.start()
        yield Deployment(nginx, processes, redis)
    finally:
        nginx.stop()
        for process in processes:
            if process.process is not None:
                process.stop()
        redis.stop()


@pytest.fixture
def fresh_limits(deployment: Deployment) -> Deployment:
    deployment.redis.flush()
    return deployment


def test_requests_reach_both_processes(fresh_limits: Deployment) -> None:
    with httpx.Client(base_url=fresh_limits.nginx.base_url) as client:
        statuses = [client.get("/v2/users").status_code for _ in range(20)]

    assert statuses == [401] * 20
    served = [process.logs().count('"/v2/users"') for process in fresh_limits.processes]
    assert sum(served) == 20
    assert all(count > 0 for count in served), served


async def _get(base_url: str, forwarded_for: str) -> int:
    async with httpx.AsyncClient(base_url=base_url, timeout=60) as client:
        response = await client.get(
            "/v2/users", headers={"X-Forwarded-For": forwarded_for}
        )
        return response.status_code


async def test_burst_through_nginx_passes_100(fresh_limits: Deployment) -> None:
    # Each request claims another client address; nginx replaces the header
    # with the peer address of the connection, so all of them count as one client.
    requests = [
        _get(fresh_limits.nginx.base_url, f"198.51.100.{number % 250}")
        for number in range(1000)
    ]
    statuses = await asyncio.gather(*requests)

    assert statuses.count(429) == 900
    assert statuses.count(401) == 100


def test_write_through_one_read_through_other(fresh_limits: Deployment) -> None:
    base_url = fresh_limits.nginx.base_url
    with httpx.Client(base_url=base_url) as client:
        token = client.post(
            "/v2/auth/token",
            json={"client_id": ADMIN_CLIENT_ID, "client_secret": ADMIN_CLIENT_SECRET},
        ).json()["access_token"]
        product = {"name": "Lamp", "price": 19.99, "category": "home"}
        created = client.post("/v2/products", json=product, headers=bearer(token))
        reads = [
            client.get(f"/v2/products/{created.json()['id']}", headers=bearer(token))
            for _ in range(4)
        ]

    assert created.status_code == 201, created.text
    assert [read.status_code for read in reads] == [200] * 4
    assert {read.json()["price"] for read in reads} == {19.99}
    assert all(read.headers["X-Request-Id"].startswith("req_") for read in reads)
