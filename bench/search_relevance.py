"""The server's relevance set, run against any `SearchEngine`.

The set is `server/tests/search/relevance.json`: a hand-written catalog, the
queries a person would type for it, and the items expected in the top 5.
Its catalog is the benchmark catalog of `distractors.count` products (same
seed) with the hand-written products and users added through the API.
"""

from __future__ import annotations

import asyncio
import json
import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from techcorp_server.app import build_services
from techcorp_server.demo.loader import DEMO_PASSWORD
from techcorp_server.products.schemas import ProductCreate
from techcorp_server.settings import Settings

from catalog import Catalog, prepare_catalog, server_env
from search_engines import SearchEngine

RELEVANCE_SET = (
    Path(__file__).resolve().parent.parent
    / "server"
    / "tests"
    / "search"
    / "relevance.json"
)
TOP_HITS = 5
LOADED_MARKER = "relevance-loaded"


@dataclass
class RelevanceScore:
    found: int = 0
    expected: int = 0
    misses: list[str] = field(default_factory=list)

    @property
    def share(self) -> float:
        return self.found / self.expected if self.expected else 0.0


def relevance_set() -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads(RELEVANCE_SET.read_text())
    return loaded


def score(engine: SearchEngine) -> RelevanceScore:
    """Count the expected items in the top hits of each query of the set."""
    result = RelevanceScore()
    for case in relevance_set()["queries"]:
        labels = engine.search(case["q"], type=case["type"], limit=TOP_HITS)
        found = sum(1 for expected in case["expected"] if expected in labels)
        result.found += found
        result.expected += len(case["expected"])
        if found < len(case["expected"]):
            result.misses.append(case["q"])
    return result


def prepare_relevance_catalog(*, rebuild: bool = False) -> Catalog:
    """Return a copy of the distractor catalog with the set's items added."""
    cases = relevance_set()
    base = prepare_catalog(cases["distractors"]["count"], rebuild=rebuild)
    folder = base.folder.parent / "catalog-relevance"
    if not rebuild and (folder / LOADED_MARKER).exists():
        return Catalog(folder, base.products, base.client_id, base.client_secret)

    shutil.rmtree(folder, ignore_errors=True)
    shutil.copytree(base.folder, folder)
    catalog = Catalog(folder, base.products, base.client_id, base.client_secret)
    _add_items(catalog, cases)
    (folder / LOADED_MARKER).write_text("")
    return catalog


def _add_items(catalog: Catalog, cases: dict[str, Any]) -> None:
    async def add() -> None:
        env = server_env(catalog.folder)
        settings = Settings(database_url=env["TECHCORP_DATABASE_URL"])
        services = build_services(settings)
        try:
            for product in cases["products"]:
                await services.catalog.create(ProductCreate.model_validate(product))
            for email in cases["users"]:
                await services.users.create(
                    email=email, password=DEMO_PASSWORD, role="member"
                )
        finally:
            await services.stop()

    asyncio.run(add())
