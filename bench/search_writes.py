"""The search index alone, in this process: searches and writes.

`measure_index_writes` builds the server's `SearchService` from the catalog
database in this process. It times the index's own search for each query
(no HTTP, no database read of the hits), then the change listener alone,
which is exactly the work a write gains from the index.
`measure_product_posts` times whole `POST /v2/products` requests against a
running server for comparison.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import httpx
from techcorp_server.core.changes import Change
from techcorp_server.core.db import Database, isoformat, utc_now
from techcorp_server.core.ids import new_id
from techcorp_server.search.index import SearchQuery
from techcorp_server.search.service import SearchService
from techcorp_server.search.text import query_words
from techcorp_server.settings import Settings

from catalog import Catalog, server_env


@dataclass
class WriteCost:
    build_seconds: float
    created_ms: list[float]
    updated_ms: list[float]
    deleted_ms: list[float]
    search_ms: list[float] = field(default_factory=list)
    post_ms: float = float("nan")


async def measure_index_writes(
    catalog: Catalog, writes: int, queries: Sequence[str] = (), rounds: int = 1
) -> WriteCost:
    """Time index searches of `queries`, then `writes` creations, updates and
    deletions through `SearchService.apply`."""
    url = server_env(catalog.folder)["TECHCORP_DATABASE_URL"]
    database = Database(Settings(database_url=url).database_url)
    search = SearchService(database)
    started = time.perf_counter()
    await search.start()
    build_seconds = time.perf_counter() - started
    await database.dispose()
    search_ms = _time_searches(search, queries, rounds)

    now = isoformat(utc_now())
    products = [
        {
            "id": new_id("prd"),
            "name": f"Benchmark Walnut Desk Lamp {number}",
            "price": 49.99,
            "category": "home",
            "description": "A desk lamp with a walnut base and a linen shade.",
            "created_at": now,
            "updated_at": now,
        }
        for number in range(writes)
    ]
    renamed = [{**product, "name": "Benchmark Oak Floor Lamp"} for product in products]
    created = [_time(search.apply, Change("product.created", p)) for p in products]
    updated = [
        _time(search.apply, Change("product.updated", new, old))
        for old, new in zip(products, renamed, strict=True)
    ]
    deleted = [_time(search.apply, Change("product.deleted", p)) for p in renamed]
    return WriteCost(build_seconds, created, updated, deleted, search_ms)


def _time_searches(
    search: SearchService, queries: Sequence[str], rounds: int
) -> list[float]:
    index = search.indexes["product"]
    prepared = [SearchQuery(tuple(query_words(text))) for text in queries]
    for query in prepared:
        index.search(query, 0, 20)
    times = []
    for _ in range(rounds):
        for query in prepared:
            started = time.perf_counter()
            index.search(query, 0, 20)
            times.append((time.perf_counter() - started) * 1000)
    return times


def _time(apply: Callable[[Change], None], change: Change) -> float:
    started = time.perf_counter()
    apply(change)
    return (time.perf_counter() - started) * 1000


def measure_product_posts(
    client: httpx.Client, headers: dict[str, str], count: int
) -> float:
    """Return the median ms of `count` product creations; delete them after."""
    body = {"name": "Benchmark Brass Lamp", "price": 19.99, "category": "home"}
    times = []
    created = []
    for _ in range(count):
        started = time.perf_counter()
        response = client.post("/v2/products", json=body, headers=headers)
        times.append((time.perf_counter() - started) * 1000)
        response.raise_for_status()
        created.append(response.json()["id"])
    for product_id in created:
        client.delete(f"/v2/products/{product_id}", headers=headers).raise_for_status()
    return statistics.median(times)
