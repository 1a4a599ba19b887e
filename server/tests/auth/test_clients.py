"""API clients: create, list, delete, who may do what, and token lifetime."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import httpx
import pytest

from ..utils.api import assert_error, bearer, client_token, create_user
from ..utils.tokens import split_token

CLIENTS_URL = "/v2/clients"
TOKEN_URL = "/v2/auth/token"
CREATED_FIELDS = {"id", "name", "user_id", "created_at", "secret_hint", "client_secret"}
LISTED_FIELDS = CREATED_FIELDS - {"client_secret"}
MIN_SECRET_LENGTH = 32


def admin_probe_url() -> str:
    """Return a URL where an admin gets 404 and anyone else 403, creating nothing."""
    return "/v2/users/usr_00000000000000000000000000"


def user_id_of(token: str) -> str:
    subject: str = split_token(token)[1]["sub"]
    return subject


async def create_client(
    api: httpx.AsyncClient, token: str, **fields: str
) -> dict[str, Any]:
    response = await api.post(CLIENTS_URL, json=fields, headers=bearer(token))
    assert response.status_code == 201, response.text
    client: dict[str, Any] = response.json()
    return client


async def token_of(api: httpx.AsyncClient, client: dict[str, Any]) -> str:
    return await client_token(api, client["id"], client["client_secret"])


async def list_clients(
    api: httpx.AsyncClient, token: str, **params: int
) -> httpx.Response:
    response = await api.get(
        CLIENTS_URL, params={"limit": 100, **params}, headers=bearer(token)
    )
    assert response.status_code == 200, response.text
    return response


@pytest.fixture
async def member(api: httpx.AsyncClient, admin_token: str) -> dict[str, Any]:
    return await create_user(api, admin_token)


async def test_create_client_for_self(api: httpx.AsyncClient, admin_token: str) -> None:
    response = await api.post(
        CLIENTS_URL, json={"name": "billing export"}, headers=bearer(admin_token)
    )

    assert response.status_code == 201, response.text
    client = response.json()
    assert set(client) == CREATED_FIELDS
    assert client["id"].startswith("cli_")
    assert client["name"] == "billing export"
    assert client["user_id"] == user_id_of(admin_token)
    assert datetime.fromisoformat(client["created_at"]).tzinfo is not None
    assert len(client["client_secret"]) >= MIN_SECRET_LENGTH
    assert client["client_secret"].startswith(client["secret_hint"])
    assert len(client["secret_hint"]) < len(client["client_secret"]) // 2


async def test_new_client_gets_token(api: httpx.AsyncClient, admin_token: str) -> None:
    client = await create_client(api, admin_token)

    claims = split_token(await token_of(api, client))[1]

    assert claims["sub"] == client["user_id"]
    assert claims["cid"] == client["id"]
    assert claims["role"] == "admin"


async def test_secrets_differ_per_client(
    api: httpx.AsyncClient, admin_token: str
) -> None:
    first = await create_client(api, admin_token)
    second = await create_client(api, admin_token)

    assert first["id"] != second["id"]
    assert first["client_secret"] != second["client_secret"]


async def test_admin_creates_client_for_member(
    api: httpx.AsyncClient, admin_token: str, member: dict[str, Any]
) -> None:
    client = await create_client(api, admin_token, user_id=member["id"])
    token = await token_of(api, client)

    assert client["user_id"] == member["id"]
    assert split_token(token)[1]["role"] == "member"
    probe = await api.delete(admin_probe_url(), headers=bearer(token))
    assert_error(probe, 403, "forbidden")


async def test_member_creates_own_client(
    api: httpx.AsyncClient, member: dict[str, Any]
) -> None:
    implicit = await create_client(api, member["token"])
    explicit = await create_client(api, member["token"], user_id=member["id"])

    assert implicit["user_id"] == member["id"]
    assert explicit["user_id"] == member["id"]


async def test_member_cannot_create_for_other(
    api: httpx.AsyncClient, admin_token: str, member: dict[str, Any]
) -> None:
    response = await api.post(
        CLIENTS_URL,
        json={"user_id": user_id_of(admin_token)},
        headers=bearer(member["token"]),
    )

    assert_error(response, 403, "forbidden")


async def test_create_client_unknown_user(
    api: httpx.AsyncClient, admin_token: str
) -> None:
    response = await api.post(
        CLIENTS_URL,
        json={"user_id": "usr_00000000000000000000000000"},
        headers=bearer(admin_token),
    )

    assert response.status_code in (400, 404), response.text
    assert response.json()["error"] in ("bad_request", "not_found")


@pytest.mark.parametrize(
    "document",
    [
        {"client_secret": "chosen-by-the-caller-0123456789abcdef"},
        {"id": "cli_mine"},
        {"role": "admin"},
        {"name": "x" * 201},
        {"name": 5},
        [],
    ],
    ids=["secret", "id", "role", "name-too-long", "name-not-string", "not-object"],
)
async def test_create_client_invalid_body(
    api: httpx.AsyncClient, admin_token: str, document: Any
) -> None:
    response = await api.post(CLIENTS_URL, json=document, headers=bearer(admin_token))

    assert_error(response, 400, "bad_request")


@pytest.mark.parametrize(
    "name",
    ["\x00", "billing\nexport", "tab\there", "del\x7f", "next\x85line"],
    ids=["nul", "newline", "tab", "del", "c1-next-line"],
)
async def test_create_client_name_control_character(
    api: httpx.AsyncClient, admin_token: str, name: str
) -> None:
    response = await api.post(
        CLIENTS_URL, json={"name": name}, headers=bearer(admin_token)
    )

    body = assert_error(response, 400, "bad_request")
    assert body["details"] == [
        {"field": "name", "message": "Must not contain control characters."}
    ]


async def test_create_client_trims_name(
    api: httpx.AsyncClient, admin_token: str
) -> None:
    client = await create_client(api, admin_token, name="  billing export \u3000")

    assert client["name"] == "billing export"


async def test_create_client_requires_token(api: httpx.AsyncClient) -> None:
    response = await api.post(CLIENTS_URL, json={})

    assert_error(response, 401, "unauthorized")


async def test_list_never_shows_secret(
    api: httpx.AsyncClient, admin_token: str
) -> None:
    client = await create_client(api, admin_token)

    response = await list_clients(api, admin_token)

    listed = {item["id"]: item for item in response.json()["data"]}
    assert set(listed[client["id"]]) == LISTED_FIELDS
    assert listed[client["id"]]["secret_hint"] == client["secret_hint"]
    assert client["client_secret"] not in response.text
    assert "secret_hash" not in response.text


async def test_admin_lists_every_client(
    api: httpx.AsyncClient, admin_token: str, member: dict[str, Any]
) -> None:
    own = await create_client(api, admin_token)
    members = await create_client(api, member["token"])

    response = await list_clients(api, admin_token)

    listed = {item["id"] for item in response.json()["data"]}
    assert own["id"] in listed
    assert members["id"] in listed


async def test_member_lists_own_clients(
    api: httpx.AsyncClient, admin_token: str, member: dict[str, Any]
) -> None:
    admins = await create_client(api, admin_token)
    first = await create_client(api, member["token"])
    second = await create_client(api, member["token"])

    body = (await list_clients(api, member["token"])).json()

    assert {item["id"] for item in body["data"]} == {first["id"], second["id"]}
    assert admins["id"] not in {item["id"] for item in body["data"]}
    assert body["total"] == 2


async def test_list_pages_and_link(
    api: httpx.AsyncClient, member: dict[str, Any]
) -> None:
    for _ in range(3):
        await create_client(api, member["token"])

    first = await list_clients(api, member["token"], page=1, limit=2)
    second = await list_clients(api, member["token"], page=2, limit=2)

    assert first.json()["page"] == 1
    assert first.json()["limit"] == 2
    assert first.json()["total"] == 3
    assert len(first.json()["data"]) == 2
    assert len(second.json()["data"]) == 1
    first_ids = {item["id"] for item in first.json()["data"]}
    assert second.json()["data"][0]["id"] not in first_ids
    assert 'rel="next"' in first.headers["link"]
    assert 'rel="last"' in first.headers["link"]
    assert 'rel="prev"' in second.headers["link"]
    assert 'rel="next"' not in second.headers["link"]


@pytest.mark.parametrize("params", [{"limit": 0}, {"limit": 101}, {"page": 0}])
async def test_list_out_of_range(
    api: httpx.AsyncClient, admin_token: str, params: dict[str, int]
) -> None:
    response = await api.get(CLIENTS_URL, params=params, headers=bearer(admin_token))

    assert_error(response, 400, "bad_request")


async def test_member_deletes_own_client(
    api: httpx.AsyncClient, member: dict[str, Any]
) -> None:
    client = await create_client(api, member["token"])
    url = f"{CLIENTS_URL}/{client['id']}"

    deleted = await api.delete(url, headers=bearer(member["token"]))
    again = await api.delete(url, headers=bearer(member["token"]))

    assert deleted.status_code == 204, deleted.text
    assert deleted.content == b""
    assert_error(again, 404, "not_found")
    listed = (await list_clients(api, member["token"])).json()["data"]
    assert client["id"] not in {item["id"] for item in listed}


async def test_member_cannot_delete_other_client(
    api: httpx.AsyncClient, admin_token: str, member: dict[str, Any]
) -> None:
    client = await create_client(api, admin_token)

    response = await api.delete(
        f"{CLIENTS_URL}/{client['id']}", headers=bearer(member["token"])
    )

    assert_error(response, 403, "forbidden")
    assert await token_of(api, client)


async def test_admin_deletes_member_client(
    api: httpx.AsyncClient, admin_token: str, member: dict[str, Any]
) -> None:
    client = await create_client(api, member["token"])

    response = await api.delete(
        f"{CLIENTS_URL}/{client['id']}", headers=bearer(admin_token)
    )

    assert response.status_code == 204, response.text


async def test_delete_unknown_client(api: httpx.AsyncClient, admin_token: str) -> None:
    response = await api.delete(
        f"{CLIENTS_URL}/cli_00000000000000000000000000", headers=bearer(admin_token)
    )

    assert_error(response, 404, "not_found")


async def test_delete_unknown_long_client_id(
    api: httpx.AsyncClient, admin_token: str
) -> None:
    response = await api.delete(
        f"{CLIENTS_URL}/cli_{'x' * 10_000}", headers=bearer(admin_token)
    )

    body = assert_error(response, 404, "not_found")
    assert len(body["message"]) < 120
    assert "…'" in body["message"]


async def test_token_dies_with_client(
    api: httpx.AsyncClient, member: dict[str, Any]
) -> None:
    client = await create_client(api, member["token"])
    token = await token_of(api, client)
    assert (await api.get("/v2/users", headers=bearer(token))).status_code == 200

    deleted = await api.delete(
        f"{CLIENTS_URL}/{client['id']}", headers=bearer(member["token"])
    )

    assert deleted.status_code == 204, deleted.text
    rejected = await api.get("/v2/users", headers=bearer(token))
    assert_error(rejected, 401, "unauthorized")
    assert 'error="invalid_token"' in rejected.headers["www-authenticate"]
    new_token_request = await api.post(
        TOKEN_URL,
        json={"client_id": client["id"], "client_secret": client["client_secret"]},
    )
    assert_error(new_token_request, 401, "invalid_client")


async def test_client_dies_with_user(
    api: httpx.AsyncClient, admin_token: str, member: dict[str, Any]
) -> None:
    client = await create_client(api, member["token"])
    token = await token_of(api, client)

    deleted = await api.delete(f"/v2/users/{member['id']}", headers=bearer(admin_token))

    assert deleted.status_code == 204, deleted.text
    rejected = await api.get("/v2/users", headers=bearer(token))
    assert_error(rejected, 401, "unauthorized")
    new_token_request = await api.post(
        TOKEN_URL,
        json={"client_id": client["id"], "client_secret": client["client_secret"]},
    )
    assert_error(new_token_request, 401, "invalid_client")


async def test_demotion_applies_to_existing_tokens(
    api: httpx.AsyncClient, admin_token: str
) -> None:
    admin = await create_user(api, admin_token, role="admin")
    client = await create_client(api, admin["token"])
    client_token_before = await token_of(api, client)
    for token in (admin["token"], client_token_before):
        probe = await api.delete(admin_probe_url(), headers=bearer(token))
        assert probe.status_code == 404, probe.text

    demoted = await api.put(
        f"/v2/users/{admin['id']}", json={"role": "member"}, headers=bearer(admin_token)
    )

    assert demoted.status_code == 200, demoted.text
    for token in (admin["token"], client_token_before):
        probe = await api.delete(admin_probe_url(), headers=bearer(token))
        assert_error(probe, 403, "forbidden")
    assert split_token(await token_of(api, client))[1]["role"] == "member"


async def test_promotion_applies_to_existing_tokens(
    api: httpx.AsyncClient, admin_token: str, member: dict[str, Any]
) -> None:
    before = await api.delete(admin_probe_url(), headers=bearer(member["token"]))
    assert_error(before, 403, "forbidden")

    promoted = await api.put(
        f"/v2/users/{member['id']}", json={"role": "admin"}, headers=bearer(admin_token)
    )

    assert promoted.status_code == 200, promoted.text
    after = await api.delete(admin_probe_url(), headers=bearer(member["token"]))
    assert_error(after, 404, "not_found")
