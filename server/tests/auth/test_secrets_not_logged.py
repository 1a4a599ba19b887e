"""Secrets, passwords and tokens never reach the server's log."""

from __future__ import annotations

import asyncio
import base64
import secrets
import time

import httpx

from ..utils.api import ADMIN_CLIENT_ID, ADMIN_CLIENT_SECRET, bearer, client_token
from ..utils.server import ServerProcess

TOKEN_URL = "/v2/auth/token"
LOG_WAIT_SECONDS = 5.0


async def wait_for_request_ids(server: ServerProcess, request_ids: list[str]) -> str:
    """Return the log once it contains every request id, so it covers them all."""
    deadline = time.monotonic() + LOG_WAIT_SECONDS
    while True:
        logs = server.logs()
        missing = [request_id for request_id in request_ids if request_id not in logs]
        if not missing:
            return logs
        assert time.monotonic() < deadline, f"requests never logged: {missing}"
        await asyncio.sleep(0.1)


async def test_credentials_never_logged(
    server_process: ServerProcess, http_client: httpx.AsyncClient
) -> None:
    admin_token = await client_token(http_client)
    password = "Logged-never-" + secrets.token_hex(8)
    wrong_secret = "wrong-secret-" + secrets.token_hex(8)
    forged_token = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ4In0." + secrets.token_hex(16)
    email = f"logcheck-{secrets.token_hex(4)}@example.com"
    basic = base64.b64encode(f"{ADMIN_CLIENT_ID}:{wrong_secret}".encode()).decode()

    responses = [
        await http_client.post(
            "/v2/users",
            json={"email": email, "password": password, "role": "member"},
            headers=bearer(admin_token),
        ),
        await http_client.post(TOKEN_URL, json={"email": email, "password": password}),
        await http_client.post(
            TOKEN_URL, json={"email": email, "password": password + "x"}
        ),
        await http_client.post(
            TOKEN_URL,
            json={"client_id": ADMIN_CLIENT_ID, "client_secret": wrong_secret},
        ),
        await http_client.post(
            TOKEN_URL,
            data={"grant_type": "client_credentials"},
            headers={"Authorization": f"Basic {basic}"},
        ),
        await http_client.post("/v2/clients", json={}, headers=bearer(admin_token)),
        await http_client.get("/v2/users", headers=bearer(forged_token)),
    ]
    statuses = [response.status_code for response in responses]
    assert statuses == [201, 200, 401, 401, 401, 201, 401]

    request_ids = [response.headers["x-request-id"] for response in responses]
    logs = await wait_for_request_ids(server_process, request_ids)
    user_token = responses[1].json()["access_token"]
    client_secret = responses[5].json()["client_secret"]
    for text in (
        ADMIN_CLIENT_SECRET,
        admin_token,
        password,
        wrong_secret,
        basic,
        forged_token,
        user_token,
        client_secret,
    ):
        assert text not in logs
