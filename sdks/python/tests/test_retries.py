"""The request loop's retries, timing and failure paths, with a scripted
transport, an injected sleep and an injected random source."""

from __future__ import annotations

import httpx
import pytest

from techcorp import (
    APIConnectionError,
    APITimeoutError,
    AuthenticationError,
    InternalServerError,
    RateLimitError,
)

from .mock_api import PRODUCT, MockAPI, Reply, error_reply, json_reply

CLIENT = {
    "id": "cli_1",
    "name": "ci",
    "user_id": "usr_1",
    "secret_hint": "abcd",
    "client_secret": "s3cret-value",
    "created_at": "2026-01-01T00:00:00Z",
}


def test_server_errors_are_retried_with_growing_backoff() -> None:
    api = MockAPI(
        [error_reply(503, "service_unavailable")] * 2 + [json_reply(200, PRODUCT)]
    )

    product = api.client().products.get("prd_1")

    assert product.id == "prd_1"
    assert api.sleeps == [0.5, 1.0]
    assert len(api.requests) == 3


def test_jitter_comes_from_the_random_source() -> None:
    api = MockAPI([error_reply(500, "internal_error"), json_reply(200, PRODUCT)])

    api.client(retry_policy=api.policy(random=lambda: 1.0)).products.get("prd_1")

    assert api.sleeps == [0.375]


def test_gives_up_after_max_retries() -> None:
    api = MockAPI([error_reply(500, "internal_error")] * 3)

    with pytest.raises(InternalServerError) as raised:
        api.client().products.get("prd_1")

    assert raised.value.status == 500
    assert len(api.requests) == 3


def test_max_retries_per_call_overrides_the_client() -> None:
    api = MockAPI([error_reply(500, "internal_error")] * 5)
    client = api.client(max_retries=4)

    with pytest.raises(InternalServerError):
        client.products.get("prd_1", max_retries=0)

    assert len(api.requests) == 1
    assert api.sleeps == []


def test_rate_limit_waits_for_retry_after() -> None:
    limited = error_reply(429, "rate_limited", **{"Retry-After": "7"})
    api = MockAPI([limited, json_reply(200, PRODUCT)])

    api.client().products.get("prd_1")

    assert api.sleeps == [7.0]


def test_rate_limit_over_cap_raises() -> None:
    headers = {"Retry-After": "600", "X-RateLimit-Limit": "100"}
    api = MockAPI([error_reply(429, "rate_limited", **headers)])

    with pytest.raises(RateLimitError) as raised:
        api.client().products.get("prd_1")

    assert (raised.value.retry_after, raised.value.limit) == (600, 100)
    assert api.sleeps == []


def test_negative_retry_after_reads_as_zero() -> None:
    limited = error_reply(429, "rate_limited", **{"Retry-After": "-5"})
    api = MockAPI([limited])

    with pytest.raises(RateLimitError) as raised:
        api.client(max_retries=0).products.get("prd_1")

    assert raised.value.retry_after == 0


def test_post_without_idempotency_key_is_not_retried() -> None:
    api = MockAPI([error_reply(500, "internal_error"), json_reply(200, {})])

    with pytest.raises(InternalServerError):
        api.client().clients.create(name="ci")

    assert len(api.requests) == 1


def test_post_is_retried_with_the_same_idempotency_key() -> None:
    replies: list[Reply] = [
        httpx.ReadError("connection reset"),
        error_reply(502, "bad_gateway"),
    ]
    api = MockAPI([*replies, json_reply(201, PRODUCT)])

    api.client().products.create(name="Lamp", price=19.99, category="home")

    keys = {request.headers["Idempotency-Key"] for request in api.requests}
    assert len(api.requests) == 3
    assert len(keys) == 1
    assert api.sent_bodies()[0] == {"name": "Lamp", "price": 19.99, "category": "home"}


def test_caller_may_choose_the_idempotency_key() -> None:
    api = MockAPI([json_reply(201, PRODUCT)])

    api.client().products.create(
        name="Lamp", price=1, category="home", idempotency_key="order-42"
    )

    assert api.requests[0].headers["Idempotency-Key"] == "order-42"


def test_idempotency_key_in_extra_headers_is_kept() -> None:
    api = MockAPI([json_reply(201, PRODUCT)])

    api.client().products.create(
        name="Lamp", price=1, category="home", extra_headers={"idempotency-key": "k1"}
    )

    assert api.requests[0].headers.get_list("Idempotency-Key") == ["k1"]


def test_connection_refused_is_retried_even_for_a_post() -> None:
    refused = httpx.ConnectError("connection refused")
    api = MockAPI([refused, json_reply(201, CLIENT)])

    api.client().clients.create(name="ci")

    assert len(api.requests) == 2


def test_connection_errors_become_api_connection_error() -> None:
    api = MockAPI([httpx.ReadError("reset")] * 3)

    with pytest.raises(APIConnectionError) as raised:
        api.client().products.get("prd_1")

    assert raised.value.status is None
    assert isinstance(raised.value.__cause__, httpx.ReadError)


def test_timeouts_become_api_timeout_error() -> None:
    api = MockAPI([httpx.ReadTimeout("slow")] * 3)

    with pytest.raises(APITimeoutError):
        api.client().products.get("prd_1")

    assert len(api.requests) == 3


def test_timeout_and_extra_headers_per_call() -> None:
    api = MockAPI([json_reply(200, PRODUCT)] * 2)
    client = api.client(timeout=12.0)

    client.products.get("prd_1")
    client.products.get("prd_1", timeout=0.5, extra_headers={"X-Trace": "abc"})

    first, second = api.requests
    assert first.extensions["timeout"]["read"] == 12.0
    assert second.extensions["timeout"]["read"] == 0.5
    assert second.headers["X-Trace"] == "abc"
    assert first.headers["User-Agent"].startswith("techcorp-sdk-python/")


def test_refused_token_replayed_once() -> None:
    api = MockAPI([error_reply(401, "unauthorized"), json_reply(200, PRODUCT)])

    api.client().products.get("prd_1")

    assert api.tokens_issued == 2
    tokens = [request.headers["Authorization"] for request in api.requests]
    assert tokens == ["Bearer token-1", "Bearer token-2"]


def test_refused_token_twice_raises() -> None:
    api = MockAPI([error_reply(401, "unauthorized")] * 3)

    with pytest.raises(AuthenticationError):
        api.client().products.get("prd_1")

    assert len(api.requests) == 2
    assert api.tokens_issued == 2


async def test_async_client_retries_with_the_same_timing() -> None:
    api = MockAPI(
        [error_reply(503, "service_unavailable")] * 2 + [json_reply(200, PRODUCT)]
    )

    async with api.async_client() as client:
        product = await client.products.get("prd_1")

    assert product.name == "Lamp"
    assert api.sleeps == [0.5, 1.0]


async def test_async_client_refreshes_a_refused_token() -> None:
    api = MockAPI([error_reply(401, "unauthorized"), json_reply(200, PRODUCT)])

    async with api.async_client() as client:
        await client.products.get("prd_1")

    assert api.tokens_issued == 2


def test_extra_headers_authorization_in_lower_case() -> None:
    api = MockAPI([json_reply(200, PRODUCT)])

    api.client().products.get("prd_1", extra_headers={"authorization": "Bearer x"})

    assert api.requests[0].headers.get_list("Authorization") == ["Bearer token-1"]
