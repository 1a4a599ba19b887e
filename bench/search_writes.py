"""What the search index adds to a product write, at a catalog's size.

`measure_index_writes` builds the server's `SearchService` from the catalog
database in this process and times the change listener alone, which is
exactly the work a write gains from the index. `measure_product_posts`
times whole `POST /v2/products` requests against a running server for
comparison.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass

import httpx
from techcorp_server.core.changes import Change
from techcorp_server.core.db import Database, isoformat, utc_now
from techcorp_server.core.ids import new_id
from techcorp_server.search.service import SearchService
from techcorp_server.settings import Settings

from catalog import Catalog, server_env


@dataclass
class WriteCost:
    build_seconds: float
    created_ms: list[float]
    updated_ms: list[float]
    deleted_ms: list[float]
    post_ms: float = float("nan")


async def measure_index_writes(catalog: Catalog, writes: int) -> WriteCost:
    """Time `SearchService.apply` for `writes` creations, updates and deletions."""
    url = server_env(catalog.folder)["TECHCORP_DATABASE_URL"]
    database = Database(Settings(database_url=url).database_url)
    search = SearchService(database)
    started = time.perf_counter()
    await search.start()
    build_seconds = time.perf_counter() - started
    await database.dispose()

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
    return WriteCost(build_seconds, created, updated, deleted)


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
