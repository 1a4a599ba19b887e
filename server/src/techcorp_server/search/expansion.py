"""Query words expanded into the terms of the vocabulary they match.

A word matches its own term exactly, the terms it begins when it is the
last word of the query (search as you type), and, when it is long enough,
the terms one or two typos away. Typos are counted as optimal string
alignment distance: an insertion, deletion, substitution or swap of two
neighbouring letters is one typo, so `keybaord` is one typo from `keyboard`.

Typo candidates come from a scan of the vocabulary terms of nearby length
with rapidfuzz 3.14. On a 2-CPU AMD EPYC machine one 9-letter word took
3.7 ms against 50,000 random terms of 3 to 12 letters, and the demo
catalog, whose vocabulary is 1,243 terms, costs well under a millisecond.
A deletion neighbourhood (SymSpell) would find candidates without a scan,
but stores up to 45 deletion variants of each 9-letter term. Expansions are
cached until the vocabulary gains a term.
"""

from __future__ import annotations

import bisect
from dataclasses import dataclass
from typing import Protocol

from rapidfuzz import process
from rapidfuzz.distance import OSA

from .text import singular

EXACT, PREFIX, FUZZY = 0, 1, 2
"""Kinds of match, best first."""

ONE_TYPO_LENGTH = 5
TWO_TYPOS_LENGTH = 9
"""Shortest query words that may have one and two typos."""

MAX_PREFIX_TERMS = 30
"""Terms a prefix expands to; the most frequent are kept."""

MAX_PREFIX_SCAN = 2_000
"""Vocabulary terms looked at for one prefix, so `a` costs no more than `ab`."""

MAX_TYPO_TERMS = 20
"""Terms a word with typos expands to; the closest are kept."""

CACHE_ENTRIES = 4_096
"""Expanded words kept until the vocabulary changes."""


@dataclass(frozen=True, slots=True)
class Expansion:
    term: str
    typos: int
    kind: int


class FrequencySource(Protocol):
    def document_frequency(self, term: str) -> int: ...


def allowed_typos(word: str) -> int:
    if len(word) >= TWO_TYPOS_LENGTH:
        return 2
    if len(word) >= ONE_TYPO_LENGTH:
        return 1
    return 0


class Vocabulary:
    """Every term of an index: sorted for prefixes, by length for typos."""

    def __init__(self) -> None:
        self._terms: set[str] = set()
        self._sorted: list[str] = []
        self._by_length: dict[int, list[str]] = {}
        self._cache: dict[tuple[str, bool], list[Expansion]] = {}

    def __len__(self) -> int:
        return len(self._terms)

    def __contains__(self, term: object) -> bool:
        return term in self._terms

    def add(self, term: str) -> None:
        if term in self._terms:
            return
        self._terms.add(term)
        bisect.insort(self._sorted, term)
        self._by_length.setdefault(len(term), []).append(term)
        self._cache.clear()

    def expand(
        self, word: str, *, last: bool, index: FrequencySource
    ) -> list[Expansion]:
        """Return the terms `word` matches, exact first, then prefixes, then typos."""
        key = (word, last)
        cached = self._cache.get(key)
        if cached is not None:
            return cached

        term = singular(word)
        expanded = [Expansion(term, 0, EXACT)] if term in self._terms else []
        if last:
            expanded += self._prefixes(word, term, index)
        expanded += self._typos(word, term)

        if len(self._cache) >= CACHE_ENTRIES:
            self._cache.clear()
        self._cache[key] = expanded
        return expanded

    def _prefixes(
        self, word: str, term: str, index: FrequencySource
    ) -> list[Expansion]:
        start = bisect.bisect_left(self._sorted, word)
        found: list[str] = []
        for candidate in self._sorted[start : start + MAX_PREFIX_SCAN]:
            if not candidate.startswith(word):
                break
            if candidate != term:
                found.append(candidate)
        if len(found) > MAX_PREFIX_TERMS:
            found.sort(key=index.document_frequency, reverse=True)
            del found[MAX_PREFIX_TERMS:]
        return [Expansion(candidate, 0, PREFIX) for candidate in found]

    def _typos(self, word: str, term: str) -> list[Expansion]:
        # NOTE: the scan grows with the vocabulary. A catalog of a few
        # hundred thousand distinct terms would spend tens of milliseconds
        # here on each misspelt word the cache does not hold.
        typos = allowed_typos(word)
        if typos == 0:
            return []
        # A misspelt plural may lose a letter to `singular` (`wireles` gives
        # `wirele`), so the word is compared as typed and as a singular.
        distances: dict[str, int] = {}
        for typed in {word, term}:
            for found, distance in self._nearby(typed, typos):
                if found != term and distance < distances.get(found, typos + 1):
                    distances[found] = distance
        nearest = sorted(distances.items(), key=lambda item: (item[1], item[0]))
        return [
            Expansion(found, distance, FUZZY)
            for found, distance in nearest[:MAX_TYPO_TERMS]
        ]

    def _nearby(self, typed: str, typos: int) -> list[tuple[str, int]]:
        nearby: list[tuple[str, int]] = []
        for length in range(len(typed) - typos, len(typed) + typos + 1):
            bucket = self._by_length.get(length)
            if not bucket:
                continue
            matches = process.extract(
                typed, bucket, scorer=OSA.distance, score_cutoff=typos, limit=None
            )
            nearby += [(found, int(distance)) for found, distance, _ in matches]
        return nearby
