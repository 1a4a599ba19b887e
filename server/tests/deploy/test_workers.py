"""`techcorp-server serve --workers 2` on one PostgreSQL and one Redis.

Both worker processes listen on the same address, and the kernel hands each
new connection to one of them. The tests tell the workers apart by the
process id in the server's log (see `utils/workers.py`).
"""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import AsyncIterator, Iterator
from contextlib import AsyncExitStack
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from websockets.asyncio.client import ClientConnection

from ..conftest import server_env
from ..stream.client import open_stream, opened, receive_type
from ..utils.api import ADMIN_CLIENT_ID, ADMIN_CLIENT_SECRET, bearer
from ..utils.postgres_server import PostgresServer
from ..utils.redis_server import RedisServer
from ..utils.server import ServerProcess
from ..utils.workers import metric_by_worker, served_by, worker_pids

BURST = 1000
LIMIT = 100
MAX_STREAM_CLIENTS = 16
MAX_PRICE_CHANGES = 20
QUIET_SECONDS = 1.0


@dataclass
class Workers:
    server: ServerProcess
    redis: RedisServer


@pytest.fixture(scope="module")
def workers(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Workers]:
    folder = tmp_path_factory.mktemp("workers")
    postgres = PostgresServer()
    redis = RedisServer(folder)
    env = {
        **server_env(),
        "TECHCORP_REDIS_URL": redis.url,
        "TECHCORP_RATE_LIMIT_PER_MINUTE": str(LIMIT),
        # One long window, so a burst never straddles two of them.
        "TECHCORP_RATE_LIMIT_WINDOW_SECONDS": "3600",
    }
    server: ServerProcess | None = None
    try:
        postgres.start()
        redis.start()
        env["TECHCORP_DATABASE_URL"] = postgres.create_database()
        server = ServerProcess(folder, env, arguments=["--workers", "2"])
        server.start()
        yield Workers(server, redis)
    finally:
        if server is not None and server.process is not None:
            server.stop()
        redis.stop()
        postgres.stop()


@pytest.fixture
def fresh_limits(workers: Workers) -> ServerProcess:
    """The server, with every rate-limit count in Redis started again."""
    workers.redis.flush()
    return workers.server


def test_serve_starts_two_workers(workers: Workers) -> None:
    assert len(worker_pids(workers.server)) == 2


async def _get_users(server: ServerProcess, request_id: str) -> int:
    """GET /v2/users over a connection of its own; return the status code.

    A raw request costs the client far less than httpx, so the requests of a
    burst reach the server together.
    """
    reader, writer = await asyncio.open_connection("127.0.0.1", server.port)
    try:
        writer.write(
            f"GET /v2/users HTTP/1.1\r\nHost: 127.0.0.1\r\n"
            f"X-Request-Id: {request_id}\r\nConnection: close\r\n\r\n".encode()
        )
        await writer.drain()
        status_line = await reader.readline()
        await reader.read()
    finally:
        writer.close()
        await writer.wait_closed()
    return int(status_line.split()[1])


async def test_burst_over_workers_passes_100(fresh_limits: ServerProcess) -> None:
    request_ids = [f"burst-{number}" for number in range(BURST)]
    statuses = await asyncio.gather(
        *(_get_users(fresh_limits, request_id) for request_id in request_ids)
    )
    served = Counter(served_by(fresh_limits, request_ids).values())

    assert statuses.count(401) == LIMIT
    assert statuses.count(429) == BURST - LIMIT
    assert sorted(served) == worker_pids(fresh_limits)
    assert all(count > 0 for count in served.values()), served
    assert sum(served.values()) == BURST


async def test_flushed_redis_starts_counts_again(workers: Workers) -> None:
    server = workers.server
    workers.redis.flush()
    burst = [_get_users(server, f"used-{number}") for number in range(LIMIT + 1)]
    used = await asyncio.gather(*burst)

    workers.redis.flush()
    after_flush = await _get_users(server, "after-flush")

    assert used.count(401) == LIMIT
    assert used.count(429) == 1
    assert after_flush == 401


@pytest.fixture
async def api(fresh_limits: ServerProcess) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=fresh_limits.base_url, timeout=30) as api:
        yield api


@pytest.fixture
async def token(api: httpx.AsyncClient) -> str:
    response = await api.post(
        "/v2/auth/token",
        json={"client_id": ADMIN_CLIENT_ID, "client_secret": ADMIN_CLIENT_SECRET},
    )
    access_token: str = response.json()["access_token"]
    return access_token


async def _open_on_both_workers(
    server: ServerProcess, token: str, query: str, stack: AsyncExitStack
) -> list[ClientConnection]:
    """Open stream clients until each worker serves at least one of them."""
    clients: list[ClientConnection] = []
    while len(clients) < MAX_STREAM_CLIENTS:
        websocket = await stack.enter_async_context(
            open_stream(server, token, query=query)
        )
        await opened(websocket)
        clients.append(websocket)
        open_by_worker = metric_by_worker(server, "techcorp_stream_connections")
        if all(count > 0 for count in open_by_worker.values()):
            assert sum(open_by_worker.values()) == len(clients)
            return clients
    pytest.fail(f"{MAX_STREAM_CLIENTS} stream clients all landed on one worker")


async def _set_price(
    server: ServerProcess, token: str, product_id: str, price: float
) -> str:
    """Change the price on a new connection, and return the request's id."""
    request_id = f"price-{product_id}-{price}"
    async with httpx.AsyncClient(base_url=server.base_url) as client:
        response = await client.patch(
            f"/v2/products/{product_id}",
            json={"price": price},
            headers={**bearer(token), "X-Request-Id": request_id},
        )
    assert response.status_code == 200, response.text
    return request_id


async def test_price_change_reaches_clients_on_both_workers(
    fresh_limits: ServerProcess, api: httpx.AsyncClient, token: str
) -> None:
    server = fresh_limits
    created = await api.post(
        "/v2/products",
        json={"name": "Copper Astrolabe", "price": 50.0, "category": "nautical"},
        headers=bearer(token),
    )
    product_id = created.json()["id"]
    query = f"events=market_update&product_ids={product_id}"

    async with AsyncExitStack() as stack:
        clients = await _open_on_both_workers(server, token, query, stack)
        received: list[list[dict[str, Any]]] = [[] for _ in clients]
        writers: set[int] = set()
        price = 50.0
        # Until price changes have been made through each worker.
        while writers != set(worker_pids(server)):
            assert len(received[0]) < MAX_PRICE_CHANGES, "writes reached one worker"
            price += 1
            request_id = await _set_price(server, token, product_id, price)
            writers.add(served_by(server, [request_id])[request_id])
            for websocket, messages in zip(clients, received, strict=True):
                messages.append(await receive_type(websocket, "market_update"))
        for websocket in clients:
            with pytest.raises(TimeoutError):
                await receive_type(websocket, "market_update", seconds=QUIET_SECONDS)

    prices = [message["data"]["price"] for message in received[0]]
    assert prices == [51.0 + step for step in range(len(prices))]
    for messages in received[1:]:
        assert messages == received[0]
