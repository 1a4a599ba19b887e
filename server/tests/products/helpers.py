"""Helpers shared by the products tests."""

from __future__ import annotations

import uuid
from typing import Any

import httpx

from ..utils.api import bearer

PRODUCTS_URL = "/v2/products"
PUBLISHED_PAYLOAD = {"name": "Super Widget", "price": 99.99, "category": "electronics"}


def unique_category() -> str:
    """Return a category no other test uses, so list totals are exact."""
    return f"test-{uuid.uuid4().hex[:12]}"


def product_url(product: dict[str, Any]) -> str:
    return f"{PRODUCTS_URL}/{product['id']}"


async def create_product(
    api: httpx.AsyncClient, token: str, **fields: object
) -> dict[str, Any]:
    """Create the published example product with `fields` replacing its own."""
    body = {**PUBLISHED_PAYLOAD, **fields}
    response = await api.post(PRODUCTS_URL, json=body, headers=bearer(token))
    assert response.status_code == 201, response.text
    product: dict[str, Any] = response.json()
    return product
