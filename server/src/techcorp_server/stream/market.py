"""Market updates: price changes of products, and a simulator of them.

`MarketUpdates` follows committed product changes and announces a
`market_update` for each price that moved. `MarketSimulator` moves a few
demo prices on a timer, through the catalog, so every other follower of
product changes (the list cache, future webhooks) receives the same
changes a client's `PATCH` would make.
"""

from __future__ import annotations

import asyncio
import logging
import random
from collections.abc import Sequence
from decimal import Decimal
from typing import Any

from sqlalchemy import func, select

from ..core.changes import Change, ChangeListener
from ..core.errors import NotFoundError
from ..core.money import MAX_PRICE
from ..products.schemas import ProductUpdate
from ..products.service import ProductCatalog, products
from .events import MARKET_UPDATE
from .hub import StreamHub

logger = logging.getLogger(__name__)

SIMULATED_PRODUCTS = 200
"""Products the simulator picks from, sampled once at random when it starts."""

MAX_CENTS = int(MAX_PRICE * 100)

MAX_MOVE = 0.03
"""The largest share of its price a product moves by in one tick."""


def market_update(change: Change) -> dict[str, Any] | None:
    """Return the `market_update` data of a price change, or None."""
    if change.type != "product.updated" or change.previous is None:
        return None
    product, previous = change.data, change.previous
    if product["price"] == previous["price"]:
        return None
    return {
        "product_id": product["id"],
        "name": product["name"],
        "category": product["category"],
        "price": product["price"],
        "previous_price": previous["price"],
    }


class MarketUpdates(ChangeListener):
    """Announces each price change once, on the stream of every process.

    On a bus shared by all processes, the process that saved the change
    publishes it, right after the commit, and the bus carries it to the
    others; they skip the copy that reaches them through the change feed.
    On a bus of its own, each process announces every change it learns of.
    """

    def __init__(self, hub: StreamHub) -> None:
        self.hub = hub

    def committed(self, changes: Sequence[Change]) -> None:
        for change in changes:
            if change.remote and self.hub.bus.shared:
                continue
            update = market_update(change)
            if update is not None:
                self.hub.announce(MARKET_UPDATE, update)


def next_price(cents: int, rng: random.Random) -> Decimal:
    """Move a price by up to `MAX_MOVE` either way, keeping it a valid price.

    The new price always differs from the old one, by a cent at least.
    """
    moved = round(cents * (1 + rng.uniform(-MAX_MOVE, MAX_MOVE)))
    moved = min(max(moved, 1), MAX_CENTS)
    if moved == cents:
        # A move too small to show, or one stopped at a bound, is one cent.
        step_down = cents == MAX_CENTS or (cents > 1 and rng.random() < 0.5)
        moved = cents - 1 if step_down else cents + 1
    return Decimal(moved).scaleb(-2)


class MarketSimulator:
    def __init__(
        self,
        catalog: ProductCatalog,
        *,
        interval_seconds: float,
        products_per_tick: int,
        rng: random.Random | None = None,
    ) -> None:
        self.catalog = catalog
        self.interval_seconds = interval_seconds
        self.products_per_tick = products_per_tick
        self._rng = rng or random.Random()  # noqa: S311 - prices, not secrets
        self._pool: list[str] = []
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        self._task = asyncio.create_task(self._run())
        logger.info(
            "market simulator started",
            extra={
                "interval_seconds": self.interval_seconds,
                "products_per_tick": self.products_per_tick,
            },
        )

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)

    async def _run(self) -> None:
        while True:
            await asyncio.sleep(self.interval_seconds)
            try:
                await self.tick()
            except Exception:
                logger.exception("market simulator tick failed")

    async def tick(self) -> int:
        """Move the prices of a few products; return how many moved."""
        if not self._pool:
            self._pool = await self._sample_products()
        chosen = self._rng.sample(
            self._pool, min(self.products_per_tick, len(self._pool))
        )
        moved = 0
        for product_id in chosen:
            try:
                product = await self.catalog.get(product_id)
                cents = round(Decimal(str(product["price"])) * 100)
                price = next_price(cents, self._rng)
                await self.catalog.update(product_id, ProductUpdate(price=price))
            except NotFoundError:
                # Deleted since it was sampled.
                self._pool.remove(product_id)
                continue
            moved += 1
        return moved

    async def _sample_products(self) -> list[str]:
        statement = (
            select(products.c.id).order_by(func.random()).limit(SIMULATED_PRODUCTS)
        )
        return await self.catalog.database.run_read(
            lambda connection: list(connection.scalars(statement))
        )
