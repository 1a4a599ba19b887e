"""Helpers that talk to the API the way a client does."""

from __future__ import annotations

import itertools
from typing import Any

import httpx

ADMIN_CLIENT_ID = "test-admin-client"
ADMIN_CLIENT_SECRET = "test-admin-secret-7f3a9c1e5b2d4086"
DEFAULT_PASSWORD = "SecurePassword123!"

_email_numbers = itertools.count(1)


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def unique_email(prefix: str = "user") -> str:
    return f"{prefix}{next(_email_numbers)}-{id(_email_numbers)}@example.com"


async def client_token(
    api: httpx.AsyncClient,
    client_id: str = ADMIN_CLIENT_ID,
    client_secret: str = ADMIN_CLIENT_SECRET,
) -> str:
    response = await api.post(
        "/v2/auth/token",
        json={"client_id": client_id, "client_secret": client_secret},
    )
    assert response.status_code == 200, response.text
    token: str = response.json()["access_token"]
    return token


async def password_token(api: httpx.AsyncClient, email: str, password: str) -> str:
    response = await api.post(
        "/v2/auth/token", json={"email": email, "password": password}
    )
    assert response.status_code == 200, response.text
    token: str = response.json()["access_token"]
    return token


async def create_user(
    api: httpx.AsyncClient,
    admin_token: str,
    role: str = "member",
    email: str | None = None,
    password: str = DEFAULT_PASSWORD,
) -> dict[str, Any]:
    """Create a user as admin and return it with a `token` of its own added."""
    email = email or unique_email(role)
    response = await api.post(
        "/v2/users",
        json={"email": email, "password": password, "role": role},
        headers=bearer(admin_token),
    )
    assert response.status_code == 201, response.text
    user: dict[str, Any] = response.json()
    user["token"] = await password_token(api, email, password)
    return user


def assert_error(response: httpx.Response, status: int, code: str) -> dict[str, Any]:
    """Check the JSON error shape every error response shares."""
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/json")
    body: dict[str, Any] = response.json()
    assert body["error"] == code, body
    assert isinstance(body["message"], str)
    assert body["message"]
    assert "X-Request-Id" in response.headers
    return body


async def set_price(
    api: httpx.AsyncClient, token: str, product_id: str, price: float
) -> None:
    """Change a product's price through `PATCH`, which announces a market update."""
    response = await api.patch(
        f"/v2/products/{product_id}", json={"price": price}, headers=bearer(token)
    )
    assert response.status_code == 200, response.text
