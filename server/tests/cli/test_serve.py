"""`techcorp-server serve` and `migrate` as an operator runs them."""

from __future__ import annotations

import signal
from pathlib import Path

import httpx
from alembic.script import ScriptDirectory

from techcorp_server.core.migrate import alembic_config

from ..utils.server import ServerProcess
from .conftest import CommandLine

NO_CLIENT_HINT = "techcorp-server clients create --email"


def test_serve_empty_database_prints_hint(tmp_path: Path) -> None:
    server = ServerProcess(tmp_path, {})
    for name in ("TECHCORP_BOOTSTRAP_CLIENT_ID", "TECHCORP_BOOTSTRAP_CLIENT_SECRET"):
        server.env.pop(name, None)
    server.start()
    try:
        response = httpx.get(f"{server.base_url}/readyz", timeout=5)
        assert response.status_code == 200
    finally:
        exit_code = server.stop(signal.SIGTERM)

    assert exit_code == 0
    logs = server.logs()
    assert NO_CLIENT_HINT in logs
    assert "TECHCORP_BOOTSTRAP_CLIENT_ID" in logs
    assert "server stopped" in logs


def test_serve_with_bootstrap_prints_no_hint(server_process: ServerProcess) -> None:
    assert NO_CLIENT_HINT not in server_process.logs()


def test_serve_stops_on_sigint(tmp_path: Path) -> None:
    server = ServerProcess(tmp_path, {})
    server.start()

    exit_code = server.stop(signal.SIGINT)

    assert exit_code == 0
    assert "server stopped" in server.logs()


def test_serve_rejects_workers_on_sqlite(cli: CommandLine) -> None:
    result = cli.run("serve", "--workers", "2")

    assert result.returncode == 2
    assert "needs PostgreSQL" in result.stderr
    assert not cli.database_path.exists()


def test_serve_warns_workers_without_redis(cli: CommandLine) -> None:
    # Nothing listens on port 1, so the command stops at the migration.
    unreachable = "postgresql://techcorp@127.0.0.1:1/techcorp"
    result = cli.run(
        "serve", "--workers", "2", env={"TECHCORP_DATABASE_URL": unreachable}
    )

    assert result.returncode == 1
    assert "without TECHCORP_REDIS_URL each of the 2 workers" in result.stderr
    assert "The database cannot be used" in result.stderr


def test_serve_rejects_invalid_setting(cli: CommandLine) -> None:
    result = cli.run("serve", env={"TECHCORP_RATE_LIMIT_PER_MINUTE": "lots"})

    assert result.returncode == 2
    assert "TECHCORP_RATE_LIMIT_PER_MINUTE" in result.stderr


def test_migrate_creates_schema(cli: CommandLine) -> None:
    result = cli.run("migrate")

    assert result.returncode == 0, result.stderr
    tables = {name for (name,) in cli.query("SELECT name FROM sqlite_master")}
    assert {"users", "products", "api_clients", "alembic_version"} <= tables
    assert cli.query("SELECT count(*) FROM users") == [(0,)]


def test_migrate_twice_changes_nothing(cli: CommandLine) -> None:
    for _ in range(2):
        result = cli.run("migrate")
        assert result.returncode == 0, result.stderr

    head = ScriptDirectory.from_config(alembic_config()).get_current_head()
    assert cli.query("SELECT version_num FROM alembic_version") == [(head,)]


def test_serve_main_process_loads_no_application(
    server_process: ServerProcess,
) -> None:
    assert server_process.process is not None
    proc = Path("/proc") / str(server_process.process.pid)

    command = proc.joinpath("cmdline").read_bytes().split(b"\0")
    mapped_files = proc.joinpath("maps").read_text()

    assert b"techcorp_server.supervisor" in command
    # SQLAlchemy's compiled modules are mapped once the application is imported.
    assert "sqlalchemy" not in mapped_files
