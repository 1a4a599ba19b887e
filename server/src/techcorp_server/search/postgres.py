"""Search in PostgreSQL, from tables that every server process shares.

`search_terms` contains the vocabulary of each document type: every term
with the number of postings that carry it. `search_postings` contains one
row per term, field and document. Both are written inside each write transaction
(`posting_statements`), so a search in any process sees exactly what the
database contains, and no process builds anything at start-up.

A query takes two statements. The first finds each word's
expansions in `search_terms`: the exact term, the terms the last word begins
(a `text_pattern_ops` btree), and typo candidates from the `pg_trgm` GIN
index, which Python then checks with the same optimal string alignment
distance as the in-memory index (`expansion.py`). The second ranks the
postings of those terms with the in-memory index's penalties (`index.py`):
each document takes its best match per word, missing words cost
`UNMATCHED`, and equal keys go newest first.

The trigram index returns every term within the allowed typos, because an
edit changes at most 4 of a word's trigrams (a swap of two neighbours): a
word of `n` letters without repeated trigrams keeps at least `n + 1 - 4k`
of its `n + 1` trigrams after `k` typos, which bounds the similarity from
below (`trigram_threshold`). Words where that bound is too low to use, or
with letters `pg_trgm` may not count as such, are compared with every term
of nearby length instead.

NOTE: the bound assumes that `pg_trgm` reads each term as one word. Under a
database locale where it splits a term at a letter outside ASCII (`bjørn`),
that term may be missed as a typo of an ASCII query word.
"""

from __future__ import annotations

import sys
from collections import Counter
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from rapidfuzz.distance import OSA
from sqlalchemy import TextClause, event, text
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncSession

from ..core.changes import Change
from ..core.db import Database
from .expansion import (
    EXACT,
    FUZZY,
    MAX_PREFIX_SCAN,
    MAX_PREFIX_TERMS,
    MAX_TYPO_TERMS,
    PREFIX,
    Expansion,
    allowed_typos,
)
from .index import (
    FIELD_SHIFT,
    MAX_QUERY_WORDS,
    UNMATCHED,
    Document,
    Hit,
    SearchQuery,
    SearchResult,
    penalty,
)
from .text import singular, terms

SIMILARITY_FLOOR = 0.09
"""`pg_trgm.similarity_threshold` for the `%` operator on search connections.

`trigram_threshold` uses no bound below it, and its lowest is about 0.1 (9
letters, two typos). Each word's own bound is then checked with `similarity`.
"""

THRESHOLD_MARGIN = 0.999
"""The factor that keeps a bound below the exact fraction, because `similarity`
returns a `real`."""

SURROGATES = (0xD800, 0xDFFF)
"""The code points UTF-8 cannot encode, which the prefix range skips."""

Posting = tuple[str, int, str]
"""A term, the number of the field it occurs in, and a document id."""


def document_postings(document: Document) -> set[Posting]:
    return {
        (found, field, document.id)
        for field, field_text in enumerate(document.texts)
        for found in terms(field_text)
    }


def posting_statements(
    document_type: str, added: Iterable[Posting], removed: Iterable[Posting]
) -> Iterator[tuple[TextClause, dict[str, Any]]]:
    """Yield the statements that add and remove postings of one type.

    Term counts are changed in term order, so two transactions that share
    terms lock those rows in the same order.
    """
    added, removed = sorted(added), sorted(removed)
    if removed:
        yield _DELETE_POSTINGS, _posting_arrays(document_type, removed)
    if added:
        yield _INSERT_POSTINGS, _posting_arrays(document_type, added)
    counts: dict[str, int] = {}
    for found, _, _ in added:
        counts[found] = counts.get(found, 0) + 1
    for found, _, _ in removed:
        counts[found] = counts.get(found, 0) - 1
    changed = sorted(item for item in counts.items() if item[1] != 0)
    if changed:
        yield (
            _COUNT_TERMS,
            {
                "document_type": document_type,
                "terms": [found for found, _ in changed],
                "counts": [count for _, count in changed],
            },
        )


