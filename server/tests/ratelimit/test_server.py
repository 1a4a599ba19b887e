"""Rate limiting of a real server process, over real sockets.

Each server here has its own limit and window. Requests go to `/v2/users`
without a token: a 401 costs the server little and has passed the limiter,
so any status other than 429 counts as a request let through.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator

import httpx
import pytest

from ..conftest import server_env
from ..utils.server import ServerProcess

RATE_HEADERS = (
    "X-RateLimit-Limit",
    "X-RateLimit-Remaining",
    "X-RateLimit-Reset",
    "RateLimit-Policy",
    "RateLimit",
    "X-Request-Id",
)


def _start(
    tmp_path_factory: pytest.TempPathFactory, name: str, **env: str
) -> ServerProcess:
    settings = {**server_env(), **{f"TECHCORP_{k.upper()}": v for k, v in env.items()}}
    server = ServerProcess(tmp_path_factory.mktemp(name), settings)
    server.start()
    return server


@pytest.fixture(scope="module")
def limited_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    server = _start(tmp_path_factory, "rate-100", rate_limit_per_minute="100")
    yield server
    server.stop()


@pytest.fixture(scope="module")
def short_window_server(
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[ServerProcess]:
    server = _start(
        tmp_path_factory,
        "rate-window",
        rate_limit_per_minute="5",
        rate_limit_window_seconds="2",
    )
    yield server
    server.stop()


@pytest.fixture(scope="module")
def proxied_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    # 127.0.0.1 is the trusted proxy; a client connecting from 127.0.0.2,
    # another loopback address, is an ordinary untrusted peer.
    server = _start(
        tmp_path_factory,
        "rate-proxy",
        rate_limit_per_minute="3",
        trusted_proxies="127.0.0.1/32",
    )
    yield server
    server.stop()


class RawResponse:
    """Status, headers and body of one HTTP/1.1 response read off a socket."""

    def __init__(self, raw: bytes) -> None:
        head, _, self.body = raw.partition(b"\r\n\r\n")
        lines = head.decode("latin-1").split("\r\n")
        self.status_code = int(lines[0].split(" ")[1])
        fields = []
        for line in lines[1:]:
            name, _, value = line.partition(":")
            fields.append((name.strip(), value.strip()))
        self.headers = httpx.Headers(fields)


async def _raw_get(server: ServerProcess, path: str) -> RawResponse:
    """GET over a connection of its own, with far less client work than httpx."""
    reader, writer = await asyncio.open_connection("127.0.0.1", server.port)
    try:
        writer.write(
            f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\n"
            "Connection: close\r\n\r\n".encode()
        )
        await writer.drain()
        raw = await reader.read()
    finally:
        writer.close()
        await writer.wait_closed()
    return RawResponse(raw)


def _client(
    server: ServerProcess, local_address: str = "127.0.0.1"
) -> httpx.AsyncClient:
    transport = httpx.AsyncHTTPTransport(
        local_address=local_address,
    )
    return httpx.AsyncClient(base_url=server.base_url, transport=transport, timeout=60)


async def test_concurrent_burst_exactly_100_pass(
    limited_server: ServerProcess,
) -> None:
    # A connection per request, all opened at once.
    responses = await asyncio.gather(
        *(_raw_get(limited_server, "/v2/users") for _ in range(1000))
    )

    statuses = [response.status_code for response in responses]
    assert statuses.count(429) == 900
    assert len(statuses) - statuses.count(429) == 100
    for response in responses:
        for name in RATE_HEADERS:
            assert name in response.headers, f"{name} missing: {response.headers}"
        assert response.headers["X-RateLimit-Limit"] == "100"
        assert response.headers["RateLimit-Policy"] == '"default";q=100;w=60'
        if response.status_code == 429:
            assert int(response.headers["Retry-After"]) >= 1
            assert response.headers["X-RateLimit-Remaining"] == "0"
            assert b'"error":"rate_limited"' in response.body
    passed = [r for r in responses if r.status_code != 429]
    remaining = sorted(int(r.headers["X-RateLimit-Remaining"]) for r in passed)
    assert remaining == list(range(100))


async def test_health_checks_not_limited(proxied_server: ServerProcess) -> None:
    # 127.0.0.3 is a client of its own, with a limit of 3 per window.
    async with _client(proxied_server, local_address="127.0.0.3") as client:
        checks = []
        for path in ("/healthz", "/readyz", "/metrics") * 2:
            checks.append(await client.get(path))
        limited = [await client.get("/v2/users") for _ in range(4)]

    assert [r.status_code for r in checks] == [200] * 6
    assert all("X-RateLimit-Limit" not in r.headers for r in checks)
    assert limited[2].headers["X-RateLimit-Remaining"] == "0"
    assert limited[3].status_code == 429


async def test_window_reset_lets_requests_through(
    short_window_server: ServerProcess,
) -> None:
    async with _client(short_window_server) as client:
        # Start at the beginning of a window so all six land in the same one.
        first = await client.get("/v2/users")
        await asyncio.sleep(
            max(0.0, int(first.headers["X-RateLimit-Reset"]) - time.time())
        )
        burst = [await client.get("/v2/users") for _ in range(6)]
        assert len({r.headers["X-RateLimit-Reset"] for r in burst}) == 1

        statuses = [r.status_code for r in burst]
        assert statuses[:5] == [401] * 5
        assert statuses[5] == 429
        reset_at = int(burst[5].headers["X-RateLimit-Reset"])
        assert int(burst[5].headers["Retry-After"]) <= 2

        await asyncio.sleep(max(0.0, reset_at - time.time()) + 0.05)
        after = await client.get("/v2/users")

    assert after.status_code == 401
    assert after.headers["X-RateLimit-Remaining"] == "4"
    assert int(after.headers["X-RateLimit-Reset"]) > reset_at


async def test_spoofed_forwarded_for_ignored(
    proxied_server: ServerProcess,
) -> None:
    async with _client(proxied_server, local_address="127.0.0.2") as client:
        responses = [
            await client.get(
                "/v2/users", headers={"X-Forwarded-For": f"198.51.100.{number}"}
            )
            for number in range(1, 5)
        ]

    assert len({r.headers["X-RateLimit-Reset"] for r in responses}) == 1
    remaining = [r.headers["X-RateLimit-Remaining"] for r in responses]
    assert remaining == ["2", "1", "0", "0"]
    assert responses[3].status_code == 429


async def test_forwarded_for_from_trusted_proxy(
    proxied_server: ServerProcess,
) -> None:
    async with _client(proxied_server, local_address="127.0.0.1") as proxy:
        first_client = [
            await proxy.get("/v2/users", headers={"X-Forwarded-For": "203.0.113.10"})
            for _ in range(4)
        ]
        second_client = await proxy.get(
            "/v2/users", headers={"X-Forwarded-For": "203.0.113.11"}
        )
        # A client cannot escape by prepending made-up addresses of its own.
        spoofing = await proxy.get(
            "/v2/users", headers={"X-Forwarded-For": "1.1.1.1, 203.0.113.10"}
        )

    assert [r.status_code for r in first_client] == [401, 401, 401, 429]
    assert second_client.status_code == 401
    assert second_client.headers["X-RateLimit-Remaining"] == "2"
    assert spoofing.status_code == 429
