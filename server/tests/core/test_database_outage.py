"""A server whose PostgreSQL goes away returns 503 and recovers by itself."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from ..conftest import server_env
from ..utils.api import ADMIN_CLIENT_ID, ADMIN_CLIENT_SECRET, assert_error
from ..utils.postgres_server import PostgresServer
from ..utils.server import ServerProcess

PATHS = ("/v2/users", "/v2/products?limit=5", "/v2/products/prd_missing")


@pytest.fixture
def postgres() -> Iterator[PostgresServer]:
    server = PostgresServer()
    server.start()
    yield server
    server.stop()


def test_outage_gives_503_then_recovers(
    tmp_path: Path, postgres: PostgresServer
) -> None:
    env = {**server_env(), "TECHCORP_DATABASE_URL": postgres.create_database()}
    server = ServerProcess(tmp_path, env)
    server.start()
    try:
        with httpx.Client(base_url=server.base_url, timeout=30) as client:
            credentials = {
                "client_id": ADMIN_CLIENT_ID,
                "client_secret": ADMIN_CLIENT_SECRET,
            }
            token = client.post("/v2/auth/token", json=credentials)
            headers = {"Authorization": f"Bearer {token.json()['access_token']}"}
            assert client.get("/v2/users", headers=headers).status_code == 200

            postgres.pause()
            started = time.monotonic()
            down = [client.get(path, headers=headers) for path in PATHS]
            new_caller = client.post(
                "/v2/auth/token", json={"client_id": "cli_other", "client_secret": "x"}
            )
            ready_while_down = client.get("/readyz")
            seconds_down = time.monotonic() - started

            postgres.resume()
            up = client.get("/v2/users", headers=headers)
            ready_again = client.get("/readyz")
    finally:
        server.stop()

    for response in [*down, new_caller, ready_while_down]:
        body = assert_error(response, 503, "service_unavailable")
        assert "database" in body["message"]
        assert "postgres" not in response.text.lower()
    assert seconds_down < 10
    assert up.status_code == 200
    assert ready_again.status_code == 200
    logs = server.logs()
    assert "database unavailable" in logs
    assert "Traceback" not in logs
