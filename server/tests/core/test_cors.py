"""CORS: off by default, and exposing the API's headers to listed origins."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
from asgi_lifespan import LifespanManager

from techcorp_server.app import create_app

from ..conftest import app_settings
from ..utils.api import bearer, client_token

ALLOWED_ORIGIN = "https://app.example.com"


@pytest.fixture
async def cors_api(tmp_path: Path) -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(app_settings(tmp_path, cors_origins=[ALLOWED_ORIGIN]))
    async with LifespanManager(app) as manager:
        transport = httpx.ASGITransport(app=manager.app)
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as api:
            yield api


async def test_preflight_allowed_origin(cors_api: httpx.AsyncClient) -> None:
    response = await cors_api.options(
        "/v2/users",
        headers={
            "Origin": ALLOWED_ORIGIN,
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "Authorization, Content-Type",
        },
    )

    assert response.status_code == 200
    assert response.headers["access-control-allow-origin"] == ALLOWED_ORIGIN
    assert "POST" in response.headers["access-control-allow-methods"]


async def test_response_exposes_api_headers(cors_api: httpx.AsyncClient) -> None:
    token = await client_token(cors_api)
    response = await cors_api.get(
        "/v2/users", headers={**bearer(token), "Origin": ALLOWED_ORIGIN}
    )

    assert response.status_code == 200
    assert response.headers["access-control-allow-origin"] == ALLOWED_ORIGIN
    exposed = {
        name.strip().lower()
        for name in response.headers["access-control-expose-headers"].split(",")
    }
    for name in ("x-request-id", "x-ratelimit-remaining", "link", "location"):
        assert name in exposed


async def test_other_origin_not_allowed(cors_api: httpx.AsyncClient) -> None:
    response = await cors_api.get(
        "/healthz", headers={"Origin": "https://elsewhere.example"}
    )

    assert "access-control-allow-origin" not in response.headers


async def test_cors_off_by_default(api: httpx.AsyncClient) -> None:
    response = await api.options(
        "/v2/users",
        headers={"Origin": ALLOWED_ORIGIN, "Access-Control-Request-Method": "GET"},
    )

    assert "access-control-allow-origin" not in response.headers
