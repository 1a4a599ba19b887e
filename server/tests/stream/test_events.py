"""Events on the stream: market updates, system status and client actions."""

from __future__ import annotations

import asyncio
import contextlib
from typing import Any

import httpx
import pytest
from websockets.exceptions import ConnectionClosed

from techcorp_server.stream.protocol import MAX_MESSAGE_CHARACTERS

from ..utils.api import bearer, create_user, set_price
from ..utils.server import ServerProcess
from .client import (
    RECEIVE_TIMEOUT_SECONDS,
    open_stream,
    opened,
    receive,
    receive_type,
    send,
)

QUIET_SECONDS = 0.5
"""How long a test waits to show that a message does not arrive."""


async def _product(
    api: httpx.AsyncClient, token: str, category: str = "electronics"
) -> dict[str, Any]:
    response = await api.post(
        "/v2/products",
        json={"name": "Super Widget", "price": 99.99, "category": category},
        headers=bearer(token),
    )
    assert response.status_code == 201, response.text
    product: dict[str, Any] = response.json()
    return product


async def _set_status(
    api: httpx.AsyncClient, token: str, **body: Any
) -> httpx.Response:
    return await api.post("/v2/system/status", json=body, headers=bearer(token))


async def _assert_quiet(websocket: Any) -> None:
    with pytest.raises(TimeoutError):
        await receive(websocket, seconds=QUIET_SECONDS)


async def test_price_change_sends_market_update(
    stream_server: ServerProcess, stream_api: httpx.AsyncClient, stream_admin_token: str
) -> None:
    product = await _product(stream_api, stream_admin_token)

    async with open_stream(stream_server, stream_admin_token) as websocket:
        await opened(websocket)
        await set_price(stream_api, stream_admin_token, product["id"], 105.5)
        update = await receive_type(websocket, "market_update")

    assert update["data"] == {
        "product_id": product["id"],
        "name": "Super Widget",
        "category": "electronics",
        "price": 105.5,
        "previous_price": 99.99,
    }
    epoch, sequence = update["id"].split("-")
    assert epoch.isdigit()
    assert int(sequence) >= 1
    assert isinstance(update["created"], int)


async def test_rename_sends_no_market_update(
    stream_server: ServerProcess, stream_api: httpx.AsyncClient, stream_admin_token: str
) -> None:
    product = await _product(stream_api, stream_admin_token, category="quiet")
    query = "events=market_update&category=quiet"

    async with open_stream(stream_server, stream_admin_token, query=query) as ws:
        await opened(ws)
        response = await stream_api.patch(
            f"/v2/products/{product['id']}",
            json={"name": "Renamed Widget"},
            headers=bearer(stream_admin_token),
        )
        assert response.status_code == 200
        await _assert_quiet(ws)


async def test_admin_status_reaches_member(
    stream_server: ServerProcess, stream_api: httpx.AsyncClient, stream_admin_token: str
) -> None:
    member = await create_user(stream_api, stream_admin_token)

    async with open_stream(stream_server, member["token"]) as websocket:
        await opened(websocket)
        response = await _set_status(
            stream_api,
            stream_admin_token,
            status="maintenance",
            message="Database upgrade tonight.",
            starts_at="2030-01-01T22:00:00Z",
            ends_at="2030-01-01T23:00:00+00:00",
        )
        event = await receive_type(websocket, "system_status")

    assert response.status_code == 200, response.text
    assert event["id"] is not None
    assert event["data"]["status"] == "maintenance"
    assert event["data"]["message"] == "Database upgrade tonight."
    assert event["data"]["starts_at"] == "2030-01-01T22:00:00.000Z"
    assert event["data"]["ends_at"] == "2030-01-01T23:00:00.000Z"
    assert event["data"] == response.json()

    current = await stream_api.get("/v2/system/status", headers=bearer(member["token"]))
    assert current.json() == response.json()
    async with open_stream(stream_server, member["token"]) as websocket:
        snapshot = await opened(websocket)
    assert snapshot["data"] == response.json()

    await _set_status(
        stream_api, stream_admin_token, status="operational", message="OK"
    )


