"""The stream clients reconnecting: server restarts, a new signing key, expiry.

The restart tests run the server with its event bus in Redis, which keeps
the event history and numbering across restarts, so a client resumes where
it stopped. (A server without Redis numbers events anew when it starts, and
a resuming client gets `resync_required` instead.)
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import json
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from techcorp.events import MarketUpdate, ResyncRequired, SystemStatus
from techcorp.stream import AsyncEventStream, EventStream, ReconnectPolicy

from .events_fixtures import (
    Api,
    AsyncTokenFetcher,
    Collector,
    RedisServer,
    TokenFetcher,
    fetch_token,
    next_of_type,
)
from .server import LocalServer

PATIENT_RECONNECT = ReconnectPolicy(
    max_reconnects=100, initial_backoff_seconds=0.1, max_backoff_seconds=0.5
)
FIRST_JWT_SECRET = "first-signing-key-of-the-stream-tests-0123456789"
SECOND_JWT_SECRET = "second-signing-key-of-the-stream-tests-0123456789"


@pytest.fixture
def redis_server(tmp_path: Path) -> Iterator[RedisServer]:
    (tmp_path / "redis").mkdir()
    redis = RedisServer(tmp_path / "redis")
    redis.start()
    yield redis
    redis.stop()


def start_server(data_dir: Path, **env: str) -> LocalServer:
    data_dir.mkdir(exist_ok=True)
    server = LocalServer(
        data_dir, env={f"TECHCORP_{k.upper()}": v for k, v in env.items()}
    )
    server.start()
    return server


def prices_of(updates: list[MarketUpdate]) -> list[float]:
    return [update.data.price for update in updates]


def assert_ids_increase(updates: list[MarketUpdate]) -> None:
    sequences = [int(update.id.rpartition("-")[2]) for update in updates]
    assert sequences == sorted(set(sequences)), f"ids out of order: {sequences}"


def test_sync_stream_resumes_after_restart(
    tmp_path: Path, redis_server: RedisServer
) -> None:
    first = start_server(tmp_path / "a", redis_url=redis_server.url)
    # A second process on the same database and Redis causes events while the
    # first one is down.
    second = start_server(
        tmp_path / "b",
        redis_url=redis_server.url,
        database_url=first.env["TECHCORP_DATABASE_URL"],
    )
    api, other_api = Api(first.base_url), Api(second.base_url)
    product_id = api.create_product(price=10.0)
    tokens = TokenFetcher(first.base_url)
    stream = EventStream(
        first.base_url, tokens, product_ids=[product_id], reconnect=PATIENT_RECONNECT
    )
    collector = Collector(stream)
    try:
        collector.next_of_type(SystemStatus)
        api.set_price(product_id, 11.0)
        before = collector.next_of_type(MarketUpdate)

        first.stop()
        notice = collector.next_of_type(SystemStatus)
        other_api.set_price(product_id, 12.0)
        other_api.set_price(product_id, 13.0)
        first.start()
        api.set_price(product_id, 14.0)
        api.set_price(product_id, 15.0)
        resumed = [collector.next_of_type(MarketUpdate) for _ in range(4)]
        api.set_price(product_id, 16.0)
        after = collector.next_of_type(MarketUpdate)
    finally:
        collector.close()
        api.close()
        other_api.close()
        second.stop()
        first.stop()

    assert before.data.price == 11.0
    assert notice.data.status == "maintenance"
    assert prices_of(resumed) == [12.0, 13.0, 14.0, 15.0]
    assert after.data.price == 16.0, "an event came through twice"
    assert_ids_increase([before, *resumed, after])
    assert tokens.fetches == 1


async def test_async_stream_resumes_with_new_token(
    tmp_path: Path, redis_server: RedisServer
) -> None:
    server = start_server(
        tmp_path / "server", redis_url=redis_server.url, jwt_secret=FIRST_JWT_SECRET
    )
    api = Api(server.base_url)
    product_id = api.create_product(price=10.0)
    tokens = AsyncTokenFetcher(server.base_url)
    stream = AsyncEventStream(
        server.base_url, tokens, product_ids=[product_id], reconnect=PATIENT_RECONNECT
    )
    try:
        await next_of_type(stream, SystemStatus)
        await asyncio.to_thread(api.set_price, product_id, 11.0)
        before = await next_of_type(stream, MarketUpdate)

        # Tokens signed with the first key fail once the server restarts
        # with another, so the stream must fetch a new one.
        server.env["TECHCORP_JWT_SECRET"] = SECOND_JWT_SECRET
        await asyncio.to_thread(server.restart)
        api.authenticate()
        for price in (12.0, 13.0):
            await asyncio.to_thread(api.set_price, product_id, price)
        resumed = [await next_of_type(stream, MarketUpdate) for _ in range(2)]
        await asyncio.to_thread(api.set_price, product_id, 14.0)
        after = await next_of_type(stream, MarketUpdate)
    finally:
        await stream.close()
        api.close()
        server.stop()

    assert before.data.price == 11.0
    assert prices_of(resumed) == [12.0, 13.0]
    assert after.data.price == 14.0, "an event came through twice"
    assert_ids_increase([before, *resumed, after])
    assert tokens.invalidations == 1
    assert tokens.fetches == 2


def short_lived_token(base_url: str, secret: str, seconds: int) -> str:
    """Return a real token re-signed with the server's key to expire sooner."""
    header, payload, _signature = fetch_token(base_url).split(".")
    claims = json.loads(base64.urlsafe_b64decode(payload + "=="))
    claims["exp"] = int(time.time()) + seconds
    encoded = base64.urlsafe_b64encode(json.dumps(claims).encode()).rstrip(b"=")
    signing_input = header.encode() + b"." + encoded
    digest = hmac.new(secret.encode(), signing_input, hashlib.sha256).digest()
    signature = base64.urlsafe_b64encode(digest).rstrip(b"=")
    return (signing_input + b"." + signature).decode()


