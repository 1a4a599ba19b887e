"""A fixed product list page shaped like the first page of `GET /v2/products`.

The products are made up but have the API's fields and realistic lengths, so
encoding or sending this page costs about what the real page costs.
"""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta
from typing import Any

PAGE_SIZE = 20
DEFAULT_TOTAL = 100_000

_CATEGORIES = ("electronics", "books", "home", "toys", "sports", "garden")
_ADJECTIVES = ("Compact", "Wireless", "Ergonomic", "Durable", "Smart", "Classic")
_NOUNS = ("Widget", "Headphones", "Lamp", "Backpack", "Kettle", "Notebook")
_CROCKFORD = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"


def _product(rng: random.Random, created_at: datetime) -> dict[str, Any]:
    name = f"{rng.choice(_ADJECTIVES)} {rng.choice(_NOUNS)} {rng.randint(1, 999)}"
    timestamp = created_at.isoformat().replace("+00:00", "Z")
    return {
        "id": "prd_" + "".join(rng.choices(_CROCKFORD, k=26)),
        "name": name,
        # Cents divided by 100, as the API renders prices.
        "price": rng.randint(100, 99_999) / 100,
        "category": rng.choice(_CATEGORIES),
        "description": f"The {name.lower()}, built to last and easy to use. " * 2,
        "created_at": timestamp,
        "updated_at": timestamp,
    }


def sample_products(count: int = PAGE_SIZE, seed: int = 2) -> list[dict[str, Any]]:
    """Generate `count` products, the same ones for the same seed."""
    rng = random.Random(seed)  # noqa: S311 - made-up products, not secrets
    newest = datetime(2026, 1, 15, 12, 0, tzinfo=UTC)
    return [_product(rng, newest - timedelta(minutes=index)) for index in range(count)]


def sample_page(total: int = DEFAULT_TOTAL) -> dict[str, Any]:
    """Build the list envelope for page 1 of `total` products."""
    return {"data": sample_products(), "page": 1, "limit": PAGE_SIZE, "total": total}
