"""Every error the HTTP layer produces leaves as the JSON error shape."""

from __future__ import annotations

import asyncio
import json
import logging

import pytest
from starlette.types import Message

from ..utils.api import assert_error
from .stack import CRASH_TEXT, build_app, client_for, open_websocket


async def test_unknown_route_is_not_found() -> None:
    async with client_for(build_app()) as client:
        response = await client.get("/v2/nothing-here")

    body = assert_error(response, 404, "not_found")
    assert body["message"] == "No route matches GET /v2/nothing-here."


async def test_wrong_method_keeps_allow_header() -> None:
    async with client_for(build_app()) as client:
        response = await client.delete("/v2/items")

    body = assert_error(response, 405, "method_not_allowed")
    assert response.headers["Allow"] == "POST"
    assert "DELETE" in body["message"]
    assert "POST" in body["message"]


async def test_non_json_body_is_unsupported_media_type() -> None:
    async with client_for(build_app()) as client:
        response = await client.post(
            "/v2/items", content=b"name=x", headers={"Content-Type": "text/plain"}
        )

    assert_error(response, 415, "unsupported_media_type")


async def test_api_error_carries_details_and_headers() -> None:
    async with client_for(build_app()) as client:
        response = await client.get("/v2/conflict")

    body = assert_error(response, 409, "conflict")
    assert body["message"] == "The email is taken."
    assert body["details"] == [{"field": "email", "message": "Already registered."}]
    assert response.headers["X-Conflict"] == "email"


async def test_error_body_has_the_request_id() -> None:
    async with client_for(build_app()) as client:
        response = await client.get("/v2/nothing-here")

    body = assert_error(response, 404, "not_found")
    assert body["request_id"] == response.headers["X-Request-Id"]


async def test_crash_is_internal_error_without_internals(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO)
    async with client_for(build_app()) as client:
        response = await client.get("/v2/crash")

    body = assert_error(response, 500, "internal_error")
    assert set(body) == {"error", "message", "request_id"}
    assert "RuntimeError" not in response.text
    assert "SELECT" not in response.text
    assert "Traceback" not in response.text


async def test_crash_is_logged_once_with_traceback(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO)
    async with client_for(build_app()) as client:
        response = await client.get("/v2/crash")

    errors = [record for record in caplog.records if record.levelno >= logging.ERROR]
    assert len(errors) == 1
    record = errors[0]
    assert record.exc_info is not None
    assert record.exc_info[0] is RuntimeError
    assert getattr(record, "request_id", None) == response.headers["X-Request-Id"]


async def test_crash_midway_sends_nothing_more(
    caplog: pytest.LogCaptureFixture,
) -> None:
    # The status line is already out, so the client can only see a cut-off
    # body: no second response may follow, and the error must not escape to
    # the server, which would log it a second time.
    messages: list[Message] = []
    never = asyncio.Event()

    async def receive() -> Message:
        # The request has no body, and the client stays connected.
        await never.wait()
        return {"type": "http.disconnect"}

    async def send(message: Message) -> None:
        messages.append(message)

    scope = {
        "type": "http",
        "http_version": "1.1",
        "method": "GET",
        "path": "/v2/crash-midway",
        "raw_path": b"/v2/crash-midway",
        "query_string": b"",
        "headers": [],
        "client": ("127.0.0.1", 50000),
        "server": ("testserver", 80),
        "scheme": "http",
        "root_path": "",
    }
    await build_app()(scope, receive, send)

    starts = [m for m in messages if m["type"] == "http.response.start"]
    assert len(starts) == 1
    assert starts[0]["status"] == 200
    bodies = b"".join(m.get("body", b"") for m in messages[1:])
    assert CRASH_TEXT.encode() not in bodies
    errors = [record for record in caplog.records if record.levelno >= logging.ERROR]
    assert len(errors) == 1


async def test_every_error_has_request_id_header() -> None:
    async with client_for(build_app()) as client:
        responses = [
            await client.get("/v2/nothing-here"),
            await client.delete("/v2/items"),
            await client.get("/v2/crash"),
            await client.get("/v2/conflict"),
            await client.get("/nothing-outside-v2"),
        ]

    for response in responses:
        assert response.headers["X-Request-Id"].startswith("req_")


async def test_websocket_error_is_http_denial() -> None:
    sent = await open_websocket(build_app(), "/v2/private-stream")

    start, body = sent
    assert start["type"] == "websocket.http.response.start"
    assert start["status"] == 401
    headers = dict(start["headers"])
    assert headers[b"www-authenticate"] == b"Bearer"
    assert headers[b"x-request-id"].startswith(b"req_")
    document = json.loads(body["body"])
    assert document["error"] == "unauthorized"
    assert document["request_id"] == headers[b"x-request-id"].decode()


async def test_websocket_error_closes_without_denial() -> None:
    sent = await open_websocket(
        build_app(), "/v2/private-stream", denial_response=False
    )

    assert [m["type"] for m in sent] == ["websocket.close"]
    assert sent[0]["code"] == 1008
    assert "bearer token" in sent[0]["reason"]