def change_postings(
    changes: Sequence[Change], documents: Mapping[str, Any]
) -> dict[str, tuple[set[Posting], set[Posting]]]:
    """Return the postings to add and to remove, by document type.

    Changes are netted in order, so a document created and renamed in one
    transaction adds only its final postings.
    """
    net: dict[str, Counter[Posting]] = {}
    for change in changes:
        make = documents.get(change.resource)
        if make is None:
            continue
        counts = net.setdefault(change.resource, Counter())
        before = change.data if change.action == "deleted" else change.previous
        after = None if change.action == "deleted" else change.data
        if before is not None:
            counts.subtract(document_postings(make(before)))
        if after is not None:
            counts.update(document_postings(make(after)))
    return {
        resource: (
            {posting for posting, count in counts.items() if count > 0},
            {posting for posting, count in counts.items() if count < 0},
        )
        for resource, counts in net.items()
    }


def _posting_arrays(document_type: str, postings: list[Posting]) -> dict[str, Any]:
    return {
        "document_type": document_type,
        "terms": [found for found, _, _ in postings],
        "fields": [field for _, field, _ in postings],
        "ids": [document_id for _, _, document_id in postings],
    }


_DELETE_POSTINGS = text(
    """
    DELETE FROM search_postings AS p
    USING unnest(
      CAST(:terms AS text[]), CAST(:fields AS smallint[]), CAST(:ids AS text[])
    )
      AS given (term, field, document_id)
    WHERE p.document_type = :document_type AND p.term = given.term
      AND p.field = given.field AND p.document_id = given.document_id
    """
)

_INSERT_POSTINGS = text(
    """
    INSERT INTO search_postings (document_type, term, field, document_id)
    SELECT :document_type, given.term, given.field, given.document_id
    FROM unnest(
      CAST(:terms AS text[]), CAST(:fields AS smallint[]), CAST(:ids AS text[])
    )
      AS given (term, field, document_id)
    ON CONFLICT DO NOTHING
    """
)

_COUNT_TERMS = text(
    """
    INSERT INTO search_terms (document_type, term, postings)
    SELECT :document_type, given.term, given.count
    FROM unnest(CAST(:terms AS text[]), CAST(:counts AS integer[]))
      AS given (term, count)
    ON CONFLICT (document_type, term)
    DO UPDATE SET postings = search_terms.postings + excluded.postings
    """
)


def trigram_threshold(word: str, typos: int) -> float | None:
    """Return a similarity every term within `typos` of `word` reaches.

    None when no bound at or above `SIMILARITY_FLOOR` applies: the word has
    repeated trigrams, letters outside ASCII, or too few trigrams.
    """
    if not word.isascii() or not word.isalnum():
        return None
    padded = f"  {word} "
    trigrams = [padded[start : start + 3] for start in range(len(word) + 1)]
    if len(set(trigrams)) < len(trigrams):
        return None
    kept = len(trigrams) - 4 * typos
    if kept <= 0:
        return None
    union = 2 * len(trigrams) + typos - kept
    threshold = kept / union * THRESHOLD_MARGIN
    return threshold if threshold >= SIMILARITY_FLOOR else None


@dataclass(frozen=True, slots=True)
class _TypoProbe:
    """A form of a query word whose neighbours within `typos` are looked up."""

    word: int
    typed: str
    typos: int
    threshold: float | None


def _typo_probes(words: Sequence[str]) -> list[_TypoProbe]:
    # A misspelt plural may lose a letter to `singular`, so each word is
    # compared as typed and as a singular, as in `expansion.py`.
    probes = []
    for position, word in enumerate(words):
        typos = allowed_typos(word)
        if typos == 0:
            continue
        for typed in sorted({word, singular(word)}):
            threshold = trigram_threshold(typed, typos)
            probes.append(_TypoProbe(position, typed, typos, threshold))
    return probes


_VOCABULARY = text(
    """
    SELECT 'exact' AS source, 0 AS probe, term, 0 AS postings
    FROM search_terms
    WHERE document_type = :document_type AND term = ANY(CAST(:exact AS text[]))
    UNION ALL
    SELECT 'prefix', 0, term, postings FROM (
      SELECT term, postings FROM search_terms
      WHERE document_type = :document_type
        AND term ~>=~ :prefix AND term ~<~ :prefix_end
      ORDER BY term USING ~<~ LIMIT :prefix_scan
    ) AS prefixed
    UNION ALL
    SELECT 'typo', probe.number, t.term, 0
    FROM unnest(
      CAST(:typed AS text[]), CAST(:thresholds AS real[]),
      CAST(:shortest AS integer[]), CAST(:longest AS integer[])
    ) WITH ORDINALITY AS probe (typed, threshold, shortest, longest, number)
    JOIN search_terms AS t
      ON t.document_type = :document_type AND t.term % probe.typed
      AND similarity(t.term, probe.typed) >= probe.threshold
      AND length(t.term) BETWEEN probe.shortest AND probe.longest
    """
)

