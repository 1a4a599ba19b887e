"""Search over products and users: the indexes, their upkeep, and ranked pages.

Each server process keeps one `MemoryIndex` of products and one of users,
built from the database at start-up and kept in step with every write made
through this process: `SearchService` is a `ChangeListener`, and the change
log calls `committed` after each write transaction commits and before the
write's response is sent, so the next search finds the change.

Every authenticated caller may search both types, because admins and
members alike may list products and users.

Why a dedicated index: SQLite FTS5 trigram candidates re-ranked with
rapidfuzz took p50/p99 104/642 ms on a mixed query set at 1M products, and
PostgreSQL pg_trgm with a GIN index 43/493 ms. The bitmap index alone took
p50 0.09 ms for `bench/search_latency.py`'s query set at 1M products on the
same 2-CPU machine (`docs/benchmarks.md` has the figures through HTTP).

Writes by other processes reach the index through the change feed
(`core/feed.py`), which hands them to `committed` within one poll.

On PostgreSQL the database can run the search instead
(`postgres.py`, `search_backend = "postgresql"`): the term and postings
tables are written inside each write transaction (`in_transaction`), so
every process searches the same index, which is in step with the database
at every commit, and nothing is built at start-up. The tables are kept up
to date on PostgreSQL whichever backend searches, so switching is safe.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal, TypeVar

from sqlalchemy import bindparam, select
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Session

from ..core.changes import Change, ChangeListener
from ..core.db import Database
from ..products.service import COLUMNS, product_json, products
from ..users.models import User
from ..users.service import user_json
from .documents import (
    PRODUCT_FIELDS,
    USER_FIELDS,
    USER_INDEX_FIELDS,
    product_document,
    product_row_document,
    user_document,
)
from .highlights import Matcher, highlights
from .index import (
    FIELD_SHIFT,
    TYPO_SHIFT,
    UNMATCHED,
    Document,
    Hit,
    MemoryIndex,
    SearchIndex,
    SearchQuery,
    SearchResult,
)
from .items import RecentItems
from .postgres import PostgresIndex, lower_similarity_threshold, write_changes

logger = logging.getLogger(__name__)

ResourceType = Literal["product", "user"]
T = TypeVar("T")
SearchBackend = Literal["memory", "postgresql"]

BUILD_BATCH_ROWS = 10_000
"""Rows fetched from the database at a time while the indexes are built."""

SCORE_DIGITS = 6
SCORE_BASE = 32**3
"""The weight of a missing word in `hit_score`."""

PRODUCTS_BY_ID = select(*COLUMNS).where(
    products.c.id.in_(bindparam("ids", expanding=True))
)
"""The statement that reads the products of a page of hits. Building it for
each page cost about a fifth of reading 20 products from SQLite."""

DOCUMENTS: dict[str, Callable[[Mapping[Any, Any]], Document]] = {
    "product": product_document,
    "user": user_document,
}
"""The document maker of each resource type, from the resource as rendered."""


@dataclass(frozen=True, slots=True)
class SearchPage:
    hits: list[dict[str, Any]]
    total: int


@dataclass(frozen=True, slots=True)
class _RankedHit:
    type: ResourceType
    hit: Hit


class SearchService(ChangeListener):
    def __init__(self, database: Database, backend: SearchBackend = "memory") -> None:
        if backend == "postgresql" and database.is_sqlite:
            raise ValueError(
                "the postgresql search backend needs a PostgreSQL database"
            )
        self.database = database
        self.backend = backend
        self.indexes: dict[str, SearchIndex] = {
            "product": MemoryIndex(len(PRODUCT_FIELDS)),
            "user": MemoryIndex(len(USER_INDEX_FIELDS)),
        }
        self.shared: dict[str, PostgresIndex] = {}
        if backend == "postgresql":
            self.shared = {
                resource: PostgresIndex(database, resource) for resource in DOCUMENTS
            }
            lower_similarity_threshold(database)
        self.recent = RecentItems()

    async def start(self) -> None:
        """Build both indexes from the database, unless PostgreSQL runs the search."""
        if self.shared:
            logger.info("search runs in PostgreSQL")
            return
        started = time.perf_counter()
        # A served app freezes the built index out of the garbage
        # collector's reach (see `create_app`).
        counts = await self.database.run_read(self._build)
        logger.info(
            "search index built",
            extra={
                "products": counts[0],
                "users": counts[1],
                "seconds": round(time.perf_counter() - started, 3),
            },
        )

    def _build(self, connection: Connection) -> tuple[int, int]:
        def rows(statement: Any) -> Iterator[Mapping[Any, Any]]:
            options = connection.execution_options(yield_per=BUILD_BATCH_ROWS)
            yield from options.execute(statement).mappings()

        product_rows = rows(select(*COLUMNS).order_by(products.c.id))
        user_rows = rows(select(User.id, User.email).order_by(User.id))
        return (
            self.indexes["product"].load(map(product_row_document, product_rows)),
            self.indexes["user"].load(map(user_document, user_rows)),
        )

    async def in_transaction(
        self, session: AsyncSession, changes: Sequence[Change]
    ) -> None:
        if not self.database.is_sqlite:
            await write_changes(session, changes, DOCUMENTS)

    def committed(self, changes: Sequence[Change]) -> None:
        for change in changes:
            self.apply(change)

    def apply(self, change: Change) -> None:
        """Bring the index of the changed resource up to date."""
        document = DOCUMENTS.get(change.resource)
        if document is None:
            return
        self.recent.discard(change.data["id"])
        if self.shared:
            return  # written in the transaction
        index = self.indexes[change.resource]
        if change.action == "created":
            # A change from another process can reach a process whose index
            # was built after the change was saved, and so holds it already.
            if change.data["id"] not in index:
                index.add(document(change.data))
        elif change.action == "updated" and change.previous is not None:
            index.update(document(change.previous), document(change.data))
        elif change.action == "deleted":
            index.remove(document(change.data))

    async def search(
        self,
        query: SearchQuery,
        types: Sequence[ResourceType],
        offset: int,
        limit: int,
    ) -> SearchPage:
        """Return one page of hits of `types`, merged into one ranking."""
        if self.shared:
            # One connection for the ranking and the items saves the round
            # trips of a second checkout.
            return await self._read_shared(
                lambda connection: self._search_shared(
                    connection, query, types, offset, limit
                )
            )
        results = [
            (resource, self.indexes[resource].search(query, 0, offset + limit))
            for resource in types
        ]
        page, total, matcher = _merge(query, results, offset, limit)
        missing = self._recent_items(page)
        if missing.ids:
            read = await self.database.run_read(
                lambda connection: _read_rows(connection, *missing.ids)
            )
            missing.store(read)
        return SearchPage(_render(query, page, missing.items, matcher), total)

    def _search_shared(
        self,
        connection: Connection,
        query: SearchQuery,
        types: Sequence[ResourceType],
        offset: int,
        limit: int,
    ) -> SearchPage:
        results = [
            (
                resource,
                self.shared[resource].search_in(connection, query, offset + limit),
            )
            for resource in types
        ]
        page, total, matcher = _merge(query, results, offset, limit)
        missing = self._recent_items(page)
        if missing.ids:
            missing.store(_read_rows(connection, *missing.ids))
        return SearchPage(_render(query, page, missing.items, matcher), total)

    async def _read_shared(self, read: Callable[[Connection], T]) -> T:
        # Autocommit skips BEGIN and ROLLBACK: each statement reads what is
        # committed when it starts, which is all a search needs.
        async with self.database.engine.connect() as connection:
            autocommit = await connection.execution_options(
                isolation_level="AUTOCOMMIT"
            )
            return await autocommit.run_sync(read)

    def _recent_items(self, page: Sequence[_RankedHit]) -> _PageItems:
        """Return the items of `page` kept in memory, and the ids of the others."""
        found = _PageItems(self.recent, self.recent.generation)
        for entry in page:
            item = self.recent.get(entry.hit.id)
            if item is not None:
                found.items[entry.hit.id] = item
            elif entry.type == "product":
                found.ids[0].append(entry.hit.id)
            else:
                found.ids[1].append(entry.hit.id)
        return found


@dataclass(slots=True)
class _PageItems:
    """The items of a page by id, and the product and user ids still to read."""

    recent: RecentItems
    generation: int
    items: dict[str, dict[str, Any]] = field(default_factory=dict)
    ids: tuple[list[str], list[str]] = field(default_factory=lambda: ([], []))

    def store(self, read: dict[str, dict[str, Any]]) -> None:
        self.recent.put_all(read, self.generation)
        self.items.update(read)


def _merge(
    query: SearchQuery,
    results: list[tuple[ResourceType, SearchResult]],
    offset: int,
    limit: int,
) -> tuple[list[_RankedHit], int, Matcher]:
    """Return the page of the merged ranking, the total and the highlighter."""
    ranked: list[_RankedHit] = []
    total = 0
    expansions = []
    for resource, result in results:
        total += result.total
        ranked += [_RankedHit(resource, hit) for hit in result.hits]
        expansions += result.expansions

    # Equal keys: newest first. Ids sort by creation time after their
    # type prefix, and both sorts are stable.
    ranked.sort(key=lambda entry: entry.hit.id.partition("_")[2], reverse=True)
    ranked.sort(key=lambda entry: entry.hit.key)
    return ranked[offset : offset + limit], total, Matcher.of(query.words, expansions)


def _render(
    query: SearchQuery,
    page: list[_RankedHit],
    items: dict[str, dict[str, Any]],
    matcher: Matcher,
) -> list[dict[str, Any]]:
    hits = []
    for entry in page:
        item = items.get(entry.hit.id)
        if item is None:
            continue  # deleted after the index was read
        fields = PRODUCT_FIELDS if entry.type == "product" else USER_FIELDS
        hits.append(
            {
                "type": entry.type,
                "score": hit_score(entry.hit.key, len(query.words)),
                "item": item,
                "highlights": highlights(item, fields, matcher),
            }
        )
    return hits


def _read_rows(
    connection: Connection, product_ids: list[str], user_ids: list[str]
) -> dict[str, dict[str, Any]]:
    items: dict[str, dict[str, Any]] = {}
    if product_ids:
        rows = connection.execute(PRODUCTS_BY_ID, {"ids": product_ids})
        for row in rows.mappings():
            items[row["id"]] = product_json(row)
    if user_ids:
        with Session(bind=connection) as session:
            users = session.scalars(select(User).where(User.id.in_(user_ids)))
            items.update((user.id, user_json(user)) for user in users)
    return items


def hit_score(key: int, word_count: int) -> float:
    """Map a ranking key to a score from 0 to 1 that orders hits the same way.

    Each missing word costs `1/n` of the score (for `n` query words), each
    typo `1/32n`, each step down the fields `1/1024n` and a prefix match
    `1/32768n`. The parts of a key are sums of at most 2 per word over at
    most 10 words, so below 32, and the weights keep their order.
    """
    missing = key // UNMATCHED
    typos = key >> TYPO_SHIFT & 0xFF
    fields = key >> FIELD_SHIFT & 0xFF
    kinds = key & 0xFF
    weighted = ((missing * 32 + typos) * 32 + fields) * 32 + kinds
    return round(1 - weighted / (max(word_count, 1) * SCORE_BASE), SCORE_DIGITS)
