"""The mixed query set of the search benchmark, drawn from the demo catalog.

Every catalog built with the same seed starts with the same products, so the
words come from the first `SOURCE_PRODUCTS` products and every query finds
something at any catalog size. Typos are random edits (substitution,
deletion, insertion or swap of neighbours), made only in words long enough
to allow them: one from 5 letters, two from 9.
"""

from __future__ import annotations

import random
import re
from dataclasses import dataclass

from techcorp_server.demo.catalog import generate_products

SOURCE_PRODUCTS = 1_000
KINDS = ("exact", "one typo", "two typos", "prefix", "several words")
_LETTERS = "abcdefghijklmnopqrstuvwxyz"
_WORD = re.compile(r"[A-Za-z]+")


@dataclass(frozen=True)
class Query:
    kind: str
    text: str


def catalog_words(seed: int) -> tuple[list[list[str]], list[str]]:
    """Return the words of each name, and every word of names and descriptions."""
    names: list[list[str]] = []
    words: set[str] = set()
    for product in generate_products(SOURCE_PRODUCTS, seed):
        name_words = [word.lower() for word in _WORD.findall(product["name"])]
        names.append(name_words)
        words.update(name_words)
        words.update(word.lower() for word in _WORD.findall(product["description"]))
    return names, sorted(words)


def misspell(word: str, typos: int, rng: random.Random) -> str:
    """Apply `typos` random edits, each at a different position of `word`."""
    positions = sorted(rng.sample(range(1, len(word) - 1), typos), reverse=True)
    for position in positions:
        edit = rng.choice(("substitute", "delete", "insert", "swap"))
        if edit == "substitute":
            letter = rng.choice(_LETTERS.replace(word[position], ""))
            word = word[:position] + letter + word[position + 1 :]
        elif edit == "delete":
            word = word[:position] + word[position + 1 :]
        elif edit == "insert":
            word = word[:position] + rng.choice(_LETTERS) + word[position:]
        else:
            word = (
                word[: position - 1]
                + word[position]
                + word[position - 1]
                + word[position + 1 :]
            )
    return word


def mixed_queries(per_kind: int, seed: int = 0) -> list[Query]:
    """Return `per_kind` queries of each kind in `KINDS`, interleaved."""
    # Not for security: a seeded generator makes the query set reproducible.
    rng = random.Random(seed)  # noqa: S311
    names, words = catalog_words(seed)
    long_words = [word for word in words if len(word) >= 5]
    longer_words = [word for word in words if len(word) >= 9]

    def several_words() -> str:
        name = rng.choice([name for name in names if len(name) >= 3])
        return " ".join(rng.sample(name, rng.choice((2, 3))))

    def prefix() -> str:
        name = rng.choice(names)
        last = rng.choice([word for word in name if len(word) >= 4])
        typed = last[: rng.randint(3, len(last) - 1)]
        return typed if rng.random() < 0.5 else f"{name[0]} {typed}"

    makers = {
        "exact": lambda: rng.choice(rng.choice(names)),
        "one typo": lambda: misspell(rng.choice(long_words), 1, rng),
        "two typos": lambda: misspell(rng.choice(longer_words), 2, rng),
        "prefix": prefix,
        "several words": several_words,
    }
    return [Query(kind, makers[kind]()) for _ in range(per_kind) for kind in KINDS]
