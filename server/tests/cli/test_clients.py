"""`techcorp-server clients`: create, list and delete API clients."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import httpx

from ..utils.api import bearer, client_token
from ..utils.server import ServerProcess
from .conftest import CommandLine


def created_client(cli: CommandLine, *args: str) -> dict[str, str]:
    result = cli.run("clients", "create", "--json", *args)
    assert result.returncode == 0, result.stderr
    assert "not shown again" in result.stderr
    client: dict[str, str] = json.loads(result.stdout)
    return client


async def test_created_client_gets_token(cli: CommandLine) -> None:
    client = created_client(cli, "--email", "Ops@Example.com", "--role", "admin")

    assert client["client_id"].startswith("cli_")
    async with cli.api() as api:
        token = await client_token(api, client["client_id"], client["client_secret"])
        response = await api.get("/v2/users", headers=bearer(token))
    assert response.status_code == 200, response.text
    assert [user["role"] for user in response.json()["data"]] == ["admin"]


def test_create_client_reuses_user_by_email(cli: CommandLine) -> None:
    created_client(cli, "--email", "ops@example.com", "--role", "member")
    created_client(cli, "--email", "OPS@example.com", "--role", "member")

    assert cli.query("SELECT count(*) FROM users") == [(1,)]
    assert cli.query("SELECT count(*) FROM api_clients") == [(2,)]


def test_create_client_rejects_other_role(cli: CommandLine) -> None:
    created_client(cli, "--email", "ops@example.com", "--role", "member")

    result = cli.run(
        "clients", "create", "--email", "ops@example.com", "--role", "admin"
    )

    assert result.returncode == 1
    assert "already exists with the role 'member'" in result.stderr
    assert cli.query("SELECT count(*) FROM api_clients") == [(1,)]


def test_create_client_rejects_invalid_email(cli: CommandLine) -> None:
    result = cli.run("clients", "create", "--email", "not-an-email", "--role", "admin")

    assert result.returncode == 1
    assert "email" in result.stderr
    assert cli.query("SELECT count(*) FROM users") == [(0,)]


def test_create_client_plain_output(cli: CommandLine) -> None:
    result = cli.run("clients", "create", "--email", "a@example.com", "--role", "admin")

    assert result.returncode == 0, result.stderr
    lines = dict(line.split(":", 1) for line in result.stdout.splitlines())
    assert lines["client_id"].strip().startswith("cli_")
    assert len(lines["client_secret"].strip()) >= 32


def test_list_clients_hides_secrets(cli: CommandLine) -> None:
    client = created_client(cli, "--email", "ops@example.com", "--role", "admin")

    result = cli.run("clients", "list")

    assert result.returncode == 0, result.stderr
    header, row = result.stdout.splitlines()
    assert header.split("\t")[:4] == ["id", "name", "user", "role"]
    assert row.split("\t")[:4] == [client["client_id"], "", "ops@example.com", "admin"]
    assert client["client_secret"] not in result.stdout


async def test_deleted_client_gets_no_token(cli: CommandLine) -> None:
    client = created_client(cli, "--email", "ops@example.com", "--role", "admin")

    result = cli.run("clients", "delete", client["client_id"])

    assert result.returncode == 0, result.stderr
    async with cli.api() as api:
        response = await api.post(
            "/v2/auth/token",
            json={
                "client_id": client["client_id"],
                "client_secret": client["client_secret"],
            },
        )
    assert response.status_code == 401


def test_delete_unknown_client_fails(cli: CommandLine) -> None:
    result = cli.run("clients", "delete", "cli_unknown")

    assert result.returncode == 1
    assert "cli_unknown" in result.stderr


async def test_delete_reaches_running_server(cli: CommandLine, tmp_path: Path) -> None:
    client = created_client(cli, "--email", "ops@example.com", "--role", "admin")
    server = ServerProcess(
        tmp_path,
        {
            "TECHCORP_DATABASE_URL": cli.database_url,
            "TECHCORP_AUTH_CACHE_SECONDS": "0.5",
        },
    )
    server.start()
    try:
        async with httpx.AsyncClient(base_url=server.base_url) as api:
            token = await client_token(
                api, client["client_id"], client["client_secret"]
            )
            listed = await api.get("/v2/users", headers=bearer(token))
            assert listed.status_code == 200

            deleted = cli.run("clients", "delete", client["client_id"])
            assert deleted.returncode == 0, deleted.stderr
            await asyncio.sleep(1.0)

            refused = await api.get("/v2/users", headers=bearer(token))
            assert refused.status_code == 401
            again = await api.post(
                "/v2/auth/token",
                json={
                    "client_id": client["client_id"],
                    "client_secret": client["client_secret"],
                },
            )
            assert again.status_code == 401
    finally:
        server.stop()
