"""The search index interface and its in-memory implementation.

`MemoryIndex` keeps, for each searchable field, a map from term to the
roaring bitmap of documents that contain it. A document is a small integer
(its ordinal), given in the order documents are added, so ordinals follow
the time-sortable ids and "newest first" is "highest ordinal first".

A query word is expanded into terms (`expansion.py`): the word itself, the
terms it begins (last word only) and the terms one or two typos away. Each
expansion, in each field, is a match class with a penalty, and a document
takes the best class that contains it, word by word. The ranking key of a
document is the sum of its words' penalties (see `penalty`). It is computed
with bitmap operations over groups of documents that share a partial sum,
so the cost grows with the number of distinct keys, not of matches.
"""

from __future__ import annotations

import array
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Protocol

from pyroaring import BitMap

from .expansion import Expansion, Vocabulary
from .prices import PriceIndex
from .text import terms

MAX_QUERY_WORDS = 10
"""Query words that are matched; later words are ignored."""

UNMATCHED = 1 << 24
"""Penalty of a query word a document does not contain."""

TYPO_SHIFT = 16
FIELD_SHIFT = 8
"""The penalty of a match is `typos << 16 | field << 8 | kind`.

With at most `MAX_QUERY_WORDS` words each part of a sum stays below 256, so
comparing sums compares (words missed, typos, fields, kinds) in that order.
"""

LOAD_CHUNK_DOCUMENTS = 10_000
"""Documents whose postings are gathered in lists before entering bitmaps."""


@dataclass(frozen=True, slots=True)
class Document:
    """The searchable parts of a product or user.

    `texts` contains one text per field, best-ranked field first.
    """

    id: str
    texts: tuple[str, ...]
    category: str | None = None
    price_cents: int | None = None


@dataclass(frozen=True, slots=True)
class SearchQuery:
    words: tuple[str, ...]
    """Folded query words (`text.query_words`), at most `MAX_QUERY_WORDS`."""
    category: str | None = None
    min_cents: int | None = None
    max_cents: int | None = None

    @property
    def has_filters(self) -> bool:
        return (
            self.category is not None
            or self.min_cents is not None
            or self.max_cents is not None
        )


@dataclass(frozen=True, slots=True)
class Hit:
    id: str
    key: int
    """The ranking key: lower ranks first (see `penalty`)."""


@dataclass(slots=True)
class SearchResult:
    hits: list[Hit]
    total: int
    expansions: list[list[Expansion]] = field(default_factory=list)
    """The terms each query word matched, for highlighting."""


class SearchIndex(Protocol):
    """The operations the search endpoint needs from an in-memory index of one type.

    The PostgreSQL search (`postgres.PostgresIndex`) has only `search`,
    because its tables are written in each write's transaction.
    """

    def load(self, documents: Iterable[Document]) -> int:
        """Add many documents at start-up; return how many were added."""

    def add(self, document: Document) -> None: ...

    def update(self, previous: Document, document: Document) -> None: ...

    def remove(self, document: Document) -> None: ...

    def search(self, query: SearchQuery, offset: int, limit: int) -> SearchResult:
        """Return the hits `offset` to `offset + limit` and the total."""

    def __len__(self) -> int: ...

    def __contains__(self, document_id: object) -> bool:
        """Tell whether a document with this id is indexed."""


def penalty(typos: int, field: int, kind: int) -> int:
    return typos << TYPO_SHIFT | field << FIELD_SHIFT | kind


Partition = list[tuple[int, BitMap]]
"""Disjoint document sets of one query word, each with its penalty, best first."""