async def test_member_cannot_set_status(
    stream_api: httpx.AsyncClient, stream_admin_token: str
) -> None:
    member = await create_user(stream_api, stream_admin_token)

    response = await _set_status(
        stream_api, member["token"], status="degraded", message="Slow."
    )

    assert response.status_code == 403
    assert response.json()["error"] == "forbidden"


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"status": "broken", "message": "x"}, "status"),
        ({"status": "degraded"}, "message"),
        ({"status": "degraded", "message": " "}, "message"),
        ({"status": "degraded", "message": "x", "starts_at": "tomorrow"}, "starts_at"),
        (
            {"status": "degraded", "message": "x", "starts_at": "2030-01-01T00:00:00"},
            "starts_at",
        ),
        ({"status": "degraded", "message": "x", "colour": "red"}, "colour"),
        (
            {
                "status": "maintenance",
                "message": "x",
                "starts_at": "2030-01-02T00:00:00Z",
                "ends_at": "2030-01-01T00:00:00Z",
            },
            "body",
        ),
    ],
)
async def test_invalid_status_is_rejected(
    stream_api: httpx.AsyncClient,
    stream_admin_token: str,
    body: dict[str, Any],
    field: str,
) -> None:
    before = (
        await stream_api.get("/v2/system/status", headers=bearer(stream_admin_token))
    ).json()

    response = await _set_status(stream_api, stream_admin_token, **body)

    assert response.status_code == 400, response.text
    assert response.json()["error"] == "bad_request"
    assert [detail["field"] for detail in response.json()["details"]] == [field]
    after = await stream_api.get(
        "/v2/system/status", headers=bearer(stream_admin_token)
    )
    assert after.json() == before


async def test_status_requires_token(stream_api: httpx.AsyncClient) -> None:
    response = await stream_api.get("/v2/system/status")

    assert response.status_code == 401


async def test_product_filter_selects_updates(
    stream_server: ServerProcess, stream_api: httpx.AsyncClient, stream_admin_token: str
) -> None:
    watched = await _product(stream_api, stream_admin_token)
    other = await _product(stream_api, stream_admin_token)
    query = f"events=market_update&product_ids={watched['id']}"

    async with open_stream(stream_server, stream_admin_token, query=query) as ws:
        await opened(ws)
        await set_price(stream_api, stream_admin_token, other["id"], 1.5)
        await set_price(stream_api, stream_admin_token, watched["id"], 2.5)
        update = await receive(ws)

    assert update["type"] == "market_update"
    assert update["data"]["product_id"] == watched["id"]


async def test_subscribe_changes_filters(
    stream_server: ServerProcess, stream_api: httpx.AsyncClient, stream_admin_token: str
) -> None:
    book = await _product(stream_api, stream_admin_token, category="books")
    gadget = await _product(stream_api, stream_admin_token, category="gadgets")

    async with open_stream(stream_server, stream_admin_token) as ws:
        await opened(ws)
        await send(ws, {"action": "unsubscribe", "events": ["system_status"]})
        unsubscribed = await receive(ws)
        await send(ws, {"action": "subscribe", "category": "Books"})
        subscribed = await receive(ws)
        await set_price(stream_api, stream_admin_token, gadget["id"], 3.25)
        await _set_status(
            stream_api, stream_admin_token, status="operational", message="Up."
        )
        await set_price(stream_api, stream_admin_token, book["id"], 4.75)
        update = await receive(ws)

    assert unsubscribed["type"] == "ack"
    assert unsubscribed["data"]["events"] == ["market_update"]
    assert subscribed["data"] == {
        "action": "subscribe",
        "events": ["market_update"],
        "product_ids": None,
        "category": "books",
    }
    assert update["type"] == "market_update"
    assert update["data"]["product_id"] == book["id"]


@pytest.mark.parametrize(
    ("message", "field"),
    [
        ("not json", None),
        ("[1, 2]", None),
        ('{"events": []}', "action"),
        ('{"action": "dance"}', "action"),
        ('{"action": "subscribe", "events": ["trades"]}', "message.subscribe.events.0"),
        ('{"action": "unsubscribe"}', "message.unsubscribe.events"),
        ('{"action": "ping", "extra": 1}', "message.ping.extra"),
        ('{"action": "resume"}', "message.resume.last_event_id"),
    ],
)
async def test_bad_message_gets_error_and_stream_stays(
    stream_server: ServerProcess,
    stream_admin_token: str,
    message: str,
    field: str | None,
) -> None:
    async with open_stream(stream_server, stream_admin_token) as ws:
        await opened(ws)
        await ws.send(message)
        error = await receive(ws)
        await send(ws, {"action": "ping"})
        pong = await receive(ws)

    assert error["type"] == "error"
    assert error["id"] is None
    assert error["data"]["error"] == "bad_request"
    assert error["data"]["message"]
    assert error["data"]["request_id"].startswith("req_")
    if field is not None:
        assert error["data"]["details"][0]["field"] == field
    assert pong["type"] == "pong"
    assert "Traceback" not in stream_server.logs()