_NEARBY_LENGTH = text(
    """
    SELECT term FROM search_terms
    WHERE document_type = :document_type
      AND length(term) BETWEEN :shortest AND :longest
    """
)


def _prefix_end(prefix: str) -> str:
    """Return the first string after every string that begins with `prefix`.

    `text_pattern_ops` compares strings byte by byte, which for UTF-8 is code
    point order, as Python's.
    """
    following = min(ord(prefix[-1]) + 1, sys.maxunicode)
    if SURROGATES[0] <= following <= SURROGATES[1]:
        following = SURROGATES[1] + 1  # not encodable in UTF-8
    return prefix[:-1] + chr(following)


def expand_words(
    connection: Connection, document_type: str, words: Sequence[str]
) -> list[list[Expansion]]:
    """Return the expansions of each query word, as `Vocabulary.expand` does."""
    singulars = [singular(word) for word in words]
    probes = _typo_probes(words)
    indexed = [probe for probe in probes if probe.threshold is not None]
    rows = connection.execute(
        _VOCABULARY,
        {
            "document_type": document_type,
            "exact": singulars,
            "prefix": words[-1],
            "prefix_end": _prefix_end(words[-1]),
            "prefix_scan": MAX_PREFIX_SCAN,
            "typed": [probe.typed for probe in indexed],
            "thresholds": [probe.threshold for probe in indexed],
            "shortest": [len(probe.typed) - probe.typos for probe in indexed],
            "longest": [len(probe.typed) + probe.typos for probe in indexed],
        },
    ).all()

    exact = {row.term for row in rows if row.source == "exact"}
    prefixed = [(row.term, row.postings) for row in rows if row.source == "prefix"]
    candidates: dict[int, set[str]] = {}
    for row in rows:
        if row.source == "typo":
            probe = indexed[row.probe - 1]
            candidates.setdefault(id(probe), set()).add(row.term)
    for probe in probes:
        if probe.threshold is None:
            candidates[id(probe)] = _nearby_terms(connection, document_type, probe)

    expanded = []
    for position, term in enumerate(singulars):
        found = [Expansion(term, 0, EXACT)] if term in exact else []
        if position == len(words) - 1:
            found += _prefixes(term, prefixed)
        own = [probe for probe in probes if probe.word == position]
        found += _typos(term, own, candidates)
        expanded.append(found)
    return expanded


def _nearby_terms(
    connection: Connection, document_type: str, probe: _TypoProbe
) -> set[str]:
    rows = connection.execute(
        _NEARBY_LENGTH,
        {
            "document_type": document_type,
            "shortest": len(probe.typed) - probe.typos,
            "longest": len(probe.typed) + probe.typos,
        },
    )
    return set(rows.scalars())


def _prefixes(term: str, prefixed: list[tuple[str, int]]) -> list[Expansion]:
    found = [(candidate, count) for candidate, count in prefixed if candidate != term]
    if len(found) > MAX_PREFIX_TERMS:
        found.sort(key=lambda item: item[1], reverse=True)
        del found[MAX_PREFIX_TERMS:]
    return [Expansion(candidate, 0, PREFIX) for candidate, _ in found]


def _typos(
    term: str, probes: list[_TypoProbe], candidates: dict[int, set[str]]
) -> list[Expansion]:
    distances: dict[str, int] = {}
    for probe in probes:
        for found in candidates.get(id(probe), ()):
            distance = OSA.distance(probe.typed, found, score_cutoff=probe.typos)
            if distance > probe.typos or found == term:
                continue
            if distance < distances.get(found, probe.typos + 1):
                distances[found] = distance
    nearest = sorted(distances.items(), key=lambda item: (item[1], item[0]))
    return [
        Expansion(found, distance, FUZZY)
        for found, distance in nearest[:MAX_TYPO_TERMS]
    ]


