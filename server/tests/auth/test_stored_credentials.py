"""How passwords and client secrets are stored, read from the server's database."""

from __future__ import annotations

import hashlib
import re
import secrets

import httpx

from ..utils.api import bearer, client_token, unique_email
from ..utils.server import ServerProcess
from ..utils.stored import fetch_all

HEX_SHA256 = re.compile(r"[0-9a-f]{64}")


def stored_row(database_url: str, query: str, key: str) -> tuple[str, ...]:
    rows = fetch_all(database_url, query, key)
    assert rows, f"no row for {key!r}"
    return rows[0]


async def test_password_stored_as_argon2id(
    server_process: ServerProcess, http_client: httpx.AsyncClient
) -> None:
    admin_token = await client_token(http_client)
    password = "Stored-" + secrets.token_hex(8)

    created = await http_client.post(
        "/v2/users",
        json={"email": unique_email("stored"), "password": password, "role": "member"},
        headers=bearer(admin_token),
    )

    assert created.status_code == 201, created.text
    (password_hash,) = stored_row(
        server_process.database_url,
        "SELECT password_hash FROM users WHERE id = ?",
        created.json()["id"],
    )
    assert password_hash.startswith("$argon2id$")
    assert password not in password_hash
    listed = await http_client.get(
        "/v2/users", params={"limit": 100}, headers=bearer(admin_token)
    )
    assert "$argon2" not in listed.text
    for user in listed.json()["data"]:
        assert "password" not in user
        assert "password_hash" not in user


async def test_client_secret_stored_as_keyed_hash(
    server_process: ServerProcess, http_client: httpx.AsyncClient
) -> None:
    admin_token = await client_token(http_client)

    created = await http_client.post(
        "/v2/clients", json={}, headers=bearer(admin_token)
    )

    assert created.status_code == 201, created.text
    client = created.json()
    secret_hash, secret_hint = stored_row(
        server_process.database_url,
        "SELECT secret_hash, secret_hint FROM api_clients WHERE id = ?",
        client["id"],
    )
    assert HEX_SHA256.fullmatch(secret_hash)
    # An unkeyed digest could be checked against guesses with the table alone.
    unkeyed = hashlib.sha256(client["client_secret"].encode()).hexdigest()
    assert secret_hash != unkeyed
    assert client["client_secret"] not in secret_hash
    assert secret_hint == client["secret_hint"]