async def test_binary_message_gets_error(
    stream_server: ServerProcess, stream_admin_token: str
) -> None:
    async with open_stream(stream_server, stream_admin_token) as ws:
        await opened(ws)
        await ws.send(b'{"action": "ping"}')
        error = await receive(ws)

    assert error["type"] == "error"
    assert "text" in error["data"]["message"]


async def test_many_clients_receive_one_event(
    stream_server: ServerProcess, stream_api: httpx.AsyncClient, stream_admin_token: str
) -> None:
    product = await _product(stream_api, stream_admin_token, category="fanout")
    query = "events=market_update&category=fanout"
    streams = [
        open_stream(stream_server, stream_admin_token, query=query) for _ in range(20)
    ]
    connections = [await stream.__aenter__() for stream in streams]
    try:
        for ws in connections:
            await opened(ws)
        await set_price(stream_api, stream_admin_token, product["id"], 7.77)
        updates = await asyncio.gather(*(receive(ws) for ws in connections))
    finally:
        for stream in streams:
            await stream.__aexit__(None, None, None)

    assert {update["id"] for update in updates} == {updates[0]["id"]}
    assert all(update["data"]["price"] == 7.77 for update in updates)


async def _close_after_sending(websocket: Any, message: str | bytes) -> Any:
    """Send `message`, then return the close frame the server sent."""
    with contextlib.suppress(ConnectionClosed, OSError):
        await websocket.send(message)
        async with asyncio.timeout(RECEIVE_TIMEOUT_SECONDS):
            while True:
                await websocket.recv()
    return websocket.protocol.close_rcvd


@pytest.mark.parametrize(
    "message",
    ["x" * (MAX_MESSAGE_CHARACTERS + 1), b"x" * (MAX_MESSAGE_CHARACTERS + 1)],
    ids=["text", "binary"],
)
async def test_long_message_closes_with_1009(
    stream_server: ServerProcess, stream_admin_token: str, message: str | bytes
) -> None:
    async with open_stream(stream_server, stream_admin_token) as ws:
        await opened(ws)
        close = await _close_after_sending(ws, message)

    assert close is not None
    assert close.code == 1009
    assert "16384 characters" in close.reason


async def test_message_at_limit_gets_error(
    stream_server: ServerProcess, stream_admin_token: str
) -> None:
    async with open_stream(stream_server, stream_admin_token) as ws:
        await opened(ws)
        await ws.send("x" * MAX_MESSAGE_CHARACTERS)
        error = await receive(ws)

    assert error["type"] == "error"
    assert "not valid JSON" in error["data"]["message"]


async def test_frame_over_server_limit_closes_with_1009(
    stream_server: ServerProcess, stream_admin_token: str
) -> None:
    # granian refuses a frame over 16 MiB before the stream can read it.
    async with open_stream(stream_server, stream_admin_token) as ws:
        await opened(ws)
        close = await _close_after_sending(ws, "x" * (16 * 2**20 + 1))

    assert close is not None
    assert close.code == 1009


async def test_close_without_status_gets_no_1009(
    stream_server: ServerProcess, stream_admin_token: str
) -> None:
    async with open_stream(stream_server, stream_admin_token) as ws:
        await opened(ws)
        # A browser's close() without a code sends an empty close frame;
        # the client's own close() always sends a status.
        async with ws.send_context():
            ws.protocol.send_close()
        await asyncio.wait_for(ws.wait_closed(), RECEIVE_TIMEOUT_SECONDS)

    # An empty close frame reads as 1005: the server echoed the client's.
    assert ws.protocol.close_rcvd is not None
    assert ws.protocol.close_rcvd.code == 1005
