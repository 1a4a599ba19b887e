"""A stock OAuth 2.0 client library gets and uses tokens, unchanged.

Authlib's httpx client (RFC 6749 client credentials) runs against the real
server process with its default settings and no adapter in between.
"""

from __future__ import annotations

import pytest
from authlib.integrations.httpx_client import AsyncOAuth2Client, OAuthError

from ..utils.api import ADMIN_CLIENT_ID, ADMIN_CLIENT_SECRET
from ..utils.server import ServerProcess
from ..utils.tokens import split_token

TOKEN_PATH = "/v2/auth/token"


def oauth_client(
    server: ServerProcess,
    auth_method: str,
    client_secret: str = ADMIN_CLIENT_SECRET,
    scope: str | None = None,
) -> AsyncOAuth2Client:
    return AsyncOAuth2Client(
        client_id=ADMIN_CLIENT_ID,
        client_secret=client_secret,
        token_endpoint_auth_method=auth_method,
        scope=scope,
        base_url=server.base_url,
        timeout=30,
    )


@pytest.mark.parametrize("auth_method", ["client_secret_basic", "client_secret_post"])
async def test_client_credentials_then_list_users(
    server_process: ServerProcess, auth_method: str
) -> None:
    async with oauth_client(server_process, auth_method) as client:
        token = await client.fetch_token(
            server_process.base_url + TOKEN_PATH, grant_type="client_credentials"
        )
        response = await client.get("/v2/users")

    assert token["token_type"] == "Bearer"
    assert token["expires_in"] == 3600
    assert token["expires_at"] > token["expires_in"]
    assert split_token(token["access_token"])[1]["cid"] == ADMIN_CLIENT_ID
    assert response.status_code == 200, response.text
    assert isinstance(response.json()["data"], list)


async def test_requested_scope_returned(server_process: ServerProcess) -> None:
    async with oauth_client(
        server_process, "client_secret_basic", scope="api"
    ) as client:
        token = await client.fetch_token(
            server_process.base_url + TOKEN_PATH, grant_type="client_credentials"
        )

    assert isinstance(token["scope"], str)


@pytest.mark.parametrize("auth_method", ["client_secret_basic", "client_secret_post"])
async def test_wrong_secret_raises_oauth_error(
    server_process: ServerProcess, auth_method: str
) -> None:
    async with oauth_client(
        server_process, auth_method, client_secret="wrong-secret"
    ) as client:
        with pytest.raises(OAuthError) as caught:
            await client.fetch_token(
                server_process.base_url + TOKEN_PATH, grant_type="client_credentials"
            )

    assert caught.value.error == "invalid_client"
    assert caught.value.description
