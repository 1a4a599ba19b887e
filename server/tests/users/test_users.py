"""Users through the API: create, read, list, update, delete and their errors."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import httpx
import pytest

from techcorp_server.users.schemas import UserPublic

from ..utils.api import (
    DEFAULT_PASSWORD,
    assert_error,
    bearer,
    create_user,
    unique_email,
)

USERS_URL = "/v2/users"
UNKNOWN_USER_URL = f"{USERS_URL}/usr_00000000000000000000000000"
USER_FIELDS = {"id", "email", "role", "created_at", "updated_at"}
MISSING = object()


def user_fields(**changes: object) -> dict[str, object]:
    """Return a valid create body with `changes` applied. MISSING drops a field."""
    fields: dict[str, object] = {
        "email": unique_email(),
        "password": DEFAULT_PASSWORD,
        "role": "member",
    }
    for name, value in changes.items():
        if value is MISSING:
            del fields[name]
        else:
            fields[name] = value
    return fields


async def post_user(
    api: httpx.AsyncClient, token: str, fields: dict[str, object]
) -> httpx.Response:
    return await api.post(USERS_URL, json=fields, headers=bearer(token))


async def list_users(
    api: httpx.AsyncClient, token: str, **params: str | int
) -> httpx.Response:
    return await api.get(USERS_URL, params=params, headers=bearer(token))


def error_fields(body: dict[str, Any]) -> set[str]:
    return {detail["field"] for detail in body["details"]}


async def test_create_user_with_published_payload(
    api: httpx.AsyncClient, admin_token: str
) -> None:
    fields = user_fields(password="SecurePassword123!", role="member")

    response = await post_user(api, admin_token, fields)

    assert response.status_code == 201, response.text
    user = response.json()
    assert set(user) == USER_FIELDS
    UserPublic.model_validate(user)
    assert user["id"].startswith("usr_")
    assert user["email"] == fields["email"]
    assert user["role"] == "member"
    assert user["created_at"].endswith("Z")
    assert datetime.fromisoformat(user["created_at"]).tzinfo == UTC
    assert user["updated_at"] == user["created_at"]
    assert response.headers["Location"] == f"{USERS_URL}/{user['id']}"


async def test_created_user_found_at_location(
    api: httpx.AsyncClient, admin_token: str
) -> None:
    created = await post_user(api, admin_token, user_fields(role="admin"))
    assert created.status_code == 201, created.text

    fetched = await api.get(created.headers["Location"], headers=bearer(admin_token))

    assert fetched.status_code == 200, fetched.text
    assert fetched.json() == created.json()


async def test_create_user_keeps_local_part_case(
    api: httpx.AsyncClient, admin_token: str
) -> None:
    local_part = unique_email("Mixed.Case").split("@")[0]

    response = await post_user(
        api, admin_token, user_fields(email=f"  {local_part}@Example.COM ")
    )

    assert response.status_code == 201, response.text
    assert response.json()["email"] == f"{local_part}@example.com"


async def test_create_user_duplicate_email_any_case(
    api: httpx.AsyncClient, admin_token: str
) -> None:
    email = unique_email("duplicate")
    first = await post_user(api, admin_token, user_fields(email=email))
    assert first.status_code == 201, first.text

    for variant in (email, email.upper(), email.capitalize()):
        response = await post_user(api, admin_token, user_fields(email=variant))
        body = assert_error(response, 409, "conflict")
        assert error_fields(body) == {"email"}


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        pytest.param({"email": MISSING}, "email", id="email-missing"),
        pytest.param({"password": MISSING}, "password", id="password-missing"),
        pytest.param({"role": MISSING}, "role", id="role-missing"),
        pytest.param({"email": "not-an-email"}, "email", id="email-invalid"),
        pytest.param({"email": "user@localhost"}, "email", id="email-no-dot"),
        pytest.param({"email": ""}, "email", id="email-empty"),
        pytest.param({"email": 42}, "email", id="email-number"),
        pytest.param({"email": None}, "email", id="email-null"),
        pytest.param({"password": "7chars!"}, "password", id="password-7"),
        pytest.param({"password": "x" * 1025}, "password", id="password-1025"),
        pytest.param({"password": 12345678}, "password", id="password-number"),
        pytest.param({"role": "owner"}, "role", id="role-unknown"),
        pytest.param({"role": "Admin"}, "role", id="role-case"),
        pytest.param({"role": None}, "role", id="role-null"),
        pytest.param({"is_admin": True}, "is_admin", id="unknown-field"),
        pytest.param({"password_hash": "x"}, "password_hash", id="hash-field"),
        pytest.param({"id": "usr_chosen"}, "id", id="id-field"),
    ],
)
async def test_create_user_invalid_fields(
    api: httpx.AsyncClient, admin_token: str, changes: dict[str, object], field: str
) -> None:
    response = await post_user(api, admin_token, user_fields(**changes))

    body = assert_error(response, 400, "bad_request")
    assert field in error_fields(body)


@pytest.mark.parametrize("length", [8, 1024])
async def test_create_user_password_length_bounds(
    api: httpx.AsyncClient, admin_token: str, length: int
) -> None:
    email = unique_email("bounds")
    password = "p" * length

    response = await post_user(
        api, admin_token, user_fields(email=email, password=password)
    )

    assert response.status_code == 201, response.text
    token_response = await api.post(
        "/v2/auth/token", json={"email": email, "password": password}
    )
    assert token_response.status_code == 200, token_response.text


@pytest.mark.parametrize(
    "password",
    [
        "nul\x00in-password",
        "new\nline-password",
        "tab\there-password",
        "del\x7fpassword",
    ],
    ids=["nul", "newline", "tab", "del"],
)
async def test_create_user_password_control_character(
    api: httpx.AsyncClient, admin_token: str, password: str
) -> None:
    response = await post_user(api, admin_token, user_fields(password=password))

    body = assert_error(response, 400, "bad_request")
    assert body["details"] == [
        {"field": "password", "message": "Must not contain control characters."}
    ]


async def test_create_user_password_with_spaces(
    api: httpx.AsyncClient, admin_token: str
) -> None:
    email = unique_email("spaces")
    password = " correct horse battery staple "

    response = await post_user(
        api, admin_token, user_fields(email=email, password=password)
    )

    assert response.status_code == 201, response.text
    token_response = await api.post(
        "/v2/auth/token", json={"email": email, "password": password}
    )
    assert token_response.status_code == 200, token_response.text


async def test_create_user_requires_json(
    api: httpx.AsyncClient, admin_token: str
) -> None:
    response = await api.post(
        USERS_URL,
        content=b"email=a@example.com",
        headers={**bearer(admin_token), "Content-Type": "text/plain"},
    )

    assert_error(response, 415, "unsupported_media_type")


async def test_get_user(
    api: httpx.AsyncClient, admin_token: str, member: dict[str, Any]
) -> None:
    response = await api.get(f"{USERS_URL}/{member['id']}", headers=bearer(admin_token))

    assert response.status_code == 200, response.text
    user = response.json()
    assert set(user) == USER_FIELDS
    assert user["id"] == member["id"]
    assert user["email"] == member["email"]
    assert user["role"] == "member"


async def test_get_user_unknown_id(api: httpx.AsyncClient, admin_token: str) -> None:
    response = await api.get(UNKNOWN_USER_URL, headers=bearer(admin_token))

    body = assert_error(response, 404, "not_found")
    assert "usr_00000000000000000000000000" in body["message"]


@pytest.mark.parametrize("method", ["GET", "PUT", "PATCH", "DELETE"])
async def test_unknown_long_id_shortened_in_message(
    api: httpx.AsyncClient, admin_token: str, method: str
) -> None:
    user_id = "usr_" + "x" * 10_000
    json_body = {"role": "member"} if method in ("PUT", "PATCH") else None

    response = await api.request(
        method, f"{USERS_URL}/{user_id}", json=json_body, headers=bearer(admin_token)
    )

    body = assert_error(response, 404, "not_found")
    assert len(body["message"]) < 120
    assert "'usr_xxxx" in body["message"]
    assert "…'" in body["message"]


@pytest.mark.parametrize(
    ("method", "url"),
    [
        ("GET", USERS_URL),
        ("POST", USERS_URL),
        ("GET", UNKNOWN_USER_URL),
        ("PUT", UNKNOWN_USER_URL),
        ("PATCH", UNKNOWN_USER_URL),
        ("DELETE", UNKNOWN_USER_URL),
    ],
)
async def test_users_require_token(
    api: httpx.AsyncClient, method: str, url: str
) -> None:
    json_body = user_fields() if method in {"POST", "PUT", "PATCH"} else None

    response = await api.request(method, url, json=json_body)

    assert_error(response, 401, "unauthorized")
    assert response.headers["WWW-Authenticate"].startswith("Bearer")


async def test_responses_never_contain_password(
    api: httpx.AsyncClient, admin_token: str
) -> None:
    password = "Unmistakable-Password-4242"
    created = await post_user(api, admin_token, user_fields(password=password))
    assert created.status_code == 201, created.text
    user_url = created.headers["Location"]

    responses = [
        created,
        await api.get(user_url, headers=bearer(admin_token)),
        await list_users(api, admin_token, limit=100),
        await api.put(user_url, json={"role": "admin"}, headers=bearer(admin_token)),
        await api.patch(user_url, json={"role": "member"}, headers=bearer(admin_token)),
    ]

    for response in responses:
        assert response.status_code in {200, 201}, response.text
        assert password not in response.text
        assert "argon2" not in response.text
        assert "password" not in response.text


async def test_list_users_envelope(api: httpx.AsyncClient, admin_token: str) -> None:
    created = [await create_user_id(api, admin_token) for _ in range(3)]

    response = await list_users(api, admin_token, page=1, limit=2)

    assert response.status_code == 200, response.text
    body = response.json()
    assert set(body) == {"data", "page", "limit", "total"}
    assert body["page"] == 1
    assert body["limit"] == 2
    assert body["total"] >= 4
    assert [user["id"] for user in body["data"]] == [created[2], created[1]]
    for user in body["data"]:
        assert set(user) == USER_FIELDS


async def create_user_id(api: httpx.AsyncClient, admin_token: str) -> str:
    response = await post_user(api, admin_token, user_fields())
    assert response.status_code == 201, response.text
    user_id: str = response.json()["id"]
    return user_id


async def test_list_users_defaults(api: httpx.AsyncClient, admin_token: str) -> None:
    response = await list_users(api, admin_token)

    assert response.status_code == 200, response.text
    body = response.json()
    assert body["page"] == 1
    assert body["limit"] == 20
    assert len(body["data"]) == min(20, body["total"])


async def test_list_users_walks_every_user_once(
    api: httpx.AsyncClient, admin_token: str
) -> None:
    await create_user_id(api, admin_token)
    first = (await list_users(api, admin_token, limit=7)).json()
    pages = -(-first["total"] // 7)

    seen: list[str] = []
    for page in range(1, pages + 1):
        body = (await list_users(api, admin_token, page=page, limit=7)).json()
        assert body["total"] == first["total"]
        seen += [user["id"] for user in body["data"]]

    assert len(seen) == first["total"]
    assert len(set(seen)) == len(seen)
    assert seen == sorted(seen, reverse=True)


async def test_list_users_link_header(api: httpx.AsyncClient, admin_token: str) -> None:
    for _ in range(3):
        await create_user_id(api, admin_token)

    response = await list_users(api, admin_token, page=2, limit=1)

    assert response.status_code == 200, response.text
    total = response.json()["total"]
    links = {rel: httpx.URL(link["url"]) for rel, link in response.links.items()}
    assert set(links) == {"first", "prev", "next", "last"}
    assert links["first"].params["page"] == "1"
    assert links["prev"].params["page"] == "1"
    assert links["next"].params["page"] == "3"
    assert links["last"].params["page"] == str(total)
    for url in links.values():
        assert url.path == USERS_URL
        assert url.params["limit"] == "1"


async def test_list_users_past_the_end(
    api: httpx.AsyncClient, admin_token: str
) -> None:
    total = (await list_users(api, admin_token, limit=5)).json()["total"]
    last_page = -(-total // 5)

    response = await list_users(api, admin_token, page=last_page + 1, limit=5)

    assert response.status_code == 200, response.text
    body = response.json()
    assert body["data"] == []
    assert body["total"] == total
    assert body["page"] == last_page + 1
    assert "next" not in response.links
    prev_url = httpx.URL(response.links["prev"]["url"])
    assert prev_url.params["page"] == str(last_page)


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("page", "0"),
        ("page", "-1"),
        ("page", "abc"),
        ("page", ""),
        ("page", "1.5"),
        ("page", "1000001"),
        ("limit", "0"),
        ("limit", "101"),
        ("limit", "-5"),
        ("limit", "ten"),
    ],
)
async def test_list_users_rejects_bad_page(
    api: httpx.AsyncClient, admin_token: str, name: str, value: str
) -> None:
    response = await list_users(api, admin_token, **{name: value})

    body = assert_error(response, 400, "bad_request")
    assert error_fields(body) == {name}


async def test_list_users_rejects_repeated_page(
    api: httpx.AsyncClient, admin_token: str
) -> None:
    response = await api.get(f"{USERS_URL}?page=1&page=2", headers=bearer(admin_token))

    assert_error(response, 400, "bad_request")


@pytest.mark.parametrize("method", ["PUT", "PATCH"])
async def test_update_user_email(
    api: httpx.AsyncClient, admin_token: str, member: dict[str, Any], method: str
) -> None:
    email = unique_email("renamed")

    response = await api.request(
        method,
        f"{USERS_URL}/{member['id']}",
        json={"email": email},
        headers=bearer(admin_token),
    )

    assert response.status_code == 200, response.text
    user = response.json()
    assert user["email"] == email
    assert user["role"] == "member"
    assert user["created_at"] == member["created_at"]
    assert user["updated_at"] > member["updated_at"]


@pytest.mark.parametrize("method", ["PUT", "PATCH"])
async def test_update_user_role_keeps_email(
    api: httpx.AsyncClient, admin_token: str, member: dict[str, Any], method: str
) -> None:
    response = await api.request(
        method,
        f"{USERS_URL}/{member['id']}",
        json={"role": "admin"},
        headers=bearer(admin_token),
    )

    assert response.status_code == 200, response.text
    assert response.json()["role"] == "admin"
    assert response.json()["email"] == member["email"]


async def test_update_user_without_change_keeps_timestamp(
    api: httpx.AsyncClient, admin_token: str, member: dict[str, Any]
) -> None:
    response = await api.put(
        f"{USERS_URL}/{member['id']}",
        json={"email": member["email"], "role": "member"},
        headers=bearer(admin_token),
    )

    assert response.status_code == 200, response.text
    assert response.json()["updated_at"] == member["updated_at"]


async def test_update_user_duplicate_email_any_case(
    api: httpx.AsyncClient, admin_token: str, member: dict[str, Any]
) -> None:
    other = await create_user(api, admin_token)

    response = await api.put(
        f"{USERS_URL}/{member['id']}",
        json={"email": other["email"].upper()},
        headers=bearer(admin_token),
    )

    body = assert_error(response, 409, "conflict")
    assert error_fields(body) == {"email"}


async def test_update_user_own_email_case(
    api: httpx.AsyncClient, member: dict[str, Any]
) -> None:
    local_part, domain = member["email"].split("@")

    response = await api.patch(
        f"{USERS_URL}/{member['id']}",
        json={"email": f"{local_part.upper()}@{domain}"},
        headers=bearer(member["token"]),
    )

    assert response.status_code == 200, response.text
    assert response.json()["email"] == f"{local_part.upper()}@{domain}"


@pytest.mark.parametrize(
    ("body", "field"),
    [
        pytest.param({}, "body", id="empty"),
        pytest.param({"email": None}, "email", id="email-null"),
        pytest.param({"role": None}, "role", id="role-null"),
        pytest.param({"email": "nobody"}, "email", id="email-invalid"),
        pytest.param({"role": "root"}, "role", id="role-unknown"),
        pytest.param({"password": "NewPassword123"}, "password", id="password"),
        pytest.param({"created_at": "2020-01-01T00:00:00Z"}, "created_at", id="time"),
    ],
)
async def test_update_user_invalid_fields(
    api: httpx.AsyncClient,
    admin_token: str,
    member: dict[str, Any],
    body: dict[str, object],
    field: str,
) -> None:
    response = await api.patch(
        f"{USERS_URL}/{member['id']}", json=body, headers=bearer(admin_token)
    )

    error = assert_error(response, 400, "bad_request")
    assert error_fields(error) == {field}


@pytest.mark.parametrize("method", ["PUT", "PATCH", "DELETE"])
async def test_change_unknown_user(
    api: httpx.AsyncClient, admin_token: str, method: str
) -> None:
    json_body = {"role": "member"} if method != "DELETE" else None

    response = await api.request(
        method, UNKNOWN_USER_URL, json=json_body, headers=bearer(admin_token)
    )

    assert_error(response, 404, "not_found")


async def test_delete_user(
    api: httpx.AsyncClient, admin_token: str, member: dict[str, Any]
) -> None:
    user_url = f"{USERS_URL}/{member['id']}"

    response = await api.delete(user_url, headers=bearer(admin_token))

    assert response.status_code == 204, response.text
    assert response.content == b""
    assert_error(await api.get(user_url, headers=bearer(admin_token)), 404, "not_found")
    assert_error(
        await api.delete(user_url, headers=bearer(admin_token)), 404, "not_found"
    )
    listed = await list_users(api, admin_token, limit=100)
    assert member["id"] not in {user["id"] for user in listed.json()["data"]}
