"""Fixtures that run `techcorp-server` commands as a child process."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager, closing
from pathlib import Path
from typing import Any

import httpx
import pytest
from asgi_lifespan import LifespanManager

from techcorp_server.app import create_app
from techcorp_server.settings import Settings

COMMAND_TIMEOUT_SECONDS = 120


class CommandLine:
    """`python -m techcorp_server` against one SQLite file of its own."""

    def __init__(self, data_dir: Path) -> None:
        self.database_path = data_dir / "techcorp.db"
        self.database_url = f"sqlite:///{self.database_path}"

    def env(self, extra: Mapping[str, str] | None = None) -> dict[str, str]:
        # Drop TECHCORP_ variables of the calling shell, so each run reads only
        # the settings the test gives it.
        env = {
            key: value
            for key, value in os.environ.items()
            if not key.startswith("TECHCORP_")
        }
        env["TECHCORP_DATABASE_URL"] = self.database_url
        env["TECHCORP_LOG_FORMAT"] = "json"
        env.update(extra or {})
        return env

    def run(
        self, *args: str, env: Mapping[str, str] | None = None
    ) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "techcorp_server", *args],
            env=self.env(env),
            capture_output=True,
            text=True,
            timeout=COMMAND_TIMEOUT_SECONDS,
            check=False,
        )

    def query(self, sql: str, *params: object) -> list[tuple[Any, ...]]:
        with closing(sqlite3.connect(self.database_path)) as connection:
            return connection.execute(sql, params).fetchall()

    @asynccontextmanager
    async def api(self) -> AsyncIterator[httpx.AsyncClient]:
        """Serve the same database in-process, as a started server would."""
        settings = Settings(
            database_url=self.database_url,
            rate_limit_per_minute=10**9,
            log_format="json",
        )
        app = create_app(settings)
        async with LifespanManager(app) as manager:
            transport = httpx.ASGITransport(
                app=manager.app, client=("127.0.0.1", 50000)
            )
            async with httpx.AsyncClient(
                transport=transport, base_url="http://testserver"
            ) as client:
                yield client


@pytest.fixture
def cli(tmp_path: Path) -> CommandLine:
    return CommandLine(tmp_path)
