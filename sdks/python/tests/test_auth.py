"""Tokens against a real server: fetched lazily, cached, refreshed before
expiry and after a refusal, and fetched once for concurrent callers."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest

from techcorp import AuthenticationError, TechCorp
from techcorp._tokens import TokenCache
from techcorp.models import Token

from .server import (
    ADMIN_CLIENT_ID,
    ADMIN_CLIENT_SECRET,
    LocalServer,
    admin_client,
    async_admin_client,
)

TOKEN_PATH = "/v2/auth/token"


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


class TokenRequests:
    """Counts token requests through an httpx event hook."""

    def __init__(self) -> None:
        self.count = 0

    def __call__(self, request: httpx.Request) -> None:
        if request.url.path == TOKEN_PATH:
            self.count += 1


@pytest.fixture
def counted(server: LocalServer) -> Iterator[tuple[TechCorp, TokenRequests]]:
    requests = TokenRequests()
    http = httpx.Client(event_hooks={"request": [requests]})
    with (
        http,
        admin_client(server, http_client=http) as client,
    ):
        yield client, requests


def test_token_is_fetched_on_first_use_and_cached(
    counted: tuple[TechCorp, TokenRequests],
) -> None:
    client, token_requests = counted
    assert token_requests.count == 0

    client.system.status()
    client.products.list()

    assert token_requests.count == 1


def test_token_is_refreshed_a_minute_before_expiry(
    counted: tuple[TechCorp, TokenRequests],
) -> None:
    client, token_requests = counted
    clock = Clock()
    client.tokens.cache.clock = clock
    first = client.tokens.get()

    clock.now += 3600 - 61
    assert client.tokens.get() == first
    clock.now += 1
    second = client.tokens.get()
    client.system.status()

    assert second != first
    assert token_requests.count == 2


def test_refused_token_is_replaced_and_the_request_replayed(
    counted: tuple[TechCorp, TokenRequests],
) -> None:
    client, token_requests = counted
    client.tokens.get()
    # A token signed with another key, as after a key rotation on the server.
    client.tokens.cache._cached.value = (  # type: ignore[union-attr]
        "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ4In0.c2lnbmF0dXJl"
    )

    status = client.system.status()

    assert status.status
    assert token_requests.count == 2


def test_invalidate_drops_the_cached_token(
    counted: tuple[TechCorp, TokenRequests],
) -> None:
    client, token_requests = counted
    first = client.tokens.get()

    client.tokens.invalidate()

    assert client.tokens.get() != first
    assert token_requests.count == 2


def test_threads_share_one_token_fetch(
    counted: tuple[TechCorp, TokenRequests],
) -> None:
    client, token_requests = counted

    with ThreadPoolExecutor(max_workers=8) as pool:
        statuses = list(pool.map(lambda _: client.system.status(), range(16)))

    assert len(statuses) == 16
    assert token_requests.count == 1


async def test_tasks_share_one_token_fetch(server: LocalServer) -> None:
    token_requests = TokenRequests()

    async def hook(request: httpx.Request) -> None:
        token_requests(request)

    http = httpx.AsyncClient(event_hooks={"request": [hook]})
    async with (
        http,
        async_admin_client(server, http_client=http) as client,
    ):
        statuses = await asyncio.gather(*(client.system.status() for _ in range(16)))
        assert await client.tokens.get()

    assert len(statuses) == 16
    assert token_requests.count == 1


def test_credentials_from_the_environment(
    server: LocalServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TECHCORP_CLIENT_ID", ADMIN_CLIENT_ID)
    monkeypatch.setenv("TECHCORP_CLIENT_SECRET", ADMIN_CLIENT_SECRET)
    monkeypatch.setenv("TECHCORP_BASE_URL", server.base_url + "/")

    with TechCorp() as client:
        assert client.base_url == server.base_url
        assert client.system.status().status


def test_missing_credentials_are_refused_early(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("TECHCORP_CLIENT_ID", raising=False)
    monkeypatch.delenv("TECHCORP_CLIENT_SECRET", raising=False)

    with pytest.raises(ValueError, match="TECHCORP_CLIENT_ID"):
        TechCorp()


def test_both_kinds_of_credentials_are_refused() -> None:
    with pytest.raises(ValueError, match="not both"):
        TechCorp(client_id="id", client_secret="secret", email="a@b.c", password="pw")


def test_wrong_secret_raises_authentication_error(server: LocalServer) -> None:
    with (
        TechCorp(
            client_id=ADMIN_CLIENT_ID, client_secret="wrong", base_url=server.base_url
        ) as client,
        pytest.raises(AuthenticationError) as raised,
    ):
        client.products.list()

    assert raised.value.error == "invalid_client"


def test_short_lived_token_refreshed_at_half_life() -> None:
    clock = Clock()
    cache = TokenCache(clock)
    token = Token(access_token="short", token_type="Bearer", expires_in=60)

    cache.store(token, clock.now)
    clock.now += 29
    assert cache.fresh() == "short"
    clock.now += 1
    assert cache.fresh() is None


@pytest.mark.parametrize("base_url", ["127.0.0.1:8000", "ftp://127.0.0.1", "api"])
def test_base_url_without_http_scheme_is_refused_early(base_url: str) -> None:
    with pytest.raises(ValueError, match="must start with http:// or https://"):
        TechCorp(client_id="id", client_secret="secret", base_url=base_url)
