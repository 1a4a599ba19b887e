"""Liveness and readiness checks against a real SQLite file."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
from starlette.applications import Starlette

from techcorp_server.core.db import Database
from techcorp_server.core.handlers import EXCEPTION_HANDLERS
from techcorp_server.core.request_context import RequestContextMiddleware
from techcorp_server.observability import health
from techcorp_server.ratelimit.limiter import MemoryRateLimiter

from ..utils.api import assert_error


async def _client_with(database: Database) -> httpx.AsyncClient:
    app = Starlette(routes=health.routes, exception_handlers=EXCEPTION_HANDLERS)
    app.state.database = database
    app.state.rate_limiter = MemoryRateLimiter(limit=100, window_seconds=60)
    transport = httpx.ASGITransport(app=RequestContextMiddleware(app))
    return httpx.AsyncClient(transport=transport, base_url="http://testserver")


@pytest.fixture
async def working_database(tmp_path: Path) -> AsyncIterator[Database]:
    database = Database(f"sqlite+aiosqlite:///{tmp_path / 'health.db'}")
    yield database
    await database.dispose()


@pytest.fixture
async def broken_database(tmp_path: Path) -> AsyncIterator[Database]:
    # SQLite cannot create a file in a folder that does not exist.
    missing = tmp_path / "no-such-folder" / "health.db"
    database = Database(f"sqlite+aiosqlite:///{missing}")
    yield database
    await database.dispose()


async def test_healthz_ok(broken_database: Database) -> None:
    async with await _client_with(broken_database) as client:
        response = await client.get("/healthz")

    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


async def test_readyz_ok_with_database(working_database: Database) -> None:
    async with await _client_with(working_database) as client:
        response = await client.get("/readyz")

    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


async def test_readyz_unavailable_without_database(
    broken_database: Database,
) -> None:
    async with await _client_with(broken_database) as client:
        response = await client.get("/readyz")

    body = assert_error(response, 503, "service_unavailable")
    assert "database" in body["message"]
    assert "sqlite" not in response.text.lower()


async def test_readyz_failure_logged_once(
    broken_database: Database, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="techcorp_server.observability.health")
    async with await _client_with(broken_database) as client:
        for _ in range(3):
            await client.get("/readyz")

    warnings = [
        r for r in caplog.records if r.name == "techcorp_server.observability.health"
    ]
    assert len(warnings) == 1
    assert warnings[0].levelno == logging.WARNING


async def test_healthz_answers_head(working_database: Database) -> None:
    async with await _client_with(working_database) as client:
        response = await client.head("/healthz")

    assert response.status_code == 200
