import random

import pytest
from rapidfuzz.distance import OSA

from search_queries import KINDS, misspell, mixed_queries


@pytest.mark.parametrize("typos", [1, 2])
def test_misspell_stays_within_typos(typos: int) -> None:
    rng = random.Random(5)  # noqa: S311 - a seeded generator repeats the test

    for word in ("headphones", "mechanical", "bluetooth", "lighthouse"):
        for _ in range(50):
            typed = misspell(word, typos, rng)
            assert OSA.distance(word, typed) <= typos


def test_mixed_queries_are_interleaved_and_reproducible() -> None:
    queries = mixed_queries(4, seed=1)

    assert [query.kind for query in queries[: len(KINDS)]] == list(KINDS)
    assert len(queries) == 4 * len(KINDS)
    assert queries == mixed_queries(4, seed=1)
    assert queries != mixed_queries(4, seed=2)
    assert all(query.text.strip() for query in queries)


def test_mixed_query_kinds() -> None:
    queries = mixed_queries(20)

    for query in queries:
        words = query.text.split()
        if query.kind == "several words":
            assert 2 <= len(words) <= 3, query
        elif query.kind == "two typos":
            assert len(words) == 1, query
            assert len(words[0]) >= 7, query
        elif query.kind == "prefix":
            assert len(words[-1]) >= 3, query
