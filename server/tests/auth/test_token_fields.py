"""How the token endpoint treats fields it does not know and empty ones."""

from __future__ import annotations

import httpx

from ..utils.api import ADMIN_CLIENT_ID, ADMIN_CLIENT_SECRET, assert_error, bearer


async def test_unknown_fields_ignored(api: httpx.AsyncClient) -> None:
    for extra in ("x", 1, None, {"nested": True}):
        response = await api.post(
            "/v2/auth/token",
            json={
                "client_id": ADMIN_CLIENT_ID,
                "client_secret": ADMIN_CLIENT_SECRET,
                "extra": extra,
            },
        )
        assert response.status_code == 200, (extra, response.text)


async def test_known_field_must_be_string(api: httpx.AsyncClient) -> None:
    response = await api.post(
        "/v2/auth/token", json={"client_id": ADMIN_CLIENT_ID, "client_secret": 5}
    )

    error = assert_error(response, 400, "invalid_request")
    assert "client_secret" in error["message"]


async def test_empty_form_value_counts_as_missing(api: httpx.AsyncClient) -> None:
    response = await api.post(
        "/v2/auth/token",
        data={
            "grant_type": "client_credentials",
            "client_id": ADMIN_CLIENT_ID,
            "client_secret": "",
        },
    )

    assert_error(response, 400, "invalid_request")


async def test_configured_secret_has_no_hint(
    api: httpx.AsyncClient, admin_token: str
) -> None:
    response = await api.get("/v2/clients?limit=100", headers=bearer(admin_token))

    assert response.status_code == 200
    listed = {client["id"]: client for client in response.json()["data"]}
    assert listed[ADMIN_CLIENT_ID]["secret_hint"] == ""
