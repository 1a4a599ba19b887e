"""The event stream of a server whose Redis goes away, or comes back empty.

The market simulator moves the price of the one product every 0.2 s, so
events keep being published while Redis is stopped or flushed. Each
`market_update` carries the previous price, so a client can check that it
received every change once: each event's `previous_price` is the price of
the event before it.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from itertools import pairwise
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest
import redis.asyncio as redis
from websockets.asyncio.client import ClientConnection
from websockets.exceptions import InvalidStatus

from techcorp_server.core.errors import ServiceUnavailableError
from techcorp_server.stream.redis_bus import PUBLISH_SCRIPT, RedisEventBus

from ..conftest import server_env
from ..utils.api import bearer, client_token
from ..utils.backends import database_url
from ..utils.redis_server import RedisServer
from ..utils.server import ServerProcess
from .client import open_stream, opened, receive, send

OUTAGE_SECONDS = 1.5
"""How long Redis stays stopped: several of the simulator's price changes."""

MAX_UPDATES_BEFORE_RESYNC = 5
"""Updates published before the flush that may still reach a client."""

AVAILABILITY_DEADLINE_SECONDS = 5.0
"""How long the bus may take to notice that Redis stopped, or came back."""

PUBLISH_FAILED = "publishing stream events failed"
READ_FAILED = "reading stream events failed"


@dataclass
class Deployment:
    server: ServerProcess
    redis: RedisServer


@pytest.fixture(scope="module")
def deployment(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Deployment]:
    folder = tmp_path_factory.mktemp("redis-outage")
    redis_server = RedisServer(folder, persistent=True)
    redis_server.start()
    env = {
        **server_env(),
        "TECHCORP_DATABASE_URL": database_url(folder),
        "TECHCORP_REDIS_URL": redis_server.url,
        "TECHCORP_SIMULATE_MARKET": "true",
        "TECHCORP_MARKET_SIMULATOR_INTERVAL_SECONDS": "0.2",
        "TECHCORP_MARKET_SIMULATOR_PRODUCTS": "1",
    }
    server = ServerProcess(folder, env)
    try:
        server.start()
        yield Deployment(server, redis_server)
    finally:
        if server.process is not None:
            server.stop()
        redis_server.stop()


@pytest.fixture(scope="module")
async def token(deployment: Deployment) -> str:
    async with httpx.AsyncClient(base_url=deployment.server.base_url) as api:
        access_token = await client_token(api)
        # The one product, whose price the simulator moves.
        response = await api.post(
            "/v2/products",
            json={"name": "Brass Barometer", "price": 80.0, "category": "weather"},
            headers=bearer(access_token),
        )
        assert response.status_code == 201, response.text
    return access_token


@pytest.fixture
async def watcher(
    deployment: Deployment, token: str
) -> AsyncIterator[ClientConnection]:
    """A stream client connected before the trouble starts."""
    async with open_stream(
        deployment.server, token, query="events=market_update"
    ) as websocket:
        await opened(websocket)
        yield websocket


async def _updates(websocket: ClientConnection, count: int) -> list[dict[str, Any]]:
    """Receive `count` messages, which must all be market updates."""
    messages = [await receive(websocket) for _ in range(count)]
    assert [message["type"] for message in messages] == ["market_update"] * count
    return messages


def _parts(event_id: str) -> tuple[int, int]:
    epoch, _, sequence = event_id.partition("-")
    return int(epoch), int(sequence)


def _assert_unbroken(updates: list[dict[str, Any]]) -> None:
    """Check that the updates follow each other with no gap and no copy."""
    ids = [_parts(update["id"]) for update in updates]
    assert len({epoch for epoch, _ in ids}) == 1, ids
    sequences = [sequence for _, sequence in ids]
    assert sequences == list(range(sequences[0], sequences[0] + len(ids)))
    for before, after in pairwise(updates):
        assert after["data"]["previous_price"] == before["data"]["price"]


async def _rejection(server: ServerProcess, token: str, query: str) -> InvalidStatus:
    with pytest.raises(InvalidStatus) as rejected:
        async with open_stream(server, token, query=query):
            pass
    return rejected.value


def _publish_failure_kinds(server: ServerProcess) -> list[str]:
    """Return the error kind of each logged publish failure, in log order."""
    kinds = []
    for line in server.logs().splitlines():
        if not line.startswith("{"):
            continue
        message: str = orjson.loads(line)["message"]
        if message.startswith(PUBLISH_FAILED):
            kinds.append(message.removeprefix(PUBLISH_FAILED + ": ").split(":")[0])
    return kinds


