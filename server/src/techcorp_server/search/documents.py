"""Products and users as search documents, and the fields hits highlight."""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal
from typing import Any

from ..core.money import to_cents
from .index import Document

PRODUCT_FIELDS = ("name", "category", "description")
"""Searchable product fields, best-ranked first."""

USER_FIELDS = ("email",)
"""The user field hits highlight."""

USER_INDEX_FIELDS = ("local part", "domain")
"""The parts of an email indexed as fields, best-ranked first, so `king`
ranks a `king@…` user above a user at `king.example`."""


def product_document(product: Mapping[Any, Any]) -> Document:
    """Return the document of a product as the API renders it."""
    price = product["price"]
    cents = to_cents(price if isinstance(price, Decimal) else Decimal(str(price)))
    return Document(
        id=product["id"],
        texts=(product["name"], product["category"], product["description"] or ""),
        category=product["category"],
        price_cents=cents,
    )


def product_row_document(row: Mapping[Any, Any]) -> Document:
    """Return the document of a `products` table row."""
    return Document(
        id=row["id"],
        texts=(row["name"], row["category"], row["description"] or ""),
        category=row["category"],
        price_cents=row["price_cents"],
    )


def user_document(user: Mapping[Any, Any]) -> Document:
    """Return the document of a user (as rendered, or a `users` table row)."""
    local_part, _, domain = user["email"].rpartition("@")
    return Document(id=user["id"], texts=(local_part, domain))
