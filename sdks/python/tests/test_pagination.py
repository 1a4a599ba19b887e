"""Pages and lazy iteration across pages, against a real server."""

from __future__ import annotations

import uuid

import pytest

from techcorp import AsyncTechCorp, TechCorp

from .server import LocalServer, admin_client

PRODUCTS = 25


@pytest.fixture(scope="module")
def category(server: LocalServer) -> str:
    """A category holding exactly `PRODUCTS` products."""
    name = f"paged-{uuid.uuid4().hex[:8]}"
    with admin_client(server) as client:
        for number in range(PRODUCTS):
            client.products.create(name=f"Item {number}", price=number, category=name)
    return name


def test_first_page_has_the_items_and_the_totals(
    client: TechCorp, category: str
) -> None:
    page = client.products.list(category=category, limit=10)

    assert (page.page, page.limit, page.total) == (1, 10, PRODUCTS)
    assert len(page.data) == 10
    assert page.total_pages == 3
    assert page.has_next_page


def test_iteration_walks_every_page_once(client: TechCorp, category: str) -> None:
    page = client.products.list(category=category, limit=10)

    ids = [product.id for product in page]
    pages = [(p.page, len(p.data)) for p in page.iter_pages()]

    assert len(ids) == len(set(ids)) == PRODUCTS
    assert pages == [(1, 10), (2, 10), (3, 5)]


def test_iteration_stops_at_the_cap(client: TechCorp, category: str) -> None:
    page = client.products.list(category=category, limit=10)

    capped = list(page.iter_items(max_items=12))

    assert [product.id for product in capped] == [p.id for p in page][:12]


def test_next_page_after_the_last_is_none(client: TechCorp, category: str) -> None:
    last = client.products.list(category=category, limit=10, page=3)

    assert not last.has_next_page
    assert last.next_page() is None


async def test_async_for_walks_every_page(
    async_client: AsyncTechCorp, category: str
) -> None:
    ids = [p.id async for p in async_client.products.list(category=category, limit=7)]
    first = await async_client.products.list(category=category, limit=7)
    capped = [p.id async for p in first.iter_items(max_items=9)]

    assert len(ids) == len(set(ids)) == PRODUCTS
    assert first.total == PRODUCTS
    assert capped == ids[:9]
