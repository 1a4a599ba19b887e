"""The event stream of two server processes that share one Redis.

A price change made through one process reaches the stream clients of both,
once each, with the same event id; a client resumes on the other process
from that id; and a status set through one process is what the other
serves.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from typing import Any

import httpx
import pytest
from websockets.asyncio.client import ClientConnection

from ..conftest import server_env
from ..stream.client import open_stream, opened, receive, receive_type
from ..utils.api import ADMIN_CLIENT_ID, ADMIN_CLIENT_SECRET, bearer, set_price
from ..utils.backends import database_url
from ..utils.redis_server import RedisServer
from ..utils.server import ServerProcess

QUIET_SECONDS = 1.0
"""How long a test waits to show that no copy of an event follows it; longer
than the change feed's poll, which is how a copy would come."""


@pytest.fixture(scope="module")
def processes(
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[list[ServerProcess]]:
    folder = tmp_path_factory.mktemp("shared-stream")
    redis = RedisServer(folder)
    redis.start()
    env = {
        **server_env(),
        "TECHCORP_DATABASE_URL": database_url(folder),
        "TECHCORP_REDIS_URL": redis.url,
    }
    started = []
    try:
        for number in range(2):
            process_folder = folder / f"process-{number}"
            process_folder.mkdir()
            process = ServerProcess(process_folder, env)
            process.start()
            started.append(process)
        yield started
    finally:
        for process in started:
            process.stop()
        redis.stop()


@pytest.fixture
async def api_a(processes: list[ServerProcess]) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=processes[0].base_url) as client:
        yield client


@pytest.fixture
async def token(api_a: httpx.AsyncClient) -> str:
    response = await api_a.post(
        "/v2/auth/token",
        json={"client_id": ADMIN_CLIENT_ID, "client_secret": ADMIN_CLIENT_SECRET},
    )
    access_token: str = response.json()["access_token"]
    return access_token


async def _product(api: httpx.AsyncClient, token: str) -> str:
    response = await api.post(
        "/v2/products",
        json={"name": "Brass Sextant", "price": 120.0, "category": "nautical"},
        headers=bearer(token),
    )
    assert response.status_code == 201, response.text
    product_id: str = response.json()["id"]
    return product_id


async def _no_more_updates(websocket: ClientConnection) -> None:
    with pytest.raises(TimeoutError):
        await receive_type(websocket, "market_update", seconds=QUIET_SECONDS)


async def test_price_change_on_a_reaches_b_once(
    processes: list[ServerProcess], api_a: httpx.AsyncClient, token: str
) -> None:
    first, second = processes
    product_id = await _product(api_a, token)
    query = f"events=market_update&product_ids={product_id}"

    async with (
        open_stream(first, token, query=query) as on_a,
        open_stream(second, token, query=query) as on_b,
    ):
        await opened(on_a)
        await opened(on_b)
        await set_price(api_a, token, product_id, 125.5)
        seen_on_a = await receive_type(on_a, "market_update")
        seen_on_b = await receive_type(on_b, "market_update")
        await _no_more_updates(on_b)

    assert seen_on_b["data"]["product_id"] == product_id
    assert seen_on_b["data"]["price"] == 125.5
    assert seen_on_b == seen_on_a


async def test_client_resumes_on_the_other_process(
    processes: list[ServerProcess], api_a: httpx.AsyncClient, token: str
) -> None:
    first, second = processes
    product_id = await _product(api_a, token)
    query = f"events=market_update&product_ids={product_id}"
    async with open_stream(first, token, query=query) as on_a:
        await opened(on_a)
        await set_price(api_a, token, product_id, 130.0)
        last_seen = await receive_type(on_a, "market_update")

    await set_price(api_a, token, product_id, 131.0)
    await set_price(api_a, token, product_id, 132.0)
    resume = f"{query}&last_event_id={last_seen['id']}"
    async with open_stream(second, token, query=resume) as on_b:
        await opened(on_b)
        missed = [await receive(on_b), await receive(on_b)]
        await _no_more_updates(on_b)

    assert [message["data"]["price"] for message in missed] == [131.0, 132.0]
    first_sequence = int(last_seen["id"].split("-")[1])
    assert [int(message["id"].split("-")[1]) for message in missed] == [
        first_sequence + 1,
        first_sequence + 2,
    ]


async def test_status_set_on_a_is_served_by_b(
    processes: list[ServerProcess], api_a: httpx.AsyncClient, token: str
) -> None:
    second = processes[1]
    status: dict[str, Any] = {
        "status": "maintenance",
        "message": "Moving the warehouse database.",
    }
    async with (
        open_stream(second, token, query="events=system_status") as on_b,
        httpx.AsyncClient(base_url=second.base_url) as api_b,
    ):
        await opened(on_b)
        response = await api_a.post(
            "/v2/system/status", json=status, headers=bearer(token)
        )
        assert response.status_code == 200, response.text
        announced = await receive_type(on_b, "system_status")
        read_on_b = await api_b.get("/v2/system/status", headers=bearer(token))

    assert announced["data"] == response.json()
    assert read_on_b.json() == response.json()
