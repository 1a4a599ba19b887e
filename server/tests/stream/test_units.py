"""The stream's parts on their own: bus history, filters, prices, documents."""

from __future__ import annotations

import random
from decimal import Decimal
from typing import Any

import httpx
import orjson
import pytest

from techcorp_server.core.changes import Change
from techcorp_server.core.errors import BadRequestError
from techcorp_server.stream.bus import InProcessEventBus
from techcorp_server.stream.events import EventId, StreamEvent
from techcorp_server.stream.market import market_update, next_price
from techcorp_server.stream.protocol import (
    CLOSE_REASONS,
    SubscribeAction,
    Subscription,
    parse_action,
)

from ..utils.api import bearer


def _price_event(product_id: str, category: str = "books") -> StreamEvent:
    data = {"product_id": product_id, "category": category}
    return StreamEvent.create(EventId(1, 1), "market_update", data)


async def test_bus_numbers_events_in_order() -> None:
    bus = InProcessEventBus(history_size=10)
    received: list[StreamEvent] = []
    bus.subscribe(received.append)

    first = await bus.publish("system_status", {"status": "operational"})
    second = await bus.publish("market_update", {"product_id": "prd_1"})

    assert [event.sequence for event in received] == [1, 2]
    assert str(first.id) == f"{bus.epoch}-1"
    assert second.message["text"].startswith(f'{{"id":"{bus.epoch}-2"')


async def test_bus_replays_from_history() -> None:
    bus = InProcessEventBus(history_size=3)
    events = [await bus.publish("market_update", {"n": n}) for n in range(5)]

    assert await bus.events_after(str(events[4].id)) == []
    assert await bus.events_after(str(events[1].id)) == events[2:]
    assert await bus.events_after(str(events[0].id)) is None
    assert await bus.events_after(f"{bus.epoch}-99") is None
    assert await bus.events_after(f"{bus.epoch + 1}-3") is None
    assert await bus.events_after("not-an-id") is None


async def test_bus_without_history_resumes_only_at_latest() -> None:
    bus = InProcessEventBus(history_size=0)
    event = await bus.publish("market_update", {})

    assert await bus.events_after(str(event.id)) == []
    await bus.publish("market_update", {})
    assert await bus.events_after(str(event.id)) is None


def test_bus_survives_failing_listener() -> None:
    bus = InProcessEventBus(history_size=1)
    received: list[StreamEvent] = []

    def fail(event: StreamEvent) -> None:
        raise RuntimeError("listener bug")

    bus.subscribe(fail)
    bus.subscribe(received.append)
    coroutine = bus.publish("market_update", {})
    with pytest.raises(StopIteration):
        coroutine.send(None)

    assert len(received) == 1


@pytest.mark.parametrize("text", ["12-3", "0-0"])
def test_event_id_round_trips(text: str) -> None:
    event_id = EventId.parse(text)

    assert event_id is not None
    assert str(event_id) == text


@pytest.mark.parametrize(
    "text", ["", "12", "-3", "12-", "a-1", "1-2-3", "1" * 30 + "-1"]
)
def test_event_id_rejects_malformed(text: str) -> None:
    assert EventId.parse(text) is None


def test_subscription_filters_market_updates() -> None:
    subscription = Subscription()
    subscription.apply(
        SubscribeAction(action="subscribe", product_ids=["prd_a"], category="books")
    )

    assert subscription.matches(_price_event("prd_a"))
    assert not subscription.matches(_price_event("prd_b"))
    assert not subscription.matches(_price_event("prd_a", category="toys"))
    status = StreamEvent.create(EventId(1, 2), "system_status", {})
    assert subscription.matches(status)


def test_subscribe_with_null_clears_filter() -> None:
    subscription = Subscription(product_ids=frozenset({"prd_a"}), category="books")

    action = parse_action('{"action": "subscribe", "product_ids": null}')
    subscription.apply(action)

    assert subscription.product_ids is None
    assert subscription.category == "books"


@pytest.mark.parametrize("category", ["\u0000", "bo\nok", "\u001b[31m"])
def test_subscribe_rejects_control_characters(category: str) -> None:
    message = orjson.dumps({"action": "subscribe", "category": category}).decode()

    with pytest.raises(BadRequestError) as raised:
        parse_action(message)

    assert raised.value.details is not None
    assert raised.value.details[0]["field"] == "message.subscribe.category"


def test_market_update_only_for_price_changes() -> None:
    before = {"id": "prd_1", "name": "Lamp", "category": "home", "price": 10}
    after = {**before, "price": 12.5}

    update = market_update(Change("product.updated", after, before))
    renamed = market_update(Change("product.updated", {**before, "name": "L"}, before))
    created = market_update(Change("product.created", after))

    assert update == {
        "product_id": "prd_1",
        "name": "Lamp",
        "category": "home",
        "price": 12.5,
        "previous_price": 10,
    }
    assert renamed is None
    assert created is None


@pytest.mark.parametrize("cents", [1, 2, 99, 10_000, 9_999_999_999])
def test_next_price_moves_within_bounds(cents: int) -> None:
    rng = random.Random(cents)
    for _ in range(200):
        price = next_price(cents, rng)
        assert price != Decimal(cents).scaleb(-2)
        assert Decimal("0.01") <= price <= Decimal("99999999.99")
        assert price == price.quantize(Decimal("0.01"))
        assert abs(price * 100 - cents) <= max(1, cents * 0.03) + 1


async def test_asyncapi_document_describes_stream(api: httpx.AsyncClient) -> None:
    response = await api.get("/v2/asyncapi.json")
    document: dict[str, Any] = response.json()

    assert response.status_code == 200
    assert document["asyncapi"] == "3.0.0"
    channel = document["channels"]["events"]
    assert channel["address"] == "/v2/events"
    for name in channel["messages"]:
        assert name in document["components"]["messages"]
    for operation in document["operations"].values():
        for reference in operation["messages"]:
            assert (
                reference["$ref"].removeprefix("#/channels/events/messages/")
                in (channel["messages"])
            )
    for code in CLOSE_REASONS:
        assert f"| {code} |" in document["info"]["description"]
    assert "at most 16,384 characters" in document["info"]["description"]


async def test_openapi_links_asyncapi(api: httpx.AsyncClient) -> None:
    document = (await api.get("/v2/openapi.json")).json()

    assert "/v2/asyncapi.json" in document["info"]["description"]
    assert "/v2/system/status" in document["paths"]


async def test_status_endpoints_in_process(
    api: httpx.AsyncClient, admin_token: str
) -> None:
    body = {"status": "degraded", "message": "Search is slow."}

    posted = await api.post("/v2/system/status", json=body, headers=bearer(admin_token))
    read = await api.get("/v2/system/status", headers=bearer(admin_token))

    assert posted.status_code == 200
    assert read.json() == posted.json()
    assert read.json()["status"] == "degraded"
    assert read.json()["starts_at"] is None
    reset = {"status": "operational", "message": "All systems operational."}
    await api.post("/v2/system/status", json=reset, headers=bearer(admin_token))


async def test_metrics_count_stream(api: httpx.AsyncClient) -> None:
    text = (await api.get("/metrics")).text

    assert "techcorp_stream_connections " in text
    assert "# TYPE techcorp_stream_events_total counter" in text
    assert "# TYPE techcorp_stream_closes_total counter" in text
