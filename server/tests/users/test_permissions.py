"""Who may change which user, and the guard that keeps one admin."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
import pytest

from ..utils.api import (
    DEFAULT_PASSWORD,
    assert_error,
    bearer,
    client_token,
    create_user,
    password_token,
    unique_email,
)
from ..utils.tokens import split_token

USERS_URL = "/v2/users"


def user_url(user: dict[str, Any]) -> str:
    return f"{USERS_URL}/{user['id']}"


async def fetch_user(
    api: httpx.AsyncClient, token: str, user_id: str
) -> dict[str, Any]:
    response = await api.get(f"{USERS_URL}/{user_id}", headers=bearer(token))
    assert response.status_code == 200, response.text
    user: dict[str, Any] = response.json()
    return user


async def admin_ids(api: httpx.AsyncClient, token: str) -> set[str]:
    response = await api.get(USERS_URL, params={"limit": 100}, headers=bearer(token))
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["total"] <= 100
    return {user["id"] for user in body["data"] if user["role"] == "admin"}


async def test_member_lists_and_gets_users(
    api: httpx.AsyncClient, admin_token: str, member: dict[str, Any]
) -> None:
    other = await create_user(api, admin_token, role="admin")

    listed = await api.get(USERS_URL, headers=bearer(member["token"]))
    fetched = await api.get(user_url(other), headers=bearer(member["token"]))

    assert listed.status_code == 200, listed.text
    assert fetched.status_code == 200, fetched.text
    assert fetched.json()["email"] == other["email"]


async def test_member_cannot_create_user(
    api: httpx.AsyncClient, admin_token: str, member: dict[str, Any]
) -> None:
    fields = {"email": unique_email(), "password": DEFAULT_PASSWORD, "role": "admin"}

    response = await api.post(USERS_URL, json=fields, headers=bearer(member["token"]))

    assert_error(response, 403, "forbidden")
    retry = await api.post(USERS_URL, json=fields, headers=bearer(admin_token))
    assert retry.status_code == 201, retry.text


@pytest.mark.parametrize("method", ["PUT", "PATCH"])
async def test_member_changes_own_email(
    api: httpx.AsyncClient, member: dict[str, Any], method: str
) -> None:
    email = unique_email("self-renamed")

    response = await api.request(
        method, user_url(member), json={"email": email}, headers=bearer(member["token"])
    )

    assert response.status_code == 200, response.text
    assert response.json()["email"] == email
    assert await password_token(api, email, DEFAULT_PASSWORD)


@pytest.mark.parametrize("method", ["PUT", "PATCH"])
async def test_member_cannot_change_own_role(
    api: httpx.AsyncClient, admin_token: str, member: dict[str, Any], method: str
) -> None:
    response = await api.request(
        method,
        user_url(member),
        json={"role": "admin"},
        headers=bearer(member["token"]),
    )

    body = assert_error(response, 403, "forbidden")
    assert "role" in body["message"]
    assert (await fetch_user(api, admin_token, member["id"]))["role"] == "member"


@pytest.mark.parametrize("method", ["PUT", "PATCH"])
async def test_member_sends_back_own_user(
    api: httpx.AsyncClient, member: dict[str, Any], method: str
) -> None:
    fetched = await fetch_user(api, member["token"], member["id"])
    body = {"email": fetched["email"], "role": fetched["role"]}

    response = await api.request(
        method, user_url(member), json=body, headers=bearer(member["token"])
    )

    assert response.status_code == 200, response.text
    assert response.json() == fetched


async def test_member_role_rejected_for_other_member(
    api: httpx.AsyncClient, admin_token: str, member: dict[str, Any]
) -> None:
    other = await create_user(api, admin_token)

    response = await api.put(
        user_url(other),
        json={"email": other["email"], "role": "member"},
        headers=bearer(member["token"]),
    )

    assert_error(response, 403, "forbidden")


@pytest.mark.parametrize(
    "body",
    [{"email": "taken-over@example.com"}, {"role": "member"}],
    ids=["email", "role"],
)
async def test_member_cannot_change_other_user(
    api: httpx.AsyncClient,
    admin_token: str,
    member: dict[str, Any],
    body: dict[str, str],
) -> None:
    other = await create_user(api, admin_token, role="admin")

    response = await api.patch(
        user_url(other), json=body, headers=bearer(member["token"])
    )

    assert_error(response, 403, "forbidden")
    unchanged = await fetch_user(api, admin_token, other["id"])
    assert unchanged["email"] == other["email"]
    assert unchanged["role"] == "admin"


async def test_member_cannot_delete_users(
    api: httpx.AsyncClient, admin_token: str, member: dict[str, Any]
) -> None:
    other = await create_user(api, admin_token)

    for target in (other, member):
        response = await api.delete(user_url(target), headers=bearer(member["token"]))
        assert_error(response, 403, "forbidden")
        assert await fetch_user(api, admin_token, target["id"])


async def test_admin_changes_other_email(
    api: httpx.AsyncClient, admin_token: str
) -> None:
    other = await create_user(api, admin_token, role="admin")
    email = unique_email("admin-renamed")

    response = await api.put(
        user_url(other), json={"email": email}, headers=bearer(admin_token)
    )

    assert response.status_code == 200, response.text
    assert response.json()["email"] == email


async def test_role_change_applies_to_next_request(
    api: httpx.AsyncClient, admin_token: str, member: dict[str, Any]
) -> None:
    new_user = {"password": DEFAULT_PASSWORD, "role": "member"}
    member_headers = bearer(member["token"])

    promoted = await api.put(
        user_url(member), json={"role": "admin"}, headers=bearer(admin_token)
    )
    assert promoted.status_code == 200, promoted.text
    created = await api.post(
        USERS_URL, json={**new_user, "email": unique_email()}, headers=member_headers
    )
    assert created.status_code == 201, created.text

    demoted = await api.put(
        user_url(member), json={"role": "member"}, headers=bearer(admin_token)
    )
    assert demoted.status_code == 200, demoted.text
    rejected = await api.post(
        USERS_URL, json={**new_user, "email": unique_email()}, headers=member_headers
    )
    assert_error(rejected, 403, "forbidden")


async def test_deleted_user_token_rejected(
    api: httpx.AsyncClient, admin_token: str, member: dict[str, Any]
) -> None:
    deleted = await api.delete(user_url(member), headers=bearer(admin_token))
    assert deleted.status_code == 204, deleted.text

    response = await api.get(USERS_URL, headers=bearer(member["token"]))

    assert_error(response, 401, "unauthorized")


async def test_admin_deletes_other_admin(
    api: httpx.AsyncClient, admin_token: str
) -> None:
    other = await create_user(api, admin_token, role="admin")

    response = await api.delete(user_url(other), headers=bearer(admin_token))

    assert response.status_code == 204, response.text
    assert_error(
        await api.get(USERS_URL, headers=bearer(other["token"])), 401, "unauthorized"
    )


async def test_last_admin_cannot_be_demoted(fresh_api: httpx.AsyncClient) -> None:
    token = await client_token(fresh_api)
    admin_id = split_token(token)[1]["sub"]
    assert await admin_ids(fresh_api, token) == {admin_id}

    for method in ("PUT", "PATCH"):
        response = await fresh_api.request(
            method,
            f"{USERS_URL}/{admin_id}",
            json={"role": "member"},
            headers=bearer(token),
        )
        body = assert_error(response, 409, "conflict")
        assert "last admin" in body["message"]

    assert await admin_ids(fresh_api, token) == {admin_id}


async def test_last_admin_cannot_be_deleted(fresh_api: httpx.AsyncClient) -> None:
    token = await client_token(fresh_api)
    admin_id = split_token(token)[1]["sub"]

    response = await fresh_api.delete(f"{USERS_URL}/{admin_id}", headers=bearer(token))

    body = assert_error(response, 409, "conflict")
    assert "last admin" in body["message"]
    assert await admin_ids(fresh_api, token) == {admin_id}


async def test_second_admin_allows_demotion(fresh_api: httpx.AsyncClient) -> None:
    token = await client_token(fresh_api)
    first_id = split_token(token)[1]["sub"]
    second = await create_user(fresh_api, token, role="admin")

    demoted = await fresh_api.put(
        f"{USERS_URL}/{first_id}", json={"role": "member"}, headers=bearer(token)
    )
    assert demoted.status_code == 200, demoted.text

    response = await fresh_api.delete(user_url(second), headers=bearer(second["token"]))
    assert_error(response, 409, "conflict")
    assert await admin_ids(fresh_api, second["token"]) == {second["id"]}


async def test_concurrent_demotions_keep_one_admin(
    fresh_api: httpx.AsyncClient,
) -> None:
    token = await client_token(fresh_api)
    first_id = split_token(token)[1]["sub"]
    second = await create_user(fresh_api, token, role="admin")

    # Each admin demotes the other at the same time. Whichever commits first
    # wins, and the other must fail: with 409 when it was authenticated
    # before that commit, and with 403 when after it.
    responses = await asyncio.gather(
        fresh_api.put(user_url(second), json={"role": "member"}, headers=bearer(token)),
        fresh_api.put(
            f"{USERS_URL}/{first_id}",
            json={"role": "member"},
            headers=bearer(second["token"]),
        ),
    )

    statuses = sorted(response.status_code for response in responses)
    assert statuses[0] == 200, [response.text for response in responses]
    assert statuses[1] in {403, 409}, [response.text for response in responses]
    assert len(await admin_ids(fresh_api, token)) == 1