class MemoryIndex:
    """An in-memory `SearchIndex` over `field_count` text fields."""

    def __init__(self, field_count: int) -> None:
        self.field_count = field_count
        self.vocabulary = Vocabulary()
        self._postings: list[dict[str, BitMap]] = [{} for _ in range(field_count)]
        self._categories: dict[str, BitMap] = {}
        self._prices = PriceIndex()
        self._live = BitMap()
        self._ids: list[str] = []
        self._ordinals: dict[str, int] = {}

    def __len__(self) -> int:
        return len(self._live)

    def load(self, documents: Iterable[Document]) -> int:
        added = 0
        chunk: list[Document] = []
        for document in documents:
            chunk.append(document)
            if len(chunk) == LOAD_CHUNK_DOCUMENTS:
                added += self._load_chunk(chunk)
                chunk = []
        added += self._load_chunk(chunk)
        for postings in self._postings:
            for bitmap in postings.values():
                bitmap.run_optimize()
                bitmap.shrink_to_fit()
        return added

    def _load_chunk(self, documents: Sequence[Document]) -> int:
        gathered: list[defaultdict[str, array.array[int]]] = [
            defaultdict(lambda: array.array("I")) for _ in range(self.field_count)
        ]
        priced: list[tuple[int, int]] = []
        added = 0
        for document in documents:
            if document.id in self._ordinals:
                continue
            added += 1
            ordinal = self._new_ordinal(document.id)
            for field_number, text in enumerate(document.texts):
                postings = gathered[field_number]
                for found in terms(text):
                    postings[found].append(ordinal)
            self._add_attributes(ordinal, document, prices=False)
            if document.price_cents is not None:
                priced.append((ordinal, document.price_cents))

        for field_number, postings in enumerate(gathered):
            for found, ordinals in postings.items():
                self._bitmap(field_number, found).update(ordinals)
        if priced:
            self._prices.load(priced)
        return added

    def __contains__(self, document_id: object) -> bool:
        return document_id in self._ordinals

    def add(self, document: Document) -> None:
        if document.id in self._ordinals:
            raise ValueError(f"document {document.id!r} is already indexed")
        ordinal = self._new_ordinal(document.id)
        self._add_postings(ordinal, document)
        self._add_attributes(ordinal, document)

    def update(self, previous: Document, document: Document) -> None:
        ordinal = self._ordinals.get(document.id)
        if ordinal is None:
            self.add(document)
            return
        self._remove_postings(ordinal, previous)
        self._remove_attributes(ordinal, previous)
        self._add_postings(ordinal, document)
        self._add_attributes(ordinal, document)

    def remove(self, document: Document) -> None:
        ordinal = self._ordinals.pop(document.id, None)
        if ordinal is None:
            return
        self._remove_postings(ordinal, document)
        self._remove_attributes(ordinal, document)
        self._live.discard(ordinal)
        self._ids[ordinal] = ""

    def _new_ordinal(self, document_id: str) -> int:
        ordinal = len(self._ids)
        self._ids.append(document_id)
        self._ordinals[document_id] = ordinal
        self._live.add(ordinal)
        return ordinal

    def _bitmap(self, field_number: int, found: str) -> BitMap:
        postings = self._postings[field_number]
        bitmap = postings.get(found)
        if bitmap is None:
            bitmap = postings[found] = BitMap()
            self.vocabulary.add(found)
        return bitmap

    def _add_postings(self, ordinal: int, document: Document) -> None:
        for field_number, text in enumerate(document.texts):
            for found in terms(text):
                self._bitmap(field_number, found).add(ordinal)

    def _remove_postings(self, ordinal: int, document: Document) -> None:
        for field_number, text in enumerate(document.texts):
            postings = self._postings[field_number]
            for found in terms(text):
                bitmap = postings.get(found)
                if bitmap is not None:
                    bitmap.discard(ordinal)

    def _add_attributes(
        self, ordinal: int, document: Document, *, prices: bool = True
    ) -> None:
        if document.category is not None:
            category = self._categories.setdefault(document.category, BitMap())
            category.add(ordinal)
        if prices and document.price_cents is not None:
            self._prices.add(ordinal, document.price_cents)

    def _remove_attributes(self, ordinal: int, document: Document) -> None:
        if document.category is not None:
            category = self._categories.get(document.category)
            if category is not None:
                category.discard(ordinal)
        if document.price_cents is not None:
            self._prices.remove(ordinal, document.price_cents)

    def document_frequency(self, found: str) -> int:
        return sum(len(postings.get(found, ())) for postings in self._postings)

    def search(self, query: SearchQuery, offset: int, limit: int) -> SearchResult:
        words = query.words[:MAX_QUERY_WORDS]
        expansions = [
            self.vocabulary.expand(word, last=index == len(words) - 1, index=self)
            for index, word in enumerate(words)
        ]
        partitions = [self._partition(expanded) for expanded in expansions]
        candidates = self._candidates(partitions, query)
        if not candidates:
            return SearchResult([], 0, expansions)

        if query.has_filters or len(candidates) < len(self._live):
            partitions = [
                [(cost, bitmap & candidates) for cost, bitmap in partition]
                for partition in partitions
            ]
        groups = _rank_groups(candidates, partitions)
        hits = self._page(groups, offset, limit)
        return SearchResult(hits, len(candidates), expansions)

    def _partition(self, expanded: list[Expansion]) -> Partition:
        classes: defaultdict[int, list[BitMap]] = defaultdict(list)
        for expansion in expanded:
            for field_number, postings in enumerate(self._postings):
                bitmap = postings.get(expansion.term)
                if bitmap:
                    cost = penalty(expansion.typos, field_number, expansion.kind)
                    classes[cost].append(bitmap)

        partition: Partition = []
        seen = BitMap()
        for cost in sorted(classes):
            bitmaps = classes[cost]
            matched = bitmaps[0] if len(bitmaps) == 1 else BitMap.union(*bitmaps)
            matched = matched - seen
            if matched:
                partition.append((cost, matched))
                seen |= matched
        return partition

    def _candidates(self, partitions: list[Partition], query: SearchQuery) -> BitMap:
        matched = [bitmap for partition in partitions for _, bitmap in partition]
        if not matched:
            return BitMap()
        candidates = BitMap.union(*matched) & self._live
        if query.category is not None:
            candidates &= self._categories.get(query.category, BitMap())
        if query.min_cents is not None or query.max_cents is not None:
            candidates = self._prices.between(
                candidates, query.min_cents, query.max_cents
            )
        return candidates

    def _page(
        self, groups: list[tuple[int, BitMap]], offset: int, limit: int
    ) -> list[Hit]:
        hits: list[Hit] = []
        for key, group in groups:
            size = len(group)
            if offset >= size:
                offset -= size
                continue
            end = size - offset
            start = max(0, end - (limit - len(hits)))
            for ordinal in reversed(group[start:end]):
                hits.append(Hit(self._ids[ordinal], key))
            offset = 0
            if len(hits) >= limit:
                break
        return hits


def _rank_groups(
    candidates: BitMap, partitions: list[Partition]
) -> list[tuple[int, BitMap]]:
    """Split `candidates` into groups of equal ranking key, best key first.

    Each query word splits every group by the word's match classes; groups
    that reach the same partial sum are merged, which keeps their number
    small.
    """
    groups: dict[int, BitMap] = {0: candidates}
    for partition in partitions:
        split: dict[int, BitMap] = {}
        for key, group in groups.items():
            rest = group
            for cost, matched in partition:
                if not rest:
                    break
                part = rest & matched
                if part:
                    _merge(split, key + cost, part)
                    rest = rest - part
            if rest:
                _merge(split, key + UNMATCHED, rest)
        groups = split
    return sorted(groups.items(), key=lambda item: item[0])


def _merge(groups: dict[int, BitMap], key: int, part: BitMap) -> None:
    existing = groups.get(key)
    if existing is None:
        groups[key] = part
    else:
        existing |= part
