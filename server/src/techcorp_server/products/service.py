"""The product catalog: filtered lists, reads and admin writes.

Lists are read with SQLAlchemy Core, rendered straight to JSON bytes with
orjson, and kept in a `ListPageCache`. Every write through the catalog clears
that cache once its transaction has committed.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Mapping, Sequence
from typing import Any

import orjson
from sqlalchemy import ColumnElement, delete, func, insert, select, update
from sqlalchemy.engine import Connection

from ..core.changes import Change, ChangeListener, ChangeLog
from ..core.db import Database, isoformat, utc_now
from ..core.errors import BadRequestError, NotFoundError
from ..core.ids import new_id
from ..core.money import cents_to_json, to_cents
from ..core.pagination import envelope
from ..core.text import shorten
from .cache import KnownTotal, ListPageCache, ListQuery, RenderedPage
from .models import Product
from .schemas import ProductCreate, ProductUpdate

products = Product.metadata.tables["products"]

COLUMNS = (
    products.c.id,
    products.c.name,
    products.c.price_cents,
    products.c.category,
    products.c.description,
    products.c.created_at,
    products.c.updated_at,
)


def product_json(row: Mapping[Any, Any]) -> dict[str, Any]:
    return {
        "id": row["id"],
        "name": row["name"],
        "price": cents_to_json(row["price_cents"]),
        "category": row["category"],
        "description": row["description"],
        "created_at": isoformat(row["created_at"]),
        "updated_at": isoformat(row["updated_at"]),
    }


def _filter_conditions(query: ListQuery) -> list[ColumnElement[bool]]:
    conditions: list[ColumnElement[bool]] = []
    if query.category is not None:
        conditions.append(products.c.category == query.category)
    if query.min_cents is not None:
        conditions.append(products.c.price_cents >= query.min_cents)
    if query.max_cents is not None:
        conditions.append(products.c.price_cents <= query.max_cents)
    return conditions


class ProductCatalog(ChangeListener):
    def __init__(
        self,
        database: Database,
        *,
        cache_entries: int,
        cache_max_age_seconds: float | None = None,
        changes: ChangeLog | None = None,
    ) -> None:
        self.database = database
        self.changes = changes or ChangeLog(database)
        self.cache = ListPageCache(cache_entries, cache_max_age_seconds)
        self._reads: dict[tuple[ListQuery, int], asyncio.Task[RenderedPage]] = {}

    def committed(self, changes: Sequence[Change]) -> None:
        # Writes through this catalog clear the cache themselves; this
        # clears it for writes that other processes made.
        if any(change.resource == "product" for change in changes):
            self.cache.clear()

    async def list_page(self, query: ListQuery) -> RenderedPage:
        """Return one page of matching products, newest first, as JSON.

        Requests that miss the cache for the same page at the same time share
        one database read. A page that only outlived the maximum age (no
        write through this process since) is served while one request reads
        it again, so an expiring page never makes requests wait under load.
        """
        cached = self.cache.get(query)
        if cached is not None:
            return cached

        read = self._read_once(query)
        stale = self.cache.get_stale(query)
        if stale is not None:
            return stale
        # A caller that goes away must not cancel the read the others await.
        return await asyncio.shield(read)

    def _read_once(self, query: ListQuery) -> asyncio.Task[RenderedPage]:
        # The generation is part of the key, so a request arriving after a
        # write never shares a read that began before it.
        key = (query, self.cache.generation)
        read = self._reads.get(key)
        if read is None:
            known = self.cache.get_total(query.filter)
            read = asyncio.create_task(self._render_page(query, known))
            self._reads[key] = read
            read.add_done_callback(lambda done: self._finish_read(key, done))
        return read

    def _finish_read(
        self, key: tuple[ListQuery, int], read: asyncio.Task[RenderedPage]
    ) -> None:
        del self._reads[key]
        if read.cancelled() or read.exception() is not None:
            return
        query, generation = key
        self.cache.put(query, read.result(), generation)
        self.cache.put_total(query.filter, read.result(), generation)

    async def _render_page(
        self, query: ListQuery, known: KnownTotal | None = None
    ) -> RenderedPage:
        conditions = _filter_conditions(query)
        count = select(func.count()).select_from(products).where(*conditions)
        rows = (
            select(*COLUMNS)
            .where(*conditions)
            .order_by(products.c.id.desc())
            .offset(query.page.offset)
            .limit(query.page.limit)
        )
        rendered_at = time.monotonic()

        # Both statements run in one read transaction. On SQLite that is one
        # snapshot, so a counted total matches the rows. A known total is one
        # counted since the last write through this process, at most
        # `max_age_seconds` ago.
        # NOTE: PostgreSQL's default READ COMMITTED gives each statement its
        # own snapshot, so there a total may differ from the rows by the
        # writes committed between the two statements.
        def read_page(connection: Connection) -> tuple[int, list[dict[str, Any]]]:
            total = known[0] if known is not None else connection.scalar(count) or 0
            if query.page.offset >= total:
                return total, []
            result = connection.execute(rows)
            return total, [product_json(row) for row in result.mappings()]

        total, items = await self.database.run_read(read_page)

        body = orjson.dumps(envelope(items, query.page, total))
        return RenderedPage(
            body=body,
            total=total,
            rendered_at=rendered_at,
            total_counted_at=known[1] if known is not None else None,
        )

    async def get(self, product_id: str) -> dict[str, Any]:
        statement = select(*COLUMNS).where(products.c.id == product_id)
        row = await self.database.run_read(
            lambda connection: connection.execute(statement).mappings().one_or_none()
        )
        if row is None:
            raise _product_not_found(product_id)
        return product_json(row)

    async def create(self, fields: ProductCreate) -> dict[str, Any]:
        now = utc_now()
        values = {
            "id": new_id("prd"),
            "name": fields.name,
            "price_cents": to_cents(fields.price),
            "category": fields.category,
            "description": fields.description,
            "created_at": now,
            "updated_at": now,
        }
        product = product_json(values)
        async with self.changes.transaction() as transaction:
            await transaction.session.execute(insert(products).values(values))
            transaction.record("product.created", product)

        self.cache.clear()
        return product

    async def replace(self, product_id: str, fields: ProductCreate) -> dict[str, Any]:
        """Overwrite every field, removing a description that `fields` lacks."""
        values = {
            "name": fields.name,
            "price_cents": to_cents(fields.price),
            "category": fields.category,
            "description": fields.description,
        }
        return await self._write(product_id, values)

    async def update(self, product_id: str, changes: ProductUpdate) -> dict[str, Any]:
        """Change only the fields present in `changes`."""
        values: dict[str, Any] = {}
        for field in changes.model_fields_set:
            values[field] = getattr(changes, field)
        if "price" in values:
            values["price_cents"] = to_cents(values.pop("price"))
        if not values:
            raise BadRequestError(
                "Nothing to change. Give at least one of 'name', 'price', "
                "'category' or 'description'.",
                details=[{"field": "body", "message": "No field to change."}],
            )
        return await self._write(product_id, values)

    async def delete(self, product_id: str) -> None:
        statement = (
            delete(products).where(products.c.id == product_id).returning(*COLUMNS)
        )
        async with self.changes.transaction() as transaction:
            result = await transaction.session.execute(statement)
            deleted = result.mappings().one_or_none()
            if deleted is None:
                raise _product_not_found(product_id)
            transaction.record("product.deleted", product_json(deleted))

        self.cache.clear()

    async def _write(self, product_id: str, values: dict[str, Any]) -> dict[str, Any]:
        where = products.c.id == product_id
        statement = (
            update(products)
            .where(where)
            .values(**values, updated_at=utc_now())
            .returning(*COLUMNS)
        )
        async with self.changes.transaction() as transaction:
            session = transaction.session
            before = (
                (await session.execute(select(*COLUMNS).where(where).with_for_update()))
                .mappings()
                .one_or_none()
            )
            if before is None:
                raise _product_not_found(product_id)
            row = (await session.execute(statement)).mappings().one()
            product = product_json(row)
            transaction.record("product.updated", product, product_json(before))

        self.cache.clear()
        return product


def _product_not_found(product_id: str) -> NotFoundError:
    return NotFoundError(f"No product has the id {shorten(product_id)!r}.")
