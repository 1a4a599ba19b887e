"""The stream clients against a real server: messages, filters, pings, closing."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from techcorp.events import Ack, MarketUpdate, SystemStatus
from techcorp.stream import (
    AsyncEventStream,
    EventStream,
    EventStreamError,
    ReconnectPolicy,
    StreamClosedError,
    StreamHandshakeError,
)

from .events_fixtures import (
    WAIT_SECONDS,
    Api,
    AsyncTokenFetcher,
    Collector,
    TokenFetcher,
)
from .server import LocalServer, free_port

FAST_RECONNECT = ReconnectPolicy(
    max_reconnects=3, initial_backoff_seconds=0.05, max_backoff_seconds=0.2
)


@pytest.fixture(scope="module")
def api(server: LocalServer) -> Iterator[Api]:
    client = Api(server.base_url)
    yield client
    client.close()


def open_stream(server: LocalServer, **options: Any) -> Collector:
    """Iterate a stream of the admin client with `options`, in a thread."""
    stream = EventStream(server.base_url, TokenFetcher(server.base_url), **options)
    return Collector(stream)


def test_stream_opens_with_current_status(server: LocalServer) -> None:
    collector = open_stream(server)

    first = collector.next()

    assert isinstance(first, SystemStatus)
    assert first.id is None
    assert first.data.status in {"operational", "maintenance", "degraded"}
    collector.close()


def test_price_change_yields_market_update(server: LocalServer, api: Api) -> None:
    product_id = api.create_product(price=10.0, category="books")
    collector = open_stream(server, events=["market_update"], product_ids=[product_id])
    collector.next_of_type(SystemStatus)

    api.set_price(product_id, 12.5)
    update = collector.next_of_type(MarketUpdate)

    assert update.data.product_id == product_id
    assert update.data.price == 12.5
    assert update.data.previous_price == 10.0
    assert update.data.category == "books"
    assert collector.stream.last_event_id == update.id
    collector.close()


def test_product_ids_filter(server: LocalServer, api: Api) -> None:
    subscribed = api.create_product(price=5.0)
    other = api.create_product(price=5.0)
    collector = open_stream(server, product_ids=[subscribed])
    collector.next_of_type(SystemStatus)

    api.set_price(other, 6.0)
    api.set_price(subscribed, 7.0)
    update = collector.next_of_type(MarketUpdate)

    assert update.data.product_id == subscribed
    collector.close()


def test_category_filter(server: LocalServer, api: Api) -> None:
    toy = api.create_product(price=5.0, category="toys")
    book = api.create_product(price=5.0, category="books")
    collector = open_stream(server, category="TOYS")
    collector.next_of_type(SystemStatus)

    api.set_price(book, 6.0)
    api.set_price(toy, 7.0)
    update = collector.next_of_type(MarketUpdate)

    assert update.data.product_id == toy
    collector.close()


def test_events_filter_skips_market_updates(server: LocalServer, api: Api) -> None:
    product_id = api.create_product(price=5.0)
    collector = open_stream(server, events=["system_status"])
    collector.next_of_type(SystemStatus)

    api.set_price(product_id, 6.0)
    status = {"status": "degraded", "message": "Search is slow."}
    api.request("POST", "/v2/system/status", json=status)
    announced = collector.next()

    assert isinstance(announced, SystemStatus)
    assert announced.id is not None
    assert announced.data.message == "Search is slow."
    api.request(
        "POST", "/v2/system/status", json={"status": "operational", "message": "OK."}
    )
    collector.close()


def test_subscribe_changes_filter_mid_stream(server: LocalServer, api: Api) -> None:
    first = api.create_product(price=5.0)
    second = api.create_product(price=5.0)
    collector = open_stream(server, product_ids=[first])
    collector.next_of_type(SystemStatus)

    collector.stream.subscribe(product_ids=[second])
    ack = collector.next_of_type(Ack)
    api.set_price(first, 6.0)
    api.set_price(second, 7.0)
    update = collector.next_of_type(MarketUpdate)

    assert ack.data["product_ids"] == [second]
    assert update.data.product_id == second
    collector.close()


def test_invalid_filter_raises_handshake_error(server: LocalServer) -> None:
    stream = EventStream(
        server.base_url, TokenFetcher(server.base_url), events=["price_alert"]
    )

    with pytest.raises(StreamHandshakeError) as raised:
        next(stream)

    assert raised.value.status_code == 400
    assert raised.value.error == "bad_request"
    assert "events" in raised.value.message
    assert stream.closed
    with pytest.raises(StopIteration):
        next(stream)


def test_unreachable_server_raises_after_max_reconnects() -> None:
    base_url = f"http://127.0.0.1:{free_port()}"
    tokens = TokenFetcher(base_url)
    tokens.token = "not-used-because-nothing-listens"
    stream = EventStream(base_url, tokens, reconnect=FAST_RECONNECT)

    with pytest.raises(EventStreamError, match="after 3 attempts"):
        next(stream)


def test_close_from_another_thread_ends_iteration(server: LocalServer) -> None:
    collector = open_stream(server)
    collector.next_of_type(SystemStatus)

    started = time.monotonic()
    collector.close()

    assert time.monotonic() - started < WAIT_SECONDS
    assert collector.next() is None
    assert collector.stream.closed


def test_context_manager_closes(server: LocalServer) -> None:
    with EventStream(server.base_url, TokenFetcher(server.base_url)) as stream:
        first = next(stream)

    assert isinstance(first, SystemStatus)
    assert stream.closed
    with pytest.raises(StopIteration):
        next(stream)


@pytest.fixture(scope="module")
def pinging_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalServer]:
    server = LocalServer(
        tmp_path_factory.mktemp("pings"),
        env={
            "TECHCORP_STREAM_PING_INTERVAL_SECONDS": "0.3",
            "TECHCORP_STREAM_PING_TIMEOUT_SECONDS": "0.5",
        },
    )
    server.start()
    yield server
    server.stop()


def test_pings_answered_keep_connection(pinging_server: LocalServer) -> None:
    api = Api(pinging_server.base_url)
    product_id = api.create_product(price=5.0)
    collector = open_stream(pinging_server)
    collector.next_of_type(SystemStatus)

    # Several ping intervals pass; an unanswered ping closes with 4008.
    time.sleep(2.5)
    api.set_price(product_id, 6.0)
    following = collector.next()

    assert isinstance(following, MarketUpdate), "the stream reconnected"
    collector.close()
    api.close()


async def test_async_stream_pings_and_updates(pinging_server: LocalServer) -> None:
    api = Api(pinging_server.base_url)
    product_id = api.create_product(price=5.0)
    tokens = AsyncTokenFetcher(pinging_server.base_url)

    async with AsyncEventStream(
        pinging_server.base_url, tokens, product_ids=[product_id]
    ) as stream:
        first = await asyncio.wait_for(anext(stream), WAIT_SECONDS)
        reading = asyncio.create_task(anext(stream))
        await asyncio.sleep(2.5)
        await asyncio.to_thread(api.set_price, product_id, 6.0)
        following = await asyncio.wait_for(reading, WAIT_SECONDS)

    assert isinstance(first, SystemStatus)
    assert isinstance(following, MarketUpdate), "the stream reconnected"
    assert following.data.price == 6.0
    assert stream.closed
    assert tokens.fetches == 1
    api.close()


async def test_async_close_ends_iteration(server: LocalServer) -> None:
    stream = AsyncEventStream(server.base_url, AsyncTokenFetcher(server.base_url))
    await asyncio.wait_for(anext(stream), WAIT_SECONDS)
    reading = asyncio.create_task(anext(stream))

    await stream.close()

    with pytest.raises(StopAsyncIteration):
        await asyncio.wait_for(reading, WAIT_SECONDS)


class FixedToken:
    """A token source that always returns the same token."""

    def __init__(self, token: str) -> None:
        self.token = token
        self.invalidations = 0

    def get(self) -> str:
        return self.token

    def invalidate(self) -> None:
        self.invalidations += 1


def test_rejected_token_invalidated_until_attempts_end(server: LocalServer) -> None:
    tokens = FixedToken("not-a-valid-token")
    stream = EventStream(server.base_url, tokens, reconnect=FAST_RECONNECT)

    with pytest.raises(EventStreamError, match="401") as raised:
        next(stream)

    assert isinstance(raised.value.__cause__, StreamHandshakeError)
    assert tokens.invalidations == 4


def test_deleted_user_closes_stream_for_good(server: LocalServer, api: Api) -> None:
    email = f"streamer-{uuid.uuid4().hex[:8]}@example.com"
    password = "SecurePassword123!"
    user = api.request(
        "POST",
        "/v2/users",
        json={"email": email, "password": password, "role": "member"},
    )
    token = httpx.post(
        f"{server.base_url}/v2/auth/token",
        json={"email": email, "password": password},
    ).json()["access_token"]
    collector = Collector(EventStream(server.base_url, FixedToken(token)))
    collector.next_of_type(SystemStatus)

    api.client.delete(f"/v2/users/{user['id']}").raise_for_status()

    with pytest.raises(StreamClosedError) as raised:
        collector.next()
    assert raised.value.code == 4003
    collector.close()
