"""Pages and lazy iteration across pages, against a real server."""

from __future__ import annotations

import uuid

import httpx
import pytest

from techcorp import AsyncTechCorp, TechCorp

from .mock_api import PRODUCT, MockAPI, json_reply
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


def _hits(count: int) -> list[dict[str, object]]:
    hit = {"type": "product", "score": 1.0, "item": PRODUCT, "highlights": []}
    return [hit] * count


def _search_page(page: int, limit: int, total: int) -> httpx.Response:
    body = {"data": _hits(limit), "page": page, "limit": limit, "total": total}
    return json_reply(200, body)


def test_search_iteration_stops_at_the_reachable_hits() -> None:
    # The API refuses a search page that starts after the first 1,000 hits,
    # while `total` counts every hit.
    api = MockAPI([_search_page(n, 100, 1433) for n in range(1, 12)])
    client = api.client()
    first = client.search.query("e", limit=100)

    hits = list(first)

    assert (first.total, first.total_pages) == (1433, 15)
    assert len(hits) == 1000
    assert len(api.requests) == 10
    assert api.requests[-1].url.params["page"] == "10"


async def test_async_search_iteration_stops_at_the_reachable_hits() -> None:
    api = MockAPI([_search_page(n, 100, 1433) for n in range(1, 12)])
    client = api.async_client()

    hits = [hit async for hit in client.search.query("e", limit=100)]

    assert len(hits) == 1000
    assert len(api.requests) == 10


def test_empty_page_ends_the_iteration() -> None:
    # A page that is empty although `total` counts more (items deleted
    # meanwhile, or a proxy that ignores `page`) must not loop forever.
    empty = {"data": [], "page": 1, "limit": 20, "total": 10_000}
    api = MockAPI([json_reply(200, empty)] * 3)
    page = api.client().products.list()

    assert list(page) == []
    assert not page.has_next_page
    assert len(api.requests) == 1