async def test_outage_gives_503_then_stream_resumes(
    deployment: Deployment, token: str, watcher: ClientConnection
) -> None:
    server = deployment.server
    before = await _updates(watcher, 2)
    last_id = before[-1]["id"]

    deployment.redis.stop()
    started = time.monotonic()
    new_client = await _rejection(server, token, "events=market_update")
    resuming = await _rejection(server, token, f"last_event_id={last_id}")
    await send(watcher, {"action": "resume", "last_event_id": last_id})
    # Updates published just before the stop may come before the answer.
    in_between = [await receive(watcher)]
    while in_between[-1]["type"] == "market_update":
        in_between.append(await receive(watcher))
    resume_error = in_between.pop()
    async with httpx.AsyncClient(base_url=server.base_url) as client:
        ready = await client.get("/readyz")
    await asyncio.sleep(max(0.0, OUTAGE_SECONDS - (time.monotonic() - started)))
    deployment.redis.start_on_same_port()

    after = await _updates(watcher, 8)
    async with open_stream(server, token, query=f"last_event_id={last_id}") as late:
        await opened(late)
        replayed = await _updates(late, 8)

    for rejection in (new_client, resuming):
        assert rejection.response.status_code == 503
        error = orjson.loads(rejection.response.body)
        assert error["error"] == "service_unavailable"
        assert "Redis" in error["message"]
    assert ready.status_code == 503
    assert "Redis" in ready.json()["message"]
    assert resume_error["type"] == "error"
    assert resume_error["data"]["error"] == "service_unavailable"
    # The simulator kept changing the price while Redis was away; those
    # changes arrive once it is back, in order, none lost and none twice.
    _assert_unbroken([*before, *in_between, *after])
    sent_after_last_id = [message["id"] for message in [*in_between, *after]]
    assert [message["id"] for message in replayed] == sent_after_last_id[:8]
    kinds = _publish_failure_kinds(server)
    assert kinds, "no publish failed while Redis was away"
    assert len(kinds) == len(set(kinds)), kinds
    logs = server.logs()
    assert "publishing stream events works again" in logs
    assert "reading stream events works again" in logs
    assert "Traceback" not in logs


async def test_flushed_redis_gives_clients_resync(
    deployment: Deployment, token: str, watcher: ClientConnection
) -> None:
    server = deployment.server
    before = await _updates(watcher, 2)
    old_id = before[-1]["id"]

    deployment.redis.flush()
    # The watcher may still receive updates published before the flush, and
    # then `resync_required`, because the numbering starts again.
    messages = [await receive(watcher)]
    while messages[-1]["type"] != "resync_required":
        assert len(messages) < MAX_UPDATES_BEFORE_RESYNC, messages[-1]
        messages.append(await receive(watcher))
    restarted = await _updates(watcher, 4)
    async with open_stream(server, token, query=f"last_event_id={old_id}") as late:
        opening = [await receive(late), await receive(late)]
    new_id = restarted[0]["id"]
    async with open_stream(server, token, query=f"last_event_id={new_id}") as late:
        await opened(late)
        replayed = await _updates(late, 3)

    old_updates = [*before, *messages[:-1]]
    resync = messages[-1]
    _assert_unbroken(old_updates)
    assert resync["id"] is None
    assert resync["data"]["last_event_id"] == old_updates[-1]["id"]
    _assert_unbroken(restarted)
    old_epoch, _ = _parts(old_id)
    new_epoch, first_sequence = _parts(new_id)
    assert new_epoch > old_epoch
    assert first_sequence == 1
    assert opening[0]["type"] == "system_status"
    assert opening[1]["type"] == "resync_required"
    assert opening[1]["data"]["last_event_id"] == old_id
    assert replayed == restarted[1:]
    assert "Traceback" not in server.logs()


async def _available(bus: RedisEventBus) -> bool:
    try:
        bus.check_available()
    except ServiceUnavailableError:
        return False
    return True


async def _wait_until_available(bus: RedisEventBus, expected: bool) -> None:
    started = time.monotonic()
    while await _available(bus) != expected:
        seconds = time.monotonic() - started
        assert seconds < AVAILABILITY_DEADLINE_SECONDS, f"still {not expected}"
        await asyncio.sleep(0.05)


async def test_bus_unavailable_while_redis_stopped(tmp_path: Path) -> None:
    redis_server = RedisServer(tmp_path)
    redis_server.start()
    bus = RedisEventBus.from_url(redis_server.url, history_size=10)
    try:
        await bus.start()
        available_at_start = await _available(bus)
        redis_server.stop()
        await _wait_until_available(bus, expected=False)
        redis_server.start_on_same_port()
        await _wait_until_available(bus, expected=True)
    finally:
        await bus.stop()
        redis_server.stop()

    assert available_at_start


async def test_publish_script_retry_adds_event_once(
    deployment: Deployment,
) -> None:
    client = redis.Redis.from_url(deployment.redis.url)
    prefix = "test-retry"
    keys = [f"{prefix}:{name}" for name in ("events", "epoch", "sequence", "latest")]
    keys.append(f"{prefix}:published:one")
    args = [10, "system_status", b"{}", int(time.time()), 60]
    try:
        script = client.register_script(PUBLISH_SCRIPT)
        first = await script(keys, args)
        retried = await script(keys, args)
        length = await client.xlen(keys[0])
        await client.delete(*keys)
    finally:
        await client.aclose()

    assert retried == first
    assert first.endswith(b"-1")
    assert length == 1
