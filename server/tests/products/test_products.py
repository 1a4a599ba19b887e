"""Products through the API: create, read, replace, update, delete, who may."""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

import httpx
import pytest

from techcorp_server.products.schemas import ProductPublic

from ..utils.api import assert_error, bearer, create_user
from .helpers import (
    PRODUCTS_URL,
    PUBLISHED_PAYLOAD,
    create_product,
    product_url,
    unique_category,
)

UNKNOWN_PRODUCT_URL = f"{PRODUCTS_URL}/prd_00000000000000000000000000"
PRODUCT_FIELDS = {
    "id",
    "name",
    "price",
    "category",
    "description",
    "created_at",
    "updated_at",
}


def exact_json(response: httpx.Response) -> Any:
    """Parse a body keeping decimal numbers exact, as a careful client would."""
    return json.loads(response.content, parse_float=Decimal)


@pytest.fixture
async def member_token(api: httpx.AsyncClient, admin_token: str) -> str:
    member = await create_user(api, admin_token)
    token: str = member["token"]
    return token


async def test_create_product_with_published_payload(
    api: httpx.AsyncClient, admin_token: str
) -> None:
    response = await api.post(
        PRODUCTS_URL, json=PUBLISHED_PAYLOAD, headers=bearer(admin_token)
    )

    assert response.status_code == 201, response.text
    product = response.json()
    assert set(product) == PRODUCT_FIELDS
    ProductPublic.model_validate(product)
    assert product["id"].startswith("prd_")
    assert product["name"] == "Super Widget"
    assert product["price"] == 99.99
    assert b'"price":99.99,' in response.content
    assert product["category"] == "electronics"
    assert product["description"] is None
    assert product["created_at"] == product["updated_at"]
    assert response.headers["Location"] == f"{PRODUCTS_URL}/{product['id']}"


async def test_created_product_found_at_location(
    api: httpx.AsyncClient, admin_token: str, member_token: str
) -> None:
    created = await api.post(
        PRODUCTS_URL,
        json={**PUBLISHED_PAYLOAD, "description": "A widget, but super."},
        headers=bearer(admin_token),
    )
    assert created.status_code == 201, created.text

    fetched = await api.get(created.headers["Location"], headers=bearer(member_token))

    assert fetched.status_code == 200, fetched.text
    assert fetched.json() == created.json()
    assert fetched.json()["description"] == "A widget, but super."


@pytest.mark.parametrize(
    ("sent", "stored"),
    [
        ("99.99", "99.99"),
        ("0.1", "0.1"),
        ("0.01", "0.01"),
        ("12345678.90", "12345678.9"),
        ("99999999.99", "99999999.99"),
        ("0", "0"),
        ("5", "5"),
        ("1.10", "1.1"),
        ("0.30", "0.3"),
        ("1e2", "100"),
    ],
)
async def test_price_exact_after_round_trip(
    api: httpx.AsyncClient, admin_token: str, sent: str, stored: str
) -> None:
    category = unique_category()
    body = f'{{"name": "Exact", "price": {sent}, "category": "{category}"}}'

    created = await api.post(
        PRODUCTS_URL,
        content=body.encode(),
        headers={**bearer(admin_token), "Content-Type": "application/json"},
    )
    assert created.status_code == 201, created.text
    fetched = await api.get(created.headers["Location"], headers=bearer(admin_token))
    listed = await api.get(
        PRODUCTS_URL, params={"category": category}, headers=bearer(admin_token)
    )

    for response in (created, fetched):
        assert exact_json(response)["price"] == Decimal(sent)
        assert f'"price":{stored},'.encode() in response.content
    assert exact_json(listed)["data"][0]["price"] == Decimal(sent)