_RANK = """
    WITH expansion (word, term, cost) AS (
      SELECT * FROM unnest(
        CAST(:words AS integer[]), CAST(:terms AS text[]), CAST(:costs AS integer[])
      )
    ), ranked AS (
      SELECT p.document_id, {key} AS key
      FROM expansion AS e
      JOIN search_postings AS p
        ON p.document_type = :document_type AND p.term = e.term
      GROUP BY p.document_id
    )
    SELECT ranked.document_id, ranked.key, count(*) OVER () AS total
    FROM ranked {filters}
    ORDER BY ranked.key, ranked.document_id COLLATE "C" DESC
    LIMIT :limit
"""

_WORD_COST = (
    f"coalesce(min(e.cost + (p.field << {FIELD_SHIFT})) FILTER (WHERE e.word = {{}}), "
    f"{UNMATCHED})"
)
"""The best penalty of one query word in a document, or `UNMATCHED`."""


def _rank_statement(query: SearchQuery, word_count: int) -> TextClause:
    # One aggregate per word in a single grouping took about a fifth less
    # time than grouping by document and word first, then by document.
    key = " + ".join(_WORD_COST.format(word) for word in range(word_count))
    conditions = []
    if query.category is not None:
        conditions.append("products.category = :category")
    if query.min_cents is not None:
        conditions.append("products.price_cents >= :min_cents")
    if query.max_cents is not None:
        conditions.append("products.price_cents <= :max_cents")
    filters = ""
    if conditions:
        filters = "JOIN products ON products.id = ranked.document_id WHERE " + (
            " AND ".join(conditions)
        )
    return text(_RANK.format(key=key, filters=filters))


def rank(
    connection: Connection,
    document_type: str,
    query: SearchQuery,
    expansions: list[list[Expansion]],
    limit: int,
) -> tuple[list[Hit], int]:
    """Return the best `limit` hits for `expansions` and the number of matches."""
    words, expanded_terms, costs = [], [], []
    for position, expanded in enumerate(expansions):
        for expansion in expanded:
            words.append(position)
            expanded_terms.append(expansion.term)
            costs.append(penalty(expansion.typos, 0, expansion.kind))
    if not expanded_terms:
        return [], 0
    rows = connection.execute(
        _rank_statement(query, len(expansions)),
        {
            "document_type": document_type,
            "words": words,
            "terms": expanded_terms,
            "costs": costs,
            "limit": max(limit, 1),
            "category": query.category,
            "min_cents": query.min_cents,
            "max_cents": query.max_cents,
        },
    ).all()
    total = rows[0].total if rows else 0
    return [Hit(row.document_id, row.key) for row in rows[:limit]], total


class PostgresIndex:
    """The search of one document type, in the shared tables."""

    def __init__(self, database: Database, document_type: str) -> None:
        self.database = database
        self.document_type = document_type

    def search_in(
        self, connection: Connection, query: SearchQuery, limit: int
    ) -> SearchResult:
        """Return the best `limit` hits and the total, on an open connection."""
        words = query.words[:MAX_QUERY_WORDS]
        if not words:
            return SearchResult([], 0, [])
        expansions = expand_words(connection, self.document_type, words)
        hits, total = rank(connection, self.document_type, query, expansions, limit)
        return SearchResult(hits, total, expansions)

    async def search(self, query: SearchQuery, offset: int, limit: int) -> SearchResult:
        """Return the hits `offset` to `offset + limit` and the total."""
        result = await self.database.run_read(
            lambda connection: self.search_in(connection, query, offset + limit)
        )
        result.hits = result.hits[offset:]
        return result


def lower_similarity_threshold(database: Database) -> None:
    """Set `SIMILARITY_FLOOR` on every new connection of `database`."""

    @event.listens_for(database.engine.sync_engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        cursor = dbapi_connection.cursor()
        cursor.execute(f"SET pg_trgm.similarity_threshold = {SIMILARITY_FLOOR}")
        cursor.close()


async def add_documents(
    session: AsyncSession, document_type: str, documents: Iterable[Document]
) -> None:
    """Add the postings of new `documents`, as a bulk load does."""
    added = set().union(*map(document_postings, documents))
    for statement, parameters in posting_statements(document_type, added, ()):
        await session.execute(statement, parameters)


async def write_changes(
    session: AsyncSession,
    changes: Sequence[Change],
    documents: Mapping[str, Any],
) -> None:
    """Bring the shared tables in step with `changes`, in their transaction."""
    for document_type, (added, removed) in change_postings(changes, documents).items():
        for statement, parameters in posting_statements(document_type, added, removed):
            await session.execute(statement, parameters)
