"""Words of a text as the search index stores them, and where they occur.

A term is a word after case folding (`str.casefold`), accent removal
(NFKD, combining marks dropped), removal of apostrophes (`children's` is
`childrens`) and a plural-to-singular step for English (`batteries` is
`battery`, `boxes` is `box`, `headphones` is `headphone`). Documents and
queries go through the same steps, so `Café`, `cafe` and `CAFES` are one term.

Words joined by a hyphen, a dot or a plus sign are indexed each on its own
and also joined: `Wi-Fi` gives `wi`, `fi` and `wifi`, and the email local
part `christine.king` gives `christine`, `king` and `christineking`.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterator
from functools import lru_cache

MAX_TERM_LENGTH = 40
"""Characters of a term; longer words are cut, in documents and queries alike."""

MIN_STEM_LENGTH = 4
"""Words shorter than this keep a final `s` (`gas`, `bus`, `its`)."""

_APOSTROPHES = "'\u2019"
"""The typewriter apostrophe and the right single quotation mark."""

# Texts have their underscores replaced by spaces first, because `\w+` is
# faster than `[^\W_]+`.
_WORD = re.compile(rf"\w+(?:[{_APOSTROPHES}]\w+)*")
_COMPOUND = re.compile(r"\w+(?:[-.+]\w+)+")
_KEEP_FINAL_S = ("ss", "us", "is")
_SIBILANT_PLURALS = ("sses", "xes", "ches", "shes", "zes")


@lru_cache(maxsize=65_536)
def fold(word: str) -> str:
    """Return `word` case-folded, without accents or apostrophes, and cut."""
    folded = word.casefold()
    if not folded.isascii():
        decomposed = unicodedata.normalize("NFKD", folded)
        folded = "".join(char for char in decomposed if not unicodedata.combining(char))
    for apostrophe in _APOSTROPHES:
        folded = folded.replace(apostrophe, "")
    return folded[:MAX_TERM_LENGTH]


@lru_cache(maxsize=65_536)
def singular(folded: str) -> str:
    """Return the singular of an English plural, or `folded` unchanged."""
    if len(folded) < MIN_STEM_LENGTH or not folded.endswith("s"):
        return folded
    if folded.endswith("ies") and len(folded) > MIN_STEM_LENGTH:
        return folded[:-3] + "y"
    if folded.endswith(_SIBILANT_PLURALS):
        return folded[:-2]
    if folded.endswith(_KEEP_FINAL_S):
        return folded
    return folded[:-1]


@lru_cache(maxsize=65_536)
def term(word: str) -> str:
    """Return the term a single word is indexed and searched under."""
    return singular(fold(word))


def terms(text: str) -> set[str]:
    """Return the distinct terms of `text`, joined compounds included."""
    text = _prepare(text)
    found = set(map(term, _WORD.findall(text)))
    if "-" in text or "." in text or "+" in text:
        for compound in _COMPOUND.findall(text):
            found.add(term(_join(compound)))
    found.discard("")
    return found


def query_words(text: str) -> list[str]:
    """Return the folded words of a query, in order, without repeats.

    The words keep their plural, because the last one is also matched as
    a prefix of longer terms; `term` gives the singular.
    """
    words: list[str] = []
    for word in _WORD.findall(_prepare(text)):
        folded = fold(word)
        if folded and folded not in words:
            words.append(folded)
    return words


def spans(text: str) -> Iterator[tuple[str, int, int]]:
    """Yield (term, start, end) for each word and joined compound of `text`.

    Spans count code points of `text` in NFC form, which a text already in
    NFC (as most stored text is) keeps unchanged.
    """
    text = _prepare(text)
    for match in _WORD.finditer(text):
        yield term(match.group()), match.start(), match.end()
    if "-" in text or "." in text or "+" in text:
        for match in _COMPOUND.finditer(text):
            yield term(_join(match.group())), match.start(), match.end()


def _prepare(text: str) -> str:
    # A decomposed accent is not a word character, so NFC keeps `café` one
    # word. Underscores become spaces of the same length, so spans stay.
    if not text.isascii() and not unicodedata.is_normalized("NFC", text):
        text = unicodedata.normalize("NFC", text)
    return text.replace("_", " ")


def _join(compound: str) -> str:
    return compound.replace("-", "").replace(".", "").replace("+", "")
