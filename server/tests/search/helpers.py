"""Helpers shared by the search tests."""

from __future__ import annotations

import secrets
import string
from typing import Any

import httpx

from ..utils.api import bearer

SEARCH_URL = "/v2/search"


def unique_word(length: int = 10) -> str:
    """Return a random lower-case word that no other test searches for.

    Random letters are far more than two typos from each other, so the
    words of different tests never match one another. No letter repeats
    the one before it, so swapping two neighbours is always a typo.
    """
    letters = [secrets.choice(string.ascii_lowercase)]
    while len(letters) < length:
        letter = secrets.choice(string.ascii_lowercase)
        if letter != letters[-1]:
            letters.append(letter)
    return "".join(letters)


async def search(
    api: httpx.AsyncClient, token: str, q: str, **params: object
) -> dict[str, Any]:
    response = await api.get(
        SEARCH_URL, params={"q": q, **params}, headers=bearer(token)
    )
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def hit_ids(body: dict[str, Any]) -> list[str]:
    return [hit["item"]["id"] for hit in body["data"]]
