"""The demo catalog generator: reproducible, varied and plausible."""

from __future__ import annotations

import itertools
from collections import Counter
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from techcorp_server.core.money import cents_to_json
from techcorp_server.demo.catalog import HISTORY_DAYS, ProductRow, generate_products
from techcorp_server.demo.categories import CATEGORIES

NOW = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)
BOUNDS = {
    category.name: (category.min_price_cents, category.max_price_cents)
    for category in CATEGORIES
}
NOUNS = {category.name: category.nouns for category in CATEGORIES}


@pytest.fixture(scope="module")
def catalog() -> list[ProductRow]:
    return list(generate_products(5000, seed=11, now=NOW))


def without_ids(products: list[ProductRow]) -> list[dict[str, object]]:
    return [{k: v for k, v in product.items() if k != "id"} for product in products]


def test_same_seed_same_catalog(catalog: list[ProductRow]) -> None:
    again = list(generate_products(5000, seed=11, now=NOW))

    assert without_ids(again) == without_ids(catalog)


def test_other_seed_other_catalog(catalog: list[ProductRow]) -> None:
    other = list(generate_products(5000, seed=12, now=NOW))

    names = {product["name"] for product in catalog}
    other_names = [product["name"] for product in other]
    assert sum(name in names for name in other_names) < len(other_names) / 2


def test_prefix_of_longer_catalog_matches() -> None:
    short = list(generate_products(10, seed=4, now=NOW))
    longer = list(itertools.islice(generate_products(1000, seed=4, now=NOW), 10))

    assert [p["name"] for p in short] == [p["name"] for p in longer]
    assert [p["price_cents"] for p in short] == [p["price_cents"] for p in longer]


def test_catalog_spans_many_categories(catalog: list[ProductRow]) -> None:
    counts = Counter(product["category"] for product in catalog)

    assert len(counts) >= 15
    assert set(counts) <= set(BOUNDS)
    assert all(name == name.lower() and name.isascii() for name in counts)
    assert {"electronics", "books"} <= set(counts)
    assert min(counts.values()) > len(catalog) / len(counts) / 2


def test_prices_within_category_bounds(catalog: list[ProductRow]) -> None:
    for product in catalog:
        low, high = BOUNDS[product["category"]]
        assert low <= product["price_cents"] <= high, product


def test_prices_have_two_decimals(catalog: list[ProductRow]) -> None:
    for product in catalog[:500]:
        cents = product["price_cents"]
        price = Decimal(str(cents_to_json(cents)))
        assert price * 100 == cents
        assert price == price.quantize(Decimal("0.01"))

    endings = Counter(product["price_cents"] % 100 for product in catalog)
    assert endings[99] > len(catalog) / 2
    assert len(endings) >= 3


def test_names_read_like_products(catalog: list[ProductRow]) -> None:
    for product in catalog:
        name = product["name"]
        category = product["category"]
        assert any(noun in name for noun in NOUNS[category]), product
        assert 2 <= len(name.split()) <= 10
        assert len(name) <= 200

        description = product["description"]
        assert description.endswith(".")
        assert len(description) <= 300

    assert len({product["name"] for product in catalog}) > len(catalog) * 0.9


def test_ids_unique_and_increasing(catalog: list[ProductRow]) -> None:
    ids = [product["id"] for product in catalog]

    assert all(product_id.startswith("prd_") for product_id in ids)
    assert len(set(ids)) == len(ids)
    assert ids == sorted(ids)


def test_timestamps_spread_over_history(catalog: list[ProductRow]) -> None:
    created = [product["created_at"] for product in catalog]

    assert created == sorted(created)
    assert created[0] == NOW - timedelta(days=HISTORY_DAYS)
    assert created[-1] < NOW
    assert created[-1] > NOW - timedelta(days=1)
    for product in catalog:
        assert product["created_at"] <= product["updated_at"] <= NOW
        assert product["updated_at"].tzinfo is not None


def test_negative_count_rejected() -> None:
    with pytest.raises(ValueError, match="must not be negative"):
        list(generate_products(-1))


def test_zero_count_yields_nothing() -> None:
    assert list(generate_products(0)) == []
