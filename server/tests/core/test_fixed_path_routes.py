"""Operations on fixed paths, served from a table in front of Starlette's router.

Each request here goes once through the table and once through Starlette
alone, and both responses must match byte for byte.
"""

from __future__ import annotations

import logging

import httpx
import pytest
import sqlalchemy.exc
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import ASGIApp

from techcorp_server.core.errors import ConflictError
from techcorp_server.core.handlers import EXCEPTION_HANDLERS
from techcorp_server.core.http import json_response
from techcorp_server.core.request_context import RequestContextMiddleware
from techcorp_server.core.routing import (
    Endpoint,
    FixedPathRoutes,
    Operation,
    build_routes,
)
from techcorp_server.ratelimit.limiter import MemoryRateLimiter
from techcorp_server.ratelimit.middleware import RateLimitMiddleware

from .stack import client_for

CRASH_TEXT = "internal detail that must not leak"


async def list_things(request: Request) -> Response:
    return json_response({"data": [1, 2], "route": request.scope["route"].path})


async def create_thing(request: Request) -> Response:
    raise ConflictError("The thing exists.", headers={"X-Conflict": "thing"})


async def crash(request: Request) -> Response:
    raise RuntimeError(CRASH_TEXT)


async def database_down(request: Request) -> Response:
    raise sqlalchemy.exc.OperationalError("SELECT 1", {}, ConnectionError("gone"))


async def get_thing(request: Request) -> Response:
    return json_response({"id": request.path_params["thing_id"]})


def _operation(method: str, path: str, endpoint: Endpoint) -> Operation:
    return Operation(
        method=method,
        path=path,
        endpoint=endpoint,
        summary=path,
        tag="things",
        operation_id=f"{method.lower()}_{path.strip('/').replace('/', '_')}",
        auth=False,
    )


def _stacks() -> tuple[ASGIApp, ASGIApp, FixedPathRoutes]:
    """Return the app with the table, the same app without it, and the table."""
    operations = [
        _operation("GET", "/v2/things", list_things),
        _operation("POST", "/v2/things", create_thing),
        _operation("GET", "/v2/crash", crash),
        _operation("GET", "/v2/database", database_down),
        _operation("GET", "/v2/things/{thing_id}", get_thing),
    ]
    app = Starlette(
        routes=build_routes(operations), exception_handlers=EXCEPTION_HANDLERS
    )
    table = FixedPathRoutes(app, EXCEPTION_HANDLERS)

    def wrapped(inner: ASGIApp) -> ASGIApp:
        limiter = MemoryRateLimiter(limit=10**9, window_seconds=60)
        return RequestContextMiddleware(RateLimitMiddleware(inner, limiter=limiter))

    return wrapped(table), wrapped(app), table


REQUESTS = [
    ("GET", "/v2/things"),
    ("HEAD", "/v2/things"),
    ("POST", "/v2/things"),
    ("DELETE", "/v2/things"),
    ("GET", "/v2/crash"),
    ("GET", "/v2/database"),
    ("GET", "/v2/things/7"),
    ("GET", "/v2/things/7%2Fx"),
    ("GET", "/v2/none"),
]


def _comparable(response: httpx.Response) -> tuple[int, list[tuple[str, str]], bytes]:
    # The reset time in the rate-limit headers can tick between two requests.
    headers = [
        (name, value)
        for name, value in response.headers.multi_items()
        if name not in {"ratelimit", "x-ratelimit-reset", "x-ratelimit-remaining"}
    ]
    return response.status_code, headers, response.content


@pytest.mark.parametrize(("method", "path"), REQUESTS)
async def test_same_response_as_starlette(method: str, path: str) -> None:
    with_table, without_table, _ = _stacks()
    headers = {"X-Request-Id": "req-compare-1"}
    async with client_for(with_table) as fast, client_for(without_table) as plain:
        response = await fast.request(method, path, headers=headers)
        expected = await plain.request(method, path, headers=headers)

    assert _comparable(response) == _comparable(expected)
    assert response.headers.get_list("x-ratelimit-limit") == ["1000000000"]
    assert response.headers.get_list("x-request-id") == ["req-compare-1"]


def test_table_contains_fixed_paths_only() -> None:
    _, _, table = _stacks()

    assert sorted(table._routes) == ["/v2/crash", "/v2/database", "/v2/things"]


async def test_route_set_for_the_endpoint() -> None:
    with_table, _, _ = _stacks()
    async with client_for(with_table) as api:
        response = await api.get("/v2/things")

    assert response.json() == {"data": [1, 2], "route": "/v2/things"}


async def test_crash_logged_once_without_leaking(
    caplog: pytest.LogCaptureFixture,
) -> None:
    with_table, _, _ = _stacks()
    with caplog.at_level(logging.ERROR):
        async with client_for(with_table) as api:
            response = await api.get("/v2/crash")

    assert response.status_code == 500
    assert response.json()["error"] == "internal_error"
    assert CRASH_TEXT not in response.text
    logged = [record for record in caplog.records if record.exc_info]
    assert len(logged) == 1
    assert logged[0].exc_info is not None
    assert CRASH_TEXT in str(logged[0].exc_info[1])
