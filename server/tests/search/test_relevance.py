"""The relevance set: expected items in the top 5 hits of realistic queries.

`relevance.json` contains a hand-written catalog, the queries a person would
type for its items (exact words, one and two typos, prefixes, several words,
plurals, accents and email addresses), and the items expected in the top 5.
A generated catalog of distractors is loaded first, so the expected items
compete with thousands of others.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from asgi_lifespan import LifespanManager

from techcorp_server.app import create_app
from techcorp_server.core.db import Database
from techcorp_server.core.migrate import upgrade_to_head
from techcorp_server.demo.catalog import generate_products
from techcorp_server.demo.loader import load_products

from ..conftest import app_settings
from ..utils.api import bearer, client_token
from .helpers import SEARCH_URL

RELEVANCE_SET = Path(__file__).with_name("relevance.json")
TOP_HITS = 5
REQUIRED_SHARE = 0.95


def relevance_set() -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads(RELEVANCE_SET.read_text())
    return loaded


async def load_catalog(api: httpx.AsyncClient, cases: dict[str, Any]) -> str:
    token = await client_token(api)
    for product in cases["products"]:
        response = await api.post("/v2/products", json=product, headers=bearer(token))
        assert response.status_code == 201, response.text
    for email in cases["users"]:
        user = {"email": email, "password": "SecurePassword123!", "role": "member"}
        response = await api.post("/v2/users", json=user, headers=bearer(token))
        assert response.status_code == 201, response.text
    return token


@pytest.fixture(scope="module")
async def relevance_api(
    tmp_path_factory: pytest.TempPathFactory,
) -> AsyncIterator[httpx.AsyncClient]:
    """The app in-process on the distractors, which it indexes at start-up."""
    settings = app_settings(tmp_path_factory.mktemp("relevance"))
    distractors = relevance_set()["distractors"]
    database = Database(settings.database_url)
    await upgrade_to_head(database)
    await load_products(
        database, generate_products(distractors["count"], distractors["seed"])
    )
    await database.dispose()

    app = create_app(settings)
    async with LifespanManager(app) as manager:
        transport = httpx.ASGITransport(app=manager.app, client=("127.0.0.1", 50002))
        async with httpx.AsyncClient(
            transport=transport, base_url="http://testserver"
        ) as client:
            yield client


def expected_found(hits: list[dict[str, Any]], expected: list[str]) -> int:
    labels = {hit["item"].get("name") or hit["item"]["email"] for hit in hits}
    return sum(1 for label in expected if label in labels)


async def test_relevance_set(relevance_api: httpx.AsyncClient) -> None:
    cases = relevance_set()
    token = await load_catalog(relevance_api, cases)

    found = expected = 0
    misses = []
    for case in cases["queries"]:
        response = await relevance_api.get(
            SEARCH_URL,
            params={"q": case["q"], "type": case["type"], "limit": TOP_HITS},
            headers=bearer(token),
        )
        assert response.status_code == 200, response.text
        hits = response.json()["data"]
        found_here = expected_found(hits, case["expected"])
        found += found_here
        expected += len(case["expected"])
        if found_here < len(case["expected"]):
            misses.append((case["q"], [hit["item"].get("name") for hit in hits]))

    assert expected >= 80
    assert found / expected >= REQUIRED_SHARE, f"{found} of {expected}: {misses}"
