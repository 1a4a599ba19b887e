"""The product catalog on a real SQLite file: rendering and the list cache."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from decimal import Decimal
from pathlib import Path

import orjson
import pytest

from techcorp_server.core.db import Database
from techcorp_server.core.errors import NotFoundError
from techcorp_server.core.migrate import upgrade_to_head
from techcorp_server.core.pagination import PageRequest
from techcorp_server.products.cache import KnownTotal, ListQuery, RenderedPage
from techcorp_server.products.schemas import ProductCreate, ProductUpdate
from techcorp_server.products.service import ProductCatalog

FIRST_PAGE = ListQuery(
    category="books", min_cents=None, max_cents=None, page=PageRequest(1, 20)
)


@pytest.fixture
async def database(tmp_path: Path) -> AsyncIterator[Database]:
    database = Database(f"sqlite+aiosqlite:///{tmp_path / 'catalog.db'}")
    await upgrade_to_head(database)
    yield database
    await database.dispose()


def book(price: str) -> ProductCreate:
    return ProductCreate.model_validate(
        {"name": "A Book", "price": Decimal(price), "category": "Books"}
    )


async def test_list_page_served_from_cache(database: Database) -> None:
    catalog = ProductCatalog(database, cache_entries=8)
    await catalog.create(book("12.50"))

    first = await catalog.list_page(FIRST_PAGE)
    second = await catalog.list_page(FIRST_PAGE)

    assert second is first
    assert len(catalog.cache) == 1
    body = orjson.loads(first.body)
    assert body["total"] == 1
    assert body["data"][0]["price"] == 12.5


@pytest.mark.parametrize("write", ["create", "update", "replace", "delete"])
async def test_every_write_clears_cache(database: Database, write: str) -> None:
    catalog = ProductCatalog(database, cache_entries=8)
    product = await catalog.create(book("1.00"))
    before = await catalog.list_page(FIRST_PAGE)

    if write == "create":
        await catalog.create(book("2.00"))
    elif write == "update":
        await catalog.update(
            product["id"], ProductUpdate.model_validate({"price": Decimal("3")})
        )
    elif write == "replace":
        await catalog.replace(product["id"], book("4.00"))
    else:
        await catalog.delete(product["id"])

    assert len(catalog.cache) == 0
    after = await catalog.list_page(FIRST_PAGE)
    assert after.body != before.body


async def test_cache_off_reads_every_time(database: Database) -> None:
    catalog = ProductCatalog(database, cache_entries=0)
    await catalog.create(book("1.00"))

    first = await catalog.list_page(FIRST_PAGE)
    second = await catalog.list_page(FIRST_PAGE)

    assert second is not first
    assert second.body == first.body
    assert len(catalog.cache) == 0


async def test_failed_write_keeps_cache(database: Database) -> None:
    catalog = ProductCatalog(database, cache_entries=8)
    await catalog.create(book("1.00"))
    cached = await catalog.list_page(FIRST_PAGE)

    with pytest.raises(NotFoundError, match="No product has the id"):
        await catalog.delete("prd_missing")

    assert await catalog.list_page(FIRST_PAGE) is cached


async def test_concurrent_misses_share_one_read(database: Database) -> None:
    catalog = ProductCatalog(database, cache_entries=8)
    await catalog.create(book("3.00"))
    reads = 0
    render_page = catalog._render_page

    async def counted(query: ListQuery, known: KnownTotal | None) -> RenderedPage:
        nonlocal reads
        reads += 1
        return await render_page(query, known)

    catalog._render_page = counted  # type: ignore[method-assign]
    pages = await asyncio.gather(*(catalog.list_page(FIRST_PAGE) for _ in range(20)))

    assert reads == 1
    assert all(page is pages[0] for page in pages)

    await catalog.create(book("4.00"))
    after_write = await catalog.list_page(FIRST_PAGE)

    assert reads == 2
    assert orjson.loads(after_write.body)["total"] == 2


async def test_known_total_skips_count(database: Database) -> None:
    catalog = ProductCatalog(database, cache_entries=8)
    for price in ("1.00", "2.00", "3.00"):
        await catalog.create(book(price))
    totals: list[int | None] = []
    render_page = catalog._render_page

    async def recorded(query: ListQuery, known: KnownTotal | None) -> RenderedPage:
        totals.append(known[0] if known is not None else None)
        return await render_page(query, known)

    catalog._render_page = recorded  # type: ignore[method-assign]
    first = FIRST_PAGE
    second = ListQuery(first.category, None, None, PageRequest(2, 1))
    await catalog.list_page(first)
    page_two = await catalog.list_page(second)

    assert totals == [None, 3]
    assert orjson.loads(page_two.body)["total"] == 3

    await catalog.create(book("4.00"))
    after_write = await catalog.list_page(second)

    assert totals == [None, 3, None]
    assert orjson.loads(after_write.body)["total"] == 4


async def test_expired_page_served_while_read(database: Database) -> None:
    catalog = ProductCatalog(database, cache_entries=8, cache_max_age_seconds=0.3)
    await catalog.create(book("5.00"))
    first = await catalog.list_page(FIRST_PAGE)
    await asyncio.sleep(0.4)
    release = asyncio.Event()
    render_page = catalog._render_page

    async def slow(query: ListQuery, known: KnownTotal | None) -> RenderedPage:
        await release.wait()
        return await render_page(query, known)

    catalog._render_page = slow  # type: ignore[method-assign]
    served = await asyncio.wait_for(catalog.list_page(FIRST_PAGE), timeout=1)

    assert served is first
    release.set()
    await asyncio.sleep(0.05)
    refreshed = catalog.cache.get(FIRST_PAGE)
    assert refreshed is not None
    assert refreshed is not first
