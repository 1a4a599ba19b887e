"""A generator of realistic, reproducible product catalogs.

Benchmarks and `techcorp-server demo-data` build catalogs of up to a million
products from `generate_products`, so it makes no Faker call per product.
Faker fills the brand and author pools once, and a seeded `random.Random`
combines words from them.
"""

from __future__ import annotations

import math
import random
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import TypedDict

from faker import Faker

from ..core.ids import new_id
from .categories import CATEGORIES, Category

HISTORY_DAYS = 180
"""How far back the oldest generated product was created."""

UPDATED_SHARE = 0.2
"""Fraction of products whose `updated_at` is later than `created_at`."""

BRAND_COUNT = 300
AUTHOR_COUNT = 400

# Retail prices end mostly in .99, sometimes in .49, .95 or .00; the tuple
# repeats endings to weight them for a plain `choice`.
_PRICE_ENDINGS_CENTS = (99, 99, 99, 99, 99, 99, 49, 49, 95, 0)

_CLOSING_SENTENCES = (
    "Ships in recyclable packaging.",
    "Free returns within 30 days.",
    "Rated 4.5 stars by verified buyers.",
    "Designed and tested in our own lab.",
    "A customer favourite this season.",
    "Backed by friendly customer support.",
    "",
)


class ProductRow(TypedDict):
    """A row of the `products` table, ready for an `INSERT`."""

    id: str
    name: str
    price_cents: int
    category: str
    description: str
    created_at: datetime
    updated_at: datetime


def _brand_pool(faker: Faker) -> list[str]:
    brands = {faker.last_name() for _ in range(BRAND_COUNT)}
    brands.update(faker.word().capitalize() + "ly" for _ in range(BRAND_COUNT // 4))
    return sorted(brands)


def _author_pool(faker: Faker) -> list[str]:
    return sorted({faker.name() for _ in range(AUTHOR_COUNT)})


def _price_cents(rng: random.Random, category: Category) -> int:
    low, high = category.min_price_cents, category.max_price_cents
    cents = math.exp(rng.uniform(math.log(low), math.log(high)))
    price = int(cents // 100) * 100 + rng.choice(_PRICE_ENDINGS_CENTS)
    return min(max(price, low), high)


class _ProductWriter:
    """Combines words into names and descriptions with one seeded RNG."""

    def __init__(self, seed: int) -> None:
        faker = Faker("en_US")
        faker.seed_instance(seed)
        self.brands = _brand_pool(faker)
        self.authors = _author_pool(faker)
        # Not for security: a seeded generator makes the catalog reproducible.
        self.rng = random.Random(seed)  # noqa: S311

    def words(self, category: Category) -> dict[str, str]:
        choice = self.rng.choice
        feature, other_feature = self.rng.sample(category.features, 2)
        return {
            "brand": choice(self.brands),
            "adjective": choice(category.adjectives),
            "noun": choice(category.nouns),
            "feature": feature,
            "other_feature": other_feature,
            "author": choice(self.authors),
        }

    def describe(self, category: Category, words: dict[str, str]) -> str:
        sentence = category.description_template.format(**words)
        closing = self.rng.choice(_CLOSING_SENTENCES)
        return f"{sentence} {closing}" if closing else sentence


def generate_products(
    count: int, seed: int = 0, *, now: datetime | None = None
) -> Iterator[ProductRow]:
    """Yield `count` products spread over all categories, oldest first.

    Every field except `id` depends only on `count`, `seed` and `now`. Ids come
    from `new_id("prd")`, so they are unique and increase in the same order as
    `created_at`, which runs evenly from `HISTORY_DAYS` before `now` to `now`.
    """
    if count < 0:
        raise ValueError(f"count must not be negative, got {count}")
    writer = _ProductWriter(seed)
    rng = writer.rng
    end = now or datetime.now(UTC)
    start = end - timedelta(days=HISTORY_DAYS)
    step = (end - start) / max(count, 1)

    for index in range(count):
        category = rng.choice(CATEGORIES)
        words = writer.words(category)
        created_at = start + step * index
        updated_at = created_at
        if rng.random() < UPDATED_SHARE:
            updated_at += (end - created_at) * rng.random()

        yield {
            "id": new_id("prd"),
            "name": category.name_template.format(**words),
            "price_cents": _price_cents(rng, category),
            "category": category.name,
            "description": writer.describe(category, words),
            "created_at": created_at,
            "updated_at": updated_at,
        }
