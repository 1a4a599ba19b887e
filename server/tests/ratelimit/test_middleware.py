"""The rate-limit middleware on a small app: headers, 429, exemptions, WebSocket."""

from __future__ import annotations

import asyncio
import json
import time

import httpx
from starlette.types import ASGIApp

from techcorp_server.ratelimit.limiter import MemoryRateLimiter

from ..core.stack import build_app, client_for, open_websocket
from ..utils.api import assert_error

RATE_HEADERS = (
    "X-RateLimit-Limit",
    "X-RateLimit-Remaining",
    "X-RateLimit-Reset",
    "RateLimit-Policy",
    "RateLimit",
)


def _app(limit: int = 3, window_seconds: int = 60) -> ASGIApp:
    return build_app(limiter=MemoryRateLimiter(limit, window_seconds))


def assert_rate_headers(response: httpx.Response, limit: int, remaining: int) -> None:
    for name in RATE_HEADERS:
        # Exactly once, whichever layer sent the response.
        sent = response.headers.get_list(name)
        assert len(sent) == 1, (
            f"{name} sent {len(sent)} times on {response.status_code}"
        )
    assert response.headers["X-RateLimit-Limit"] == str(limit)
    assert response.headers["X-RateLimit-Remaining"] == str(remaining)
    reset = int(response.headers["X-RateLimit-Reset"])
    assert 0 <= reset - time.time() <= 60
    assert response.headers["RateLimit-Policy"] == f'"default";q={limit};w=60'
    seconds = reset - int(time.time())
    assert response.headers["RateLimit"] in {
        f'"default";r={remaining};t={seconds}',
        f'"default";r={remaining};t={seconds + 1}',
        f'"default";r={remaining};t={seconds - 1}',
    }


async def test_headers_on_success_and_errors() -> None:
    async with client_for(build_app(limiter=MemoryRateLimiter(10, 60))) as client:
        ok = await client.get("/v2/items/1")
        not_found = await client.get("/v2/nothing")
        wrong_method = await client.delete("/v2/items")
        crashed = await client.get("/v2/crash")
        too_large = await client.post("/v2/size", content=b"x" * 5000)

    assert ok.status_code == 200
    assert_rate_headers(ok, 10, 9)
    assert_rate_headers(not_found, 10, 8)
    assert_rate_headers(wrong_method, 10, 7)
    assert_rate_headers(crashed, 10, 6)
    assert_rate_headers(too_large, 10, 5)


async def test_limit_exceeded_is_429_with_retry_after() -> None:
    async with client_for(_app(limit=3)) as client:
        responses = [await client.get("/v2/items/1") for _ in range(5)]

    assert [r.status_code for r in responses] == [200, 200, 200, 429, 429]
    rejected = responses[3]
    body = assert_error(rejected, 429, "rate_limited")
    assert_rate_headers(rejected, 3, 0)
    retry_after = int(rejected.headers["Retry-After"])
    assert 1 <= retry_after <= 60
    assert f"Retry after {retry_after} seconds" in body["message"]


async def test_clients_limited_apart() -> None:
    app = _app(limit=1)
    async with (
        client_for(app, "198.51.100.1") as first,
        client_for(app, "198.51.100.2") as second,
    ):
        assert (await first.get("/v2/items/1")).status_code == 200
        assert (await second.get("/v2/items/1")).status_code == 200
        assert (await first.get("/v2/items/1")).status_code == 429


async def test_paths_outside_v2_not_limited() -> None:
    async with client_for(_app(limit=1)) as client:
        responses = [await client.get("/healthz") for _ in range(3)]
        outside = await client.get("/v2x")

    assert all(r.status_code == 200 for r in responses)
    assert "X-RateLimit-Limit" not in responses[0].headers
    assert "X-RateLimit-Limit" not in outside.headers


async def test_concurrent_requests_exact() -> None:
    async with client_for(_app(limit=100)) as client:
        responses = await asyncio.gather(
            *(client.get("/v2/items/1") for _ in range(1000))
        )

    statuses = [r.status_code for r in responses]
    assert statuses.count(200) == 100
    assert statuses.count(429) == 900


async def test_websocket_handshakes_counted() -> None:
    app = _app(limit=1)

    accepted = await open_websocket(app, "/v2/stream")
    refused = await open_websocket(app, "/v2/stream")

    assert accepted[0]["type"] == "websocket.accept"
    headers = dict(accepted[0]["headers"])
    assert headers[b"x-ratelimit-remaining"] == b"0"

    start, body = refused
    assert start["type"] == "websocket.http.response.start"
    assert start["status"] == 429
    start_headers = dict(start["headers"])
    assert b"retry-after" in start_headers
    assert start_headers[b"x-ratelimit-limit"] == b"1"
    assert b"x-request-id" in start_headers
    assert json.loads(body["body"])["error"] == "rate_limited"


async def test_websocket_refused_by_close_without_denial_extension() -> None:
    app = _app(limit=1)
    await open_websocket(app, "/v2/stream", denial_response=False)

    refused = await open_websocket(app, "/v2/stream", denial_response=False)

    assert [m["type"] for m in refused] == ["websocket.close"]
    assert refused[0]["code"] == 1013


async def test_websocket_outside_v2_not_counted() -> None:
    app = _app(limit=1)

    for _ in range(3):
        sent = await open_websocket(app, "/stream")
        assert sent[0]["type"] == "websocket.accept"
