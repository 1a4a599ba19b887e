"""The in-memory index on its own: ranking against a brute-force reference."""

from __future__ import annotations

import random

import pytest
from pyroaring import BitMap
from rapidfuzz.distance import OSA

from techcorp_server.search.expansion import allowed_typos
from techcorp_server.search.index import (
    UNMATCHED,
    Document,
    MemoryIndex,
    SearchQuery,
    penalty,
)
from techcorp_server.search.prices import PriceIndex
from techcorp_server.search.service import hit_score
from techcorp_server.search.text import (
    query_words,
    singular,
    spans,
    terms,
)

WORDS = [
    "lamp",
    "lamps",
    "table",
    "chair",
    "chairs",
    "wireless",
    "wirless",
    "keyboard",
    "keyboards",
    "mouse",
    "house",
    "horse",
    "harbor",
    "harbour",
    "lighthouse",
    "light",
    "lightning",
    "cable",
    "cables",
    "charger",
    "charge",
    "speaker",
    "speakers",
    "bluetooth",
    "headphones",
    "headphone",
]


def reference_key(document: Document, words: list[str]) -> int | None:
    """Rank a document by reading every term of it, as the index must."""
    total = 0
    matched = False
    for position, word in enumerate(words):
        last = position == len(words) - 1
        best = UNMATCHED
        for field, text in enumerate(document.texts):
            for found in terms(text):
                if found == singular(word):
                    cost = penalty(0, field, 0)
                elif last and found.startswith(word):
                    cost = penalty(0, field, 1)
                else:
                    distance = min(
                        OSA.distance(word, found), OSA.distance(singular(word), found)
                    )
                    if not 0 < distance <= allowed_typos(word):
                        continue
                    cost = penalty(distance, field, 2)
                best = min(best, cost)
        matched = matched or best < UNMATCHED
        total += best
    return total if matched else None


def random_documents(rng: random.Random, count: int) -> list[Document]:
    def text(size: int) -> str:
        return " ".join(rng.choice(WORDS) for _ in range(size))

    return [
        Document(f"prd_{number:08d}", (text(2), text(1), text(5)))
        for number in range(count)
    ]


@pytest.mark.parametrize("seed", range(5))
def test_ranking_matches_reference(seed: int) -> None:
    rng = random.Random(seed)
    documents = random_documents(rng, 300)
    index = MemoryIndex(3)
    index.load(documents)

    for _ in range(40):
        words = query_words(" ".join(rng.sample(WORDS, rng.randint(1, 3))))
        expected = sorted(
            (
                (key, -number, document.id)
                for number, document in enumerate(documents)
                if (key := reference_key(document, words)) is not None
            ),
        )
        result = index.search(SearchQuery(tuple(words)), 0, 25)

        assert result.total == len(expected), words
        assert [(hit.key, hit.id) for hit in result.hits] == [
            (key, document_id) for key, _, document_id in expected[:25]
        ], words


def test_pages_cover_every_hit_once() -> None:
    documents = random_documents(random.Random(7), 200)
    index = MemoryIndex(3)
    index.load(documents)
    query = SearchQuery(("lamp", "cable"))

    everything = index.search(query, 0, 1000).hits
    paged = [
        hit
        for offset in range(0, 200, 7)
        for hit in index.search(query, offset, 7).hits
    ]

    assert paged == everything
    assert len(everything) == index.search(query, 0, 1).total


def test_update_and_remove() -> None:
    index = MemoryIndex(3)
    lamp = Document("prd_1", ("Brass Lamp", "home", ""), "home", 1999)
    index.add(lamp)
    index.add(Document("prd_2", ("Oak Table", "home", ""), "home", 5000))

    renamed = Document("prd_1", ("Brass Candle", "decor", ""), "decor", 999)
    index.update(lamp, renamed)

    assert index.search(SearchQuery(("lamp",)), 0, 10).total == 0
    assert [hit.id for hit in index.search(SearchQuery(("candle",)), 0, 10).hits] == [
        "prd_1"
    ]
    assert index.search(SearchQuery(("candle",), category="home"), 0, 10).total == 0
    assert index.search(SearchQuery(("candle",), max_cents=998), 0, 10).total == 0
    assert index.search(SearchQuery(("candle",), category="decor"), 0, 10).total == 1

    index.remove(renamed)
    assert index.search(SearchQuery(("candle",)), 0, 10).total == 0
    assert len(index) == 1
    with pytest.raises(ValueError, match="already indexed"):
        index.add(Document("prd_2", ("Oak Table",)))


def test_price_ranges_match_brute_force() -> None:
    rng = random.Random(3)
    prices = [
        rng.choice([0, 1, 99, 100, 12_345, 2**33, 9_999_999_999]) for _ in range(500)
    ]
    prices += [rng.randrange(0, 10**6) for _ in range(500)]
    index = PriceIndex()
    index.load(list(enumerate(prices)))
    everyone = BitMap(range(len(prices)))
    bounds = [None, 0, 1, 99, 100, 12_345, 500_000, 2**33, 9_999_999_999]

    for minimum in bounds:
        for maximum in bounds:
            expected = {
                ordinal
                for ordinal, cents in enumerate(prices)
                if (minimum is None or cents >= minimum)
                and (maximum is None or cents <= maximum)
            }
            assert set(index.between(everyone, minimum, maximum)) == expected


def test_price_index_remove() -> None:
    index = PriceIndex()
    index.add(1, 500)
    index.add(2, 700)
    index.remove(1, 500)

    assert set(index.between(BitMap([1, 2]), 400, 800)) == {2}


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Café CAFÉS cafe\u0301", {"cafe"}),
        ("Batteries boxes watches glasses", {"battery", "box", "watch", "glass"}),
        ("bus gas its status analysis", {"bus", "gas", "its", "status", "analysis"}),
        ("Wi-Fi USB-C", {"wi", "fi", "wifi", "usb", "c", "usbc"}),
        ("children's O\u2019Brien", {"children", "obrien"}),
        ("100% cotton_shirt [L]", {"100", "cotton", "shirt", "l"}),
        ("", set()),
    ],
)
def test_terms(text: str, expected: set[str]) -> None:
    assert terms(text) == expected


def test_query_words_keep_plurals_and_drop_repeats() -> None:
    assert query_words("Lamps, LAMPS & Ünïcode  lamps") == ["lamps", "unicode"]


def test_spans() -> None:
    text = "Wi-Fi Router_Max"

    found = {(term, text[start:end]) for term, start, end in spans(text)}

    assert found == {
        ("wi", "Wi"),
        ("fi", "Fi"),
        ("wifi", "Wi-Fi"),
        ("router", "Router"),
        ("max", "Max"),
    }


def test_scores_order_like_keys() -> None:
    rng = random.Random(11)
    words = 3
    keys = [
        sum(
            UNMATCHED
            if rng.random() < 0.2
            else penalty(rng.randint(0, 2), rng.randint(0, 2), rng.randint(0, 2))
            for _ in range(words)
        )
        for _ in range(500)
    ]

    scores = [hit_score(key, words) for key in sorted(keys)]

    assert scores == sorted(scores, reverse=True)
    assert hit_score(0, words) == 1.0
    assert hit_score(penalty(0, 0, 1), 1) < 1.0
    assert hit_score(UNMATCHED, 2) == 0.5
