"""Authentication and options of the `/v2/events` handshake."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import orjson
import pytest
from websockets.exceptions import InvalidStatus

from ..utils.api import client_token
from ..utils.server import ServerProcess
from .client import open_stream, opened, start_server


async def test_header_token_opens_stream(
    stream_server: ServerProcess, stream_admin_token: str
) -> None:
    async with open_stream(stream_server, stream_admin_token) as websocket:
        status = await opened(websocket)

    assert websocket.subprotocol is None
    assert status["data"]["status"] in {"operational", "maintenance", "degraded"}


async def test_subprotocol_token_selects_bearer(
    stream_server: ServerProcess, stream_admin_token: str
) -> None:
    subprotocols = ["bearer", stream_admin_token]
    async with open_stream(stream_server, subprotocols=subprotocols) as websocket:
        await opened(websocket)

    assert websocket.subprotocol == "bearer"
    assert websocket.response is not None
    selected = websocket.response.headers["Sec-WebSocket-Protocol"]
    assert selected == "bearer"
    assert stream_admin_token not in str(websocket.response.headers)


async def test_query_token_opens_stream(
    stream_server: ServerProcess, stream_admin_token: str
) -> None:
    query = f"access_token={stream_admin_token}"
    async with open_stream(stream_server, query=query) as websocket:
        await opened(websocket)


async def test_query_token_stays_out_of_logs(
    stream_server: ServerProcess, stream_admin_token: str
) -> None:
    query = f"access_token={stream_admin_token}&events=system_status"
    async with open_stream(stream_server, query=query) as websocket:
        await opened(websocket)

    signature = stream_admin_token.rsplit(".", 1)[1]
    logs = stream_server.logs()
    assert "/v2/events" in logs
    assert signature not in logs


async def _rejection(server: ServerProcess, **options: object) -> InvalidStatus:
    with pytest.raises(InvalidStatus) as rejected:
        async with open_stream(server, **options):  # type: ignore[arg-type]
            pass
    return rejected.value


@pytest.mark.parametrize(
    ("options", "challenge"),
    [
        ({}, 'Bearer realm="techcorp"'),
        ({"token": "not-a-token"}, 'error="invalid_token"'),
        ({"subprotocols": ["bearer", "eyJhbGciOiJIUzI1NiJ9.e30.x"]}, "invalid_token"),
        ({"query": "access_token=eyJhbGciOiJub25lIn0.e30."}, "invalid_token"),
        ({"subprotocols": ["bearer"]}, 'Bearer realm="techcorp"'),
    ],
    ids=["missing", "header", "subprotocol", "query", "subprotocol-without-token"],
)
async def test_bad_token_gets_401_before_upgrade(
    stream_server: ServerProcess, options: dict[str, object], challenge: str
) -> None:
    rejection = await _rejection(stream_server, **options)

    response = rejection.response
    assert response.status_code == 401
    assert response.headers["Content-Type"] == "application/json"
    assert challenge in response.headers["WWW-Authenticate"]
    assert response.headers["X-Request-Id"].startswith("req_")
    body = orjson.loads(response.body)
    assert body["error"] == "unauthorized"
    assert body["message"]
    assert body["request_id"] == response.headers["X-Request-Id"]


@pytest.mark.parametrize(
    "query",
    [
        "events=market_update,trades",
        "events=",
        "product_ids=",
        "category=%20",
        "category=%00",
        "category=bo%0Aok",
    ],
)
async def test_bad_options_get_400(
    stream_server: ServerProcess, stream_admin_token: str, query: str
) -> None:
    rejection = await _rejection(stream_server, token=stream_admin_token, query=query)

    assert rejection.response.status_code == 400
    body = orjson.loads(rejection.response.body)
    assert body["error"] == "bad_request"
    assert body["details"][0]["field"] == query.split("=")[0]


@pytest.fixture(scope="module")
def limited_server(
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[ServerProcess]:
    server = start_server(tmp_path_factory, "stream-limited", rate_limit_per_minute="3")
    yield server
    server.stop()


async def test_handshake_counts_against_rate_limit(
    limited_server: ServerProcess,
) -> None:
    statuses = []
    for _ in range(3):
        rejection = await _rejection(limited_server)
        statuses.append(rejection.response.status_code)
    limited = await _rejection(limited_server)

    assert statuses == [401, 401, 401]
    assert limited.response.status_code == 429
    assert limited.response.headers["X-RateLimit-Remaining"] == "0"
    assert int(limited.response.headers["Retry-After"]) >= 1
    assert orjson.loads(limited.response.body)["error"] == "rate_limited"
    async with httpx.AsyncClient(base_url=limited_server.base_url) as api:
        assert (await api.get("/v2/users")).status_code == 429


@pytest.fixture(scope="module")
def two_per_user_server(
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[ServerProcess]:
    server = start_server(
        tmp_path_factory, "stream-two-per-user", stream_max_connections_per_user="2"
    )
    yield server
    server.stop()


async def test_connections_per_user_limited(
    two_per_user_server: ServerProcess,
) -> None:
    async with httpx.AsyncClient(base_url=two_per_user_server.base_url) as api:
        token = await client_token(api)
    async with open_stream(two_per_user_server, token) as first:
        await opened(first)
        async with open_stream(two_per_user_server, token) as second:
            await opened(second)
            rejection = await _rejection(two_per_user_server, token=token)
        async with open_stream(two_per_user_server, token) as after_close:
            status = await opened(after_close)

    assert rejection.response.status_code == 429
    body = orjson.loads(rejection.response.body)
    assert body["error"] == "rate_limited"
    assert "has 2 open" in body["message"]
    assert status["type"] == "system_status"