@pytest.mark.parametrize(
    "price",
    [
        "-1",
        "-0.01",
        "1.001",
        "0.001",
        "99.999",
        "100000000",
        "1e400",
        "NaN",
        "Infinity",
        "-Infinity",
        '"9.99"',
        "true",
        "false",
        "null",
        "[9.99]",
        '{"amount": 9.99}',
    ],
)
async def test_create_product_invalid_price(
    api: httpx.AsyncClient, admin_token: str, price: str
) -> None:
    body = f'{{"name": "Bad price", "price": {price}, "category": "books"}}'

    response = await api.post(
        PRODUCTS_URL,
        content=body.encode(),
        headers={**bearer(admin_token), "Content-Type": "application/json"},
    )

    body_error = assert_error(response, 400, "bad_request")
    if "details" in body_error:
        assert {detail["field"] for detail in body_error["details"]} == {"price"}


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        pytest.param({"name": ""}, "name", id="name-empty"),
        pytest.param({"name": "   "}, "name", id="name-blank"),
        pytest.param({"name": "x" * 201}, "name", id="name-201"),
        pytest.param({"name": "two\nlines"}, "name", id="name-newline"),
        pytest.param({"name": 7}, "name", id="name-number"),
        pytest.param({"name": None}, "name", id="name-null"),
        pytest.param({"category": ""}, "category", id="category-empty"),
        pytest.param({"category": "c" * 65}, "category", id="category-65"),
        pytest.param({"category": ["books"]}, "category", id="category-list"),
        pytest.param({"description": 5}, "description", id="description-number"),
        pytest.param(
            {"description": "d" * 10_001}, "description", id="description-long"
        ),
        pytest.param({"stock": 3}, "stock", id="unknown-field"),
        pytest.param({"id": "prd_chosen"}, "id", id="id-field"),
    ],
)
async def test_create_product_invalid_fields(
    api: httpx.AsyncClient, admin_token: str, changes: dict[str, object], field: str
) -> None:
    response = await api.post(
        PRODUCTS_URL,
        json={**PUBLISHED_PAYLOAD, **changes},
        headers=bearer(admin_token),
    )

    body = assert_error(response, 400, "bad_request")
    assert {detail["field"] for detail in body["details"]} == {field}


@pytest.mark.parametrize("field", ["name", "price", "category"])
async def test_create_product_missing_field(
    api: httpx.AsyncClient, admin_token: str, field: str
) -> None:
    body = {name: value for name, value in PUBLISHED_PAYLOAD.items() if name != field}

    response = await api.post(PRODUCTS_URL, json=body, headers=bearer(admin_token))

    error = assert_error(response, 400, "bad_request")
    assert {detail["field"] for detail in error["details"]} == {field}


async def test_create_product_normalizes_text(
    api: httpx.AsyncClient, admin_token: str
) -> None:
    product = await create_product(
        api, admin_token, name="  Trimmed Lamp  ", category="  Home-Office "
    )

    assert product["name"] == "Trimmed Lamp"
    assert product["category"] == "home-office"


async def test_create_product_length_bounds(
    api: httpx.AsyncClient, admin_token: str
) -> None:
    product = await create_product(
        api, admin_token, name="n" * 200, category="C" * 64, description="d" * 10_000
    )

    assert product["name"] == "n" * 200
    assert product["category"] == "c" * 64
    assert len(product["description"]) == 10_000


async def test_get_product_unknown_id(api: httpx.AsyncClient, admin_token: str) -> None:
    response = await api.get(UNKNOWN_PRODUCT_URL, headers=bearer(admin_token))

    assert_error(response, 404, "not_found")


@pytest.mark.parametrize("method", ["GET", "PUT", "PATCH", "DELETE"])
async def test_unknown_long_id_shortened_in_message(
    api: httpx.AsyncClient, admin_token: str, method: str
) -> None:
    product_id = "prd_" + "x" * 10_000
    json_body = PUBLISHED_PAYLOAD if method in ("PUT", "PATCH") else None

    response = await api.request(
        method,
        f"{PRODUCTS_URL}/{product_id}",
        json=json_body,
        headers=bearer(admin_token),
    )

    body = assert_error(response, 404, "not_found")
    assert len(body["message"]) < 120
    assert "'prd_xxxx" in body["message"]
    assert "…'" in body["message"]


@pytest.mark.parametrize("method", ["PUT", "PATCH", "DELETE"])
async def test_change_unknown_product(
    api: httpx.AsyncClient, admin_token: str, method: str
) -> None:
    json_body = PUBLISHED_PAYLOAD if method != "DELETE" else None

    response = await api.request(
        method, UNKNOWN_PRODUCT_URL, json=json_body, headers=bearer(admin_token)
    )

    assert_error(response, 404, "not_found")


@pytest.mark.parametrize(
    ("method", "url"),
    [
        ("GET", PRODUCTS_URL),
        ("POST", PRODUCTS_URL),
        ("GET", UNKNOWN_PRODUCT_URL),
        ("PUT", UNKNOWN_PRODUCT_URL),
        ("PATCH", UNKNOWN_PRODUCT_URL),
        ("DELETE", UNKNOWN_PRODUCT_URL),
    ],
)
async def test_products_require_token(
    api: httpx.AsyncClient, method: str, url: str
) -> None:
    json_body = PUBLISHED_PAYLOAD if method in {"POST", "PUT", "PATCH"} else None

    response = await api.request(method, url, json=json_body)

    assert_error(response, 401, "unauthorized")
    assert response.headers["WWW-Authenticate"].startswith("Bearer")


async def test_member_reads_products(
    api: httpx.AsyncClient, admin_token: str, member_token: str
) -> None:
    product = await create_product(api, admin_token)

    listed = await api.get(PRODUCTS_URL, headers=bearer(member_token))
    fetched = await api.get(product_url(product), headers=bearer(member_token))

    assert listed.status_code == 200, listed.text
    assert fetched.status_code == 200, fetched.text
    assert fetched.json() == product


