"""The PostgreSQL index ranks exactly as the in-memory index does."""

from __future__ import annotations

import random
from collections.abc import AsyncIterator

import pytest
from sqlalchemy import text

from techcorp_server.core.changes import Change
from techcorp_server.core.db import Database
from techcorp_server.core.migrate import upgrade_to_head
from techcorp_server.demo.catalog import generate_products
from techcorp_server.demo.loader import load_products
from techcorp_server.search.documents import product_row_document, user_document
from techcorp_server.search.index import MemoryIndex, SearchQuery
from techcorp_server.search.postgres import (
    PostgresIndex,
    add_documents,
    lower_similarity_threshold,
    trigram_threshold,
    write_changes,
)
from techcorp_server.search.text import query_words

from ..utils.backends import postgresql_database_url
from .test_index import WORDS, random_documents

LETTERS = "abcdefghijklmnopqrstuvwxyz"

SIMILARITY = text("SELECT similarity(:a, :b)")


@pytest.fixture
async def database() -> AsyncIterator[Database]:
    url = postgresql_database_url().replace("postgresql:", "postgresql+asyncpg:", 1)
    database = Database(url)
    lower_similarity_threshold(database)
    await upgrade_to_head(database)
    yield database
    await database.dispose()


def misspell(rng: random.Random, word: str) -> str:
    """Return `word` with one random insertion, deletion, substitution or swap."""
    position = rng.randrange(len(word))
    edit = rng.choice(("insert", "delete", "substitute", "swap"))
    if edit == "insert":
        return word[:position] + rng.choice(LETTERS) + word[position:]
    if edit == "delete":
        return word[:position] + word[position + 1 :]
    if edit == "substitute":
        return word[:position] + rng.choice(LETTERS) + word[position + 1 :]
    position = min(position, len(word) - 2)
    return word[:position] + word[position + 1] + word[position] + word[position + 2 :]


def random_query(rng: random.Random) -> tuple[str, ...]:
    words = []
    for word in rng.sample(WORDS, rng.randint(1, 3)):
        for _ in range(rng.choice((0, 0, 1, 2))):
            word = misspell(rng, word)
        words.append(word)
    if rng.random() < 0.3:
        words[-1] = words[-1][: rng.randint(1, len(words[-1]))]
    return tuple(query_words(" ".join(words)))


async def assert_same_hits(
    shared: PostgresIndex, memory: MemoryIndex, query: SearchQuery
) -> None:
    expected = memory.search(query, 0, 25)
    found = await shared.search(query, 0, 25)

    assert found.total == expected.total, query.words
    assert [(hit.key, hit.id) for hit in found.hits] == [
        (hit.key, hit.id) for hit in expected.hits
    ], query.words
    assert [set(words) for words in found.expansions] == [
        set(words) for words in expected.expansions
    ], query.words


@pytest.mark.parametrize("seed", range(3))
async def test_ranking_matches_memory_index(database: Database, seed: int) -> None:
    rng = random.Random(seed)
    documents = random_documents(rng, 300)
    memory = MemoryIndex(3)
    memory.load(documents)
    async with database.transaction() as session:
        await add_documents(session, "product", documents)
    shared = PostgresIndex(database, "product")

    for _ in range(60):
        query = SearchQuery(random_query(rng))
        await assert_same_hits(shared, memory, query)


async def test_pages_match_memory_index(database: Database) -> None:
    documents = random_documents(random.Random(7), 200)
    memory = MemoryIndex(3)
    memory.load(documents)
    async with database.transaction() as session:
        await add_documents(session, "product", documents)
    shared = PostgresIndex(database, "product")
    query = SearchQuery(("lamp", "cable"))

    for offset in range(0, 200, 7):
        found = await shared.search(query, offset, 7)
        assert found.hits == memory.search(query, offset, 7).hits


async def test_loaded_catalog_is_searchable(database: Database) -> None:
    products = list(generate_products(200, 3))
    memory = MemoryIndex(3)
    memory.load(map(product_row_document, products))

    await load_products(database, products)

    shared = PostgresIndex(database, "product")
    for product in products[:20]:
        query = SearchQuery(tuple(query_words(product["name"])))
        await assert_same_hits(shared, memory, query)


async def test_changes_are_written_in_the_transaction(database: Database) -> None:
    shared = PostgresIndex(database, "user")
    king = {"id": "usr_1", "email": "christine.king@example.com"}
    renamed = {"id": "usr_1", "email": "christine.queen@example.com"}
    documents = {"user": user_document}

    async with database.transaction() as session:
        await write_changes(session, [Change("user.created", king)], documents)
    assert (await shared.search(SearchQuery(("king",)), 0, 10)).total == 1

    async def rename_then_fail() -> None:
        async with database.transaction() as session:
            change = Change("user.updated", renamed, previous=king)
            await write_changes(session, [change], documents)
            raise RuntimeError("the write fails after the postings")

    with pytest.raises(RuntimeError):
        await rename_then_fail()
    assert (await shared.search(SearchQuery(("queen",)), 0, 10)).total == 0

    async with database.transaction() as session:
        change = Change("user.updated", renamed, previous=king)
        await write_changes(session, [change], documents)
    assert (await shared.search(SearchQuery(("king",)), 0, 10)).total == 0
    assert (await shared.search(SearchQuery(("queen",)), 0, 10)).total == 1

    async with database.transaction() as session:
        await write_changes(session, [Change("user.deleted", renamed)], documents)
    assert (await shared.search(SearchQuery(("christine",)), 0, 10)).total == 0


async def test_changes_of_one_transaction_net_out(database: Database) -> None:
    shared = PostgresIndex(database, "user")
    created = {"id": "usr_2", "email": "lamp.maker@example.com"}
    renamed = {"id": "usr_2", "email": "desk.maker@example.com"}
    changes = [
        Change("user.created", created),
        Change("user.updated", renamed, previous=created),
    ]

    async with database.transaction() as session:
        await write_changes(session, changes, {"user": user_document})

    assert (await shared.search(SearchQuery(("lamp",)), 0, 10)).total == 0
    assert (await shared.search(SearchQuery(("desk",)), 0, 10)).total == 1
    assert (await shared.search(SearchQuery(("maker",)), 0, 10)).total == 1


async def test_typo_bounds_hold_in_postgresql(database: Database) -> None:
    rng = random.Random(5)
    pairs = []
    for word in ("mouse", "cable", "keyboard", "bluetooth", "lighthouse", "charger"):
        typos = 2 if len(word) >= 9 else 1
        for _ in range(30):
            typed = word
            for _ in range(typos):
                typed = misspell(rng, typed)
            threshold = trigram_threshold(typed, typos)
            if threshold is not None:
                pairs.append((typed, word, threshold))

    async with database.read() as session:
        for typed, word, threshold in pairs:
            similarity = await session.scalar(SIMILARITY, {"a": typed, "b": word})
            assert similarity is not None
            assert similarity >= threshold, (typed, word)
