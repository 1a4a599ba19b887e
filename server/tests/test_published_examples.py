"""The examples of the TechCorp API v2 documentation, run as written.

The document's base URL is `https://api.techcorp.com/v2` and its paths are
relative to it (`POST /auth/token`), so the client here has the real server
process's `/v2` as its base URL and every request uses the path exactly as the
document prints it. The server is this module's own, so the document's fixed
example email is free.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator, Iterator
from decimal import Decimal
from typing import Any

import httpx
import pytest

from .conftest import server_env
from .utils.api import (
    ADMIN_CLIENT_ID,
    ADMIN_CLIENT_SECRET,
    assert_error,
    bearer,
    unique_email,
)
from .utils.server import ServerProcess

EXAMPLE_USER = {
    "email": "user@example.com",
    "password": "SecurePassword123!",
    "role": "member",
}
EXAMPLE_PRODUCT = {"name": "Super Widget", "price": 99.99, "category": "electronics"}
RATE_LIMIT = 100
RATE_LIMIT_WINDOW_SECONDS = 60


def exact_json(response: httpx.Response) -> Any:
    """Parse a body keeping decimal numbers exact, as a careful client would."""
    return json.loads(response.text, parse_float=Decimal)


@pytest.fixture(scope="module")
def published_server(
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[ServerProcess]:
    server = ServerProcess(tmp_path_factory.mktemp("published"), server_env())
    server.start()
    yield server
    server.stop()


@pytest.fixture(scope="module")
async def docs_api(published_server: ServerProcess) -> AsyncIterator[httpx.AsyncClient]:
    """A client whose base URL plays the role of `https://api.techcorp.com/v2`."""
    async with httpx.AsyncClient(
        base_url=published_server.base_url + "/v2", timeout=30
    ) as client:
        yield client


@pytest.fixture(scope="module")
async def token(docs_api: httpx.AsyncClient) -> str:
    response = await docs_api.post(
        "/auth/token",
        json={"client_id": ADMIN_CLIENT_ID, "client_secret": ADMIN_CLIENT_SECRET},
    )
    assert response.status_code == 200, response.text
    access_token: str = response.json()["access_token"]
    return access_token


async def new_user(
    docs_api: httpx.AsyncClient, token: str, role: str = "member"
) -> dict[str, Any]:
    payload = {
        "email": unique_email(role),
        "password": "SecurePassword123!",
        "role": role,
    }
    response = await docs_api.post("/users", json=payload, headers=bearer(token))
    assert response.status_code == 201, response.text
    user: dict[str, Any] = response.json()
    login = await docs_api.post(
        "/auth/token", json={"email": payload["email"], "password": payload["password"]}
    )
    assert login.status_code == 200, login.text
    user["token"] = login.json()["access_token"]
    return user


async def new_product(
    docs_api: httpx.AsyncClient, token: str, name: str, price: str, category: str
) -> dict[str, Any]:
    # The price travels as the exact JSON number text, like "99.99".
    body = f'{{"name": "{name}", "price": {price}, "category": "{category}"}}'
    response = await docs_api.post(
        "/products",
        content=body,
        headers={**bearer(token), "Content-Type": "application/json"},
    )
    assert response.status_code == 201, response.text
    product: dict[str, Any] = exact_json(response)
    return product


# Authentication


async def test_token_request_example(docs_api: httpx.AsyncClient) -> None:
    response = await docs_api.post(
        "/auth/token",
        json={"client_id": ADMIN_CLIENT_ID, "client_secret": ADMIN_CLIENT_SECRET},
    )

    assert response.status_code == 200, response.text
    body = response.json()
    assert body["access_token"].startswith("eyJhbGciOiJIUz")
    assert body["expires_in"] == 3600


async def test_token_placeholder_credentials(docs_api: httpx.AsyncClient) -> None:
    response = await docs_api.post(
        "/auth/token", json={"client_id": "your_id", "client_secret": "your_secret"}
    )

    assert response.status_code == 401, response.text
    assert response.json()["error"]
    assert response.json()["message"]


async def test_bearer_header_example(docs_api: httpx.AsyncClient, token: str) -> None:
    response = await docs_api.get(
        "/users", headers={"Authorization": f"Bearer {token}"}
    )

    assert response.status_code == 200, response.text


# User management


async def test_list_users_page_and_limit(
    docs_api: httpx.AsyncClient, token: str
) -> None:
    for _ in range(2):
        await new_user(docs_api, token)

    first = await docs_api.get("/users?page=1&limit=2", headers=bearer(token))
    second = await docs_api.get("/users?page=2&limit=2", headers=bearer(token))

    assert first.status_code == 200, first.text
    assert second.status_code == 200, second.text
    assert first.json()["page"] == 1
    assert first.json()["limit"] == 2
    assert first.json()["total"] >= 3
    assert len(first.json()["data"]) == 2
    assert second.json()["page"] == 2
    first_ids = {user["id"] for user in first.json()["data"]}
    second_ids = {user["id"] for user in second.json()["data"]}
    assert second_ids
    assert not first_ids & second_ids


async def test_create_user_example_payload(
    docs_api: httpx.AsyncClient, token: str
) -> None:
    response = await docs_api.post("/users", json=EXAMPLE_USER, headers=bearer(token))

    assert response.status_code == 201, response.text
    user = response.json()
    assert user["email"] == "user@example.com"
    assert user["role"] == "member"
    assert user["id"].startswith("usr_")
    assert "password" not in user
    assert "SecurePassword123!" not in response.text
    assert response.headers["location"].endswith(f"/users/{user['id']}")
    login = await docs_api.post(
        "/auth/token",
        json={"email": "user@example.com", "password": "SecurePassword123!"},
    )
    assert login.status_code == 200, login.text


@pytest.mark.parametrize(
    "payload",
    [
        {**EXAMPLE_USER, "role": "owner"},
        {key: value for key, value in EXAMPLE_USER.items() if key != "email"},
        {key: value for key, value in EXAMPLE_USER.items() if key != "password"},
        {key: value for key, value in EXAMPLE_USER.items() if key != "role"},
    ],
    ids=["unknown-role", "no-email", "no-password", "no-role"],
)
async def test_create_user_required_fields(
    docs_api: httpx.AsyncClient, token: str, payload: dict[str, str]
) -> None:
    response = await docs_api.post("/users", json=payload, headers=bearer(token))

    assert_error(response, 400, "bad_request")


async def test_update_user_email_and_role(
    docs_api: httpx.AsyncClient, token: str
) -> None:
    user = await new_user(docs_api, token)
    new_email = unique_email("renamed")

    email_changed = await docs_api.put(
        f"/users/{user['id']}", json={"email": new_email}, headers=bearer(token)
    )
    role_changed = await docs_api.put(
        f"/users/{user['id']}", json={"role": "admin"}, headers=bearer(token)
    )

    assert email_changed.status_code == 200, email_changed.text
    assert email_changed.json()["email"] == new_email
    assert email_changed.json()["role"] == "member"
    assert role_changed.status_code == 200, role_changed.text
    assert role_changed.json()["email"] == new_email
    assert role_changed.json()["role"] == "admin"
    fetched = await docs_api.get(f"/users/{user['id']}", headers=bearer(token))
    assert fetched.json()["email"] == new_email
    assert fetched.json()["role"] == "admin"


async def test_delete_user_as_admin(docs_api: httpx.AsyncClient, token: str) -> None:
    user = await new_user(docs_api, token)

    response = await docs_api.delete(f"/users/{user['id']}", headers=bearer(token))

    assert response.status_code == 204, response.text
    gone = await docs_api.get(f"/users/{user['id']}", headers=bearer(token))
    assert_error(gone, 404, "not_found")


async def test_delete_user_as_member(docs_api: httpx.AsyncClient, token: str) -> None:
    member = await new_user(docs_api, token)
    other = await new_user(docs_api, token)

    response = await docs_api.delete(
        f"/users/{other['id']}", headers=bearer(member["token"])
    )

    assert_error(response, 403, "forbidden")
    still_there = await docs_api.get(f"/users/{other['id']}", headers=bearer(token))
    assert still_there.status_code == 200, still_there.text


# Product catalog


@pytest.fixture(scope="module")
async def catalog(docs_api: httpx.AsyncClient, token: str) -> dict[str, dict[str, Any]]:
    """Seed products on both sides of each filter the document lists."""
    seeds = {
        "cheap-gadget": ("Cheap Gadget", "10.00", "electronics"),
        "mid-gadget": ("Mid Gadget", "99.99", "electronics"),
        "dear-gadget": ("Dear Gadget", "150.50", "electronics"),
        "paperback": ("Paperback", "5.50", "books"),
        "hardback": ("Hardback", "20", "books"),
    }
    return {
        key: await new_product(docs_api, token, name, price, category)
        for key, (name, price, category) in seeds.items()
    }


async def list_products(
    docs_api: httpx.AsyncClient, token: str, query: str
) -> list[dict[str, Any]]:
    response = await docs_api.get(f"/products?{query}", headers=bearer(token))
    assert response.status_code == 200, response.text
    products: list[dict[str, Any]] = exact_json(response)["data"]
    return products


@pytest.mark.parametrize(
    ("query", "included", "excluded"),
    [
        (
            "category=electronics",
            {"cheap-gadget", "mid-gadget", "dear-gadget"},
            {"paperback", "hardback"},
        ),
        ("category=books", {"paperback", "hardback"}, {"cheap-gadget"}),
        (
            "min_price=20",
            {"hardback", "mid-gadget", "dear-gadget"},
            {"paperback", "cheap-gadget"},
        ),
        (
            "max_price=20",
            {"paperback", "cheap-gadget", "hardback"},
            {"mid-gadget", "dear-gadget"},
        ),
        (
            "category=electronics&min_price=50&max_price=100",
            {"mid-gadget"},
            {"cheap-gadget", "dear-gadget", "paperback", "hardback"},
        ),
    ],
)
async def test_product_filters(
    docs_api: httpx.AsyncClient,
    token: str,
    catalog: dict[str, dict[str, Any]],
    query: str,
    included: set[str],
    excluded: set[str],
) -> None:
    products = await list_products(docs_api, token, query)

    returned = {product["id"] for product in products}
    assert {catalog[key]["id"] for key in included} <= returned
    assert not {catalog[key]["id"] for key in excluded} & returned
    for product in products:
        assert product_matches(product, query), (query, product)


def product_matches(product: dict[str, Any], query: str) -> bool:
    for condition in query.split("&"):
        name, value = condition.split("=")
        if name == "category" and product["category"] != value:
            return False
        if name == "min_price" and product["price"] < Decimal(value):
            return False
        if name == "max_price" and product["price"] > Decimal(value):
            return False
    return True


async def test_get_product(
    docs_api: httpx.AsyncClient, token: str, catalog: dict[str, dict[str, Any]]
) -> None:
    seeded = catalog["mid-gadget"]

    response = await docs_api.get(f"/products/{seeded['id']}", headers=bearer(token))

    assert response.status_code == 200, response.text
    product = exact_json(response)
    assert product["id"] == seeded["id"]
    assert product["name"] == "Mid Gadget"
    assert product["price"] == Decimal("99.99")
    assert product["category"] == "electronics"


async def test_create_product_example(docs_api: httpx.AsyncClient, token: str) -> None:
    response = await docs_api.post(
        "/products", json=EXAMPLE_PRODUCT, headers=bearer(token)
    )

    assert response.status_code == 201, response.text
    assert '"price":99.99' in response.text.replace(" ", "")
    created = exact_json(response)
    assert created["name"] == "Super Widget"
    assert created["price"] == Decimal("99.99")
    assert created["category"] == "electronics"
    fetched = await docs_api.get(f"/products/{created['id']}", headers=bearer(token))
    assert exact_json(fetched)["price"] == Decimal("99.99")
    listed = await list_products(docs_api, token, "category=electronics")
    assert {"id": created["id"], "price": Decimal("99.99")} in [
        {"id": product["id"], "price": product["price"]} for product in listed
    ]


# Error handling


async def test_error_400(docs_api: httpx.AsyncClient, token: str) -> None:
    response = await docs_api.get("/users?page=1&limit=0", headers=bearer(token))

    assert_error(response, 400, "bad_request")


async def test_error_401(docs_api: httpx.AsyncClient) -> None:
    missing = await docs_api.get("/users")
    invalid = await docs_api.get("/users", headers=bearer("not-a-token"))

    assert_error(missing, 401, "unauthorized")
    assert_error(invalid, 401, "unauthorized")


async def test_error_403(docs_api: httpx.AsyncClient, token: str) -> None:
    member = await new_user(docs_api, token)

    response = await docs_api.post(
        "/products", json=EXAMPLE_PRODUCT, headers=bearer(member["token"])
    )

    assert_error(response, 403, "forbidden")


async def test_error_404(docs_api: httpx.AsyncClient, token: str) -> None:
    for path in ("/users/usr_00000000000000000000000000", "/products/prd_missing"):
        response = await docs_api.get(path, headers=bearer(token))

        assert_error(response, 404, "not_found")


# Rate limiting


@pytest.fixture(scope="module")
def limited_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    env = {**server_env(), "TECHCORP_RATE_LIMIT_PER_MINUTE": str(RATE_LIMIT)}
    server = ServerProcess(tmp_path_factory.mktemp("limited"), env)
    server.start()
    yield server
    server.stop()


def assert_rate_limit_headers(response: httpx.Response, remaining: int) -> None:
    assert response.headers["X-RateLimit-Limit"] == str(RATE_LIMIT)
    assert response.headers["X-RateLimit-Remaining"] == str(remaining)
    reset = int(response.headers["X-RateLimit-Reset"])
    now = time.time()
    assert now - 1 <= reset <= now + RATE_LIMIT_WINDOW_SECONDS + 1


async def test_rate_limit_429_on_request_101(limited_server: ServerProcess) -> None:
    # A window aligned to the clock minute could reset in the middle of the
    # run, so the run starts early in a minute.
    seconds_into_minute = time.time() % RATE_LIMIT_WINDOW_SECONDS
    if seconds_into_minute > RATE_LIMIT_WINDOW_SECONDS - 15:
        await asyncio.sleep(RATE_LIMIT_WINDOW_SECONDS - seconds_into_minute + 0.5)

    async with httpx.AsyncClient(
        base_url=limited_server.base_url + "/v2", timeout=30
    ) as client:
        first = await client.post(
            "/auth/token",
            json={"client_id": ADMIN_CLIENT_ID, "client_secret": ADMIN_CLIENT_SECRET},
        )
        assert first.status_code == 200, first.text
        assert_rate_limit_headers(first, remaining=RATE_LIMIT - 1)
        headers = bearer(first.json()["access_token"])

        for number in range(2, RATE_LIMIT + 1):
            response = await client.get("/users", headers=headers)
            assert response.status_code == 200, (number, response.text)
            assert_rate_limit_headers(response, remaining=RATE_LIMIT - number)

        limited = await client.get("/users", headers=headers)

    assert_error(limited, 429, "rate_limited")
    assert_rate_limit_headers(limited, remaining=0)
    assert int(limited.headers["Retry-After"]) > 0