def test_sync_stream_refreshes_expired_token(tmp_path: Path) -> None:
    server = start_server(tmp_path, jwt_secret=FIRST_JWT_SECRET)
    api = Api(server.base_url)
    product_id = api.create_product(price=10.0)
    tokens = TokenFetcher(server.base_url)
    tokens.token = short_lived_token(server.base_url, FIRST_JWT_SECRET, seconds=3)
    stream = EventStream(
        server.base_url, tokens, product_ids=[product_id], reconnect=PATIENT_RECONNECT
    )
    collector = Collector(stream)
    try:
        collector.next_of_type(SystemStatus)
        api.set_price(product_id, 11.0)
        before = collector.next_of_type(MarketUpdate)

        # The server closes the connection with 4001 when the token expires.
        time.sleep(3.5)
        api.set_price(product_id, 12.0)
        after = collector.next_of_type(MarketUpdate)
    finally:
        collector.close()
        api.close()
        server.stop()

    assert before.data.price == 11.0
    assert after.data.price == 12.0
    assert tokens.invalidations == 1
    assert tokens.fetches == 1


def test_restart_without_history_yields_resync(tmp_path: Path) -> None:
    server = start_server(tmp_path)
    api = Api(server.base_url)
    product_id = api.create_product(price=10.0)
    collector = Collector(
        EventStream(
            server.base_url,
            TokenFetcher(server.base_url),
            product_ids=[product_id],
            reconnect=PATIENT_RECONNECT,
        )
    )
    try:
        collector.next_of_type(SystemStatus)
        api.set_price(product_id, 11.0)
        before = collector.next_of_type(MarketUpdate)
        server.restart()
        resync = collector.next_of_type(ResyncRequired)
        api.set_price(product_id, 12.0)
        after = collector.next_of_type(MarketUpdate)
    finally:
        collector.close()
        api.close()
        server.stop()

    assert resync.data.last_event_id == before.id
    assert after.data.price == 12.0