async def test_member_cannot_write_products(
    api: httpx.AsyncClient, admin_token: str, member_token: str
) -> None:
    product = await create_product(api, admin_token)
    headers = bearer(member_token)

    attempts = [
        await api.post(PRODUCTS_URL, json=PUBLISHED_PAYLOAD, headers=headers),
        await api.put(product_url(product), json=PUBLISHED_PAYLOAD, headers=headers),
        await api.patch(product_url(product), json={"price": 1}, headers=headers),
        await api.delete(product_url(product), headers=headers),
    ]

    for response in attempts:
        assert_error(response, 403, "forbidden")
    unchanged = await api.get(product_url(product), headers=bearer(admin_token))
    assert unchanged.json() == product


async def test_replace_product(api: httpx.AsyncClient, admin_token: str) -> None:
    product = await create_product(api, admin_token, description="Old text.")
    replacement = {"name": "Mega Widget", "price": 149.5, "category": "Gadgets"}

    response = await api.put(
        product_url(product), json=replacement, headers=bearer(admin_token)
    )

    assert response.status_code == 200, response.text
    replaced = response.json()
    assert replaced["id"] == product["id"]
    assert replaced["name"] == "Mega Widget"
    assert replaced["price"] == 149.5
    assert replaced["category"] == "gadgets"
    assert replaced["description"] is None
    assert replaced["created_at"] == product["created_at"]
    assert replaced["updated_at"] > product["updated_at"]
    fetched = await api.get(product_url(product), headers=bearer(admin_token))
    assert fetched.json() == replaced


@pytest.mark.parametrize("field", ["name", "price", "category"])
async def test_replace_product_requires_every_field(
    api: httpx.AsyncClient, admin_token: str, field: str
) -> None:
    product = await create_product(api, admin_token)
    body = {name: value for name, value in PUBLISHED_PAYLOAD.items() if name != field}

    response = await api.put(
        product_url(product), json=body, headers=bearer(admin_token)
    )

    error = assert_error(response, 400, "bad_request")
    assert {detail["field"] for detail in error["details"]} == {field}


async def test_update_product_price_only(
    api: httpx.AsyncClient, admin_token: str
) -> None:
    product = await create_product(api, admin_token, description="Kept.")

    response = await api.patch(
        product_url(product), json={"price": 0.1}, headers=bearer(admin_token)
    )

    assert response.status_code == 200, response.text
    updated = response.json()
    assert updated["price"] == 0.1
    assert b'"price":0.1,' in response.content
    assert updated["name"] == product["name"]
    assert updated["category"] == product["category"]
    assert updated["description"] == "Kept."
    assert updated["updated_at"] > product["updated_at"]


async def test_update_product_clears_description(
    api: httpx.AsyncClient, admin_token: str
) -> None:
    product = await create_product(api, admin_token, description="Soon gone.")

    response = await api.patch(
        product_url(product), json={"description": None}, headers=bearer(admin_token)
    )

    assert response.status_code == 200, response.text
    assert response.json()["description"] is None
    assert response.json()["price"] == product["price"]


@pytest.mark.parametrize(
    ("body", "field"),
    [
        pytest.param({}, "body", id="empty"),
        pytest.param({"name": None}, "name", id="name-null"),
        pytest.param({"price": None}, "price", id="price-null"),
        pytest.param({"category": None}, "category", id="category-null"),
        pytest.param({"price": -5}, "price", id="price-negative"),
        pytest.param({"price": 1.234}, "price", id="price-decimals"),
        pytest.param({"name": ""}, "name", id="name-empty"),
        pytest.param({"created_at": "2020-01-01T00:00:00Z"}, "created_at", id="time"),
    ],
)
async def test_update_product_invalid_fields(
    api: httpx.AsyncClient,
    admin_token: str,
    body: dict[str, object],
    field: str,
) -> None:
    product = await create_product(api, admin_token)

    response = await api.patch(
        product_url(product), json=body, headers=bearer(admin_token)
    )

    error = assert_error(response, 400, "bad_request")
    assert {detail["field"] for detail in error["details"]} == {field}


async def test_delete_product(api: httpx.AsyncClient, admin_token: str) -> None:
    product = await create_product(api, admin_token)

    response = await api.delete(product_url(product), headers=bearer(admin_token))

    assert response.status_code == 204, response.text
    assert response.content == b""
    assert_error(
        await api.get(product_url(product), headers=bearer(admin_token)),
        404,
        "not_found",
    )
    assert_error(
        await api.delete(product_url(product), headers=bearer(admin_token)),
        404,
        "not_found",
    )
