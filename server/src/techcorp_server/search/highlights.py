"""The spans of an item's fields that matched the query words."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from .expansion import Expansion
from .text import spans


@dataclass(frozen=True, slots=True)
class Matcher:
    """The terms a query matched, and the prefix its last word may begin."""

    terms: frozenset[str]
    prefix: str | None

    @classmethod
    def of(cls, words: Sequence[str], expansions: list[list[Expansion]]) -> Matcher:
        found = frozenset(
            expansion.term for expanded in expansions for expansion in expanded
        )
        return cls(found, words[-1] if words else None)


def highlights(
    item: Mapping[str, Any], fields: Sequence[str], matcher: Matcher
) -> list[dict[str, Any]]:
    """Return `{"field", "spans"}` for each field of `item` with a match."""
    found = []
    for field in fields:
        text = item.get(field)
        if not text:
            continue
        terms, prefix = matcher.terms, matcher.prefix
        matched = [
            (start, end)
            for term, start, end in spans(text)
            if term in terms or (prefix is not None and term.startswith(prefix))
        ]
        if matched:
            found.append({"field": field, "spans": _merge_overlaps(matched)})
    return found


def _merge_overlaps(spans: list[tuple[int, int]]) -> list[tuple[int, int]]:
    # A joined compound (`Wi-Fi`) overlaps the words it is made of.
    merged: list[tuple[int, int]] = []
    for start, end in sorted(spans):
        if merged and start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(end, merged[-1][1]))
        else:
            merged.append((start, end))
    return merged
