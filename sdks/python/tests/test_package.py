from importlib.metadata import version

import httpx

import techcorp

from .server import ADMIN_CLIENT_ID, ADMIN_CLIENT_SECRET, LocalServer


def test_version_matches_the_distribution() -> None:
    assert techcorp.__version__ == version("techcorp-sdk")


def test_server_fixture_issues_tokens_to_the_admin_client(
    server: LocalServer,
) -> None:
    response = httpx.post(
        f"{server.base_url}/v2/auth/token",
        json={"client_id": ADMIN_CLIENT_ID, "client_secret": ADMIN_CLIENT_SECRET},
    )
    assert response.status_code == 200
    assert response.json()["token_type"] == "Bearer"
