"""The search benchmark's pieces, and one short run against a real server."""

import asyncio
import math
import os
import sqlite3
from collections.abc import Iterator
from pathlib import Path

import pytest

import catalog
import search_latency
from search_engines import TechcorpSearch, product_documents
from search_latency import (
    EngineRun,
    SizeRun,
    parse_args,
    percentile,
    render_section,
    rss_mib,
    running_techcorp,
    time_queries,
)
from search_queries import mixed_queries
from search_relevance import RelevanceScore, relevance_set, score
from search_writes import WriteCost, measure_index_writes, measure_product_posts
from servers import ServerError

PRODUCTS = 300


@pytest.fixture(scope="module")
def small_catalog(
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[catalog.Catalog]:
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(catalog, "RESULTS", tmp_path_factory.mktemp("results"))
        yield catalog.prepare_catalog(PRODUCTS)


def product_count(database: Path) -> int:
    connection = sqlite3.connect(database)
    try:
        count: int = connection.execute("SELECT count(*) FROM products").fetchone()[0]
    finally:
        connection.close()
    return count


def test_percentile_is_nearest_rank() -> None:
    samples = [float(value) for value in range(1, 101)]

    assert percentile(samples, 50) == 50.0
    assert percentile(samples, 99) == 99.0
    assert percentile([3.0, 1.0, 2.0], 99) == 3.0


def test_rss_counts_this_process() -> None:
    assert rss_mib(os.getpid()) > 1


def test_server_run(small_catalog: catalog.Catalog, tmp_path: Path) -> None:
    queries = mixed_queries(2)

    with running_techcorp(small_catalog, tmp_path / "server.log") as (
        engine,
        pid,
        build_seconds,
    ):
        first_pass, latencies = time_queries(engine, queries, rounds=2)
        memory = rss_mib(pid)
        post_ms = measure_product_posts(engine.client, engine.headers, 3)
        labels = engine.search(queries[0].text)
        with pytest.raises(ServerError, match="unauthorized"):
            TechcorpSearch(engine.client, "not-a-token").search("widget")

    assert len(first_pass) == len(queries)
    assert len(latencies) == 2 * len(queries)
    assert all(latency > 0 for latency in latencies)
    assert 0 <= build_seconds < 60
    assert memory > 20
    assert post_ms > 0
    assert labels
    assert product_count(small_catalog.folder / "techcorp.db") == PRODUCTS


def test_index_writes(small_catalog: catalog.Catalog) -> None:
    cost = asyncio.run(measure_index_writes(small_catalog, 4, ["lamp", "mug"], 2))

    assert len(cost.created_ms) == 4
    assert len(cost.updated_ms) == 4
    assert len(cost.deleted_ms) == 4
    assert len(cost.search_ms) == 4
    assert cost.build_seconds > 0


def test_product_documents(small_catalog: catalog.Catalog) -> None:
    batches = list(product_documents(small_catalog.folder / "techcorp.db"))

    documents = [document for batch in batches for document in batch]
    assert len(documents) == PRODUCTS
    assert set(documents[0]) == {"id", "name", "category", "description", "price"}
    assert isinstance(documents[0]["price"], float)


class FixedEngine:
    """An engine that returns the first expected item of every other query."""

    name = "fixed"

    def __init__(self) -> None:
        self.calls = 0

    def search(self, q: str, *, type: str = "product", limit: int = 20) -> list[str]:
        self.calls += 1
        case = next(case for case in relevance_set()["queries"] if case["q"] == q)
        return case["expected"][:1] if self.calls % 2 else []


def test_relevance_score_counts_top_hits() -> None:
    result = score(FixedEngine())

    expected = sum(len(case["expected"]) for case in relevance_set()["queries"])
    assert result.expected == expected
    assert result.found == math.ceil(len(relevance_set()["queries"]) / 2)
    assert len(result.misses) == expected - result.found


def test_render_section() -> None:
    args = parse_args(["--sizes=1000", "--per-kind=2", "--rounds=1", "--writes=3"])
    run = SizeRun(1000)
    run.engines = [
        EngineRun("TechCorp server", 1000, [1.0, 2.0, 4.0], 0.5, 200.0, [3.0]),
        EngineRun("Typesense", 1000, [2.0, 4.0, 8.0], 1.5, 100.0, [5.0]),
    ]
    run.writes = WriteCost(0.5, [0.1, 0.2], [0.3], [0.4], [0.05], post_ms=2.0)
    relevance = [("TechCorp server", RelevanceScore(9, 10, ["wirless"]))]

    section = render_section([run], relevance, args, [("CPU model", "Test CPU")])

    assert section.startswith("## Search\n")
    assert "### Latency and memory against Typesense" in section
    assert "--sizes=1000 --per-kind=2 --rounds=1 --writes=3`" in section
    row = "| TechCorp server | 2.00 | 4.00 | 0.50 | 3.00 | 3.00 | 0.5 | 200 | 2.00 |"
    assert f"| 1,000 {row}" in section
    assert "| 1,000 | 0.5 | 0.05 | 0.05 | 0.15 | 0.20 | 0.30 | 0.40 | 2.00 |" in section
    assert "| TechCorp server | 9 | 10 | 90.0% | `wirless` |" in section
    assert "| CPU model | Test CPU |" in section


def test_parse_args_rejects_bad_sizes() -> None:
    with pytest.raises(SystemExit):
        parse_args(["--sizes=0"])
    assert parse_args([]).sizes == [100_000, 1_000_000]
    assert search_latency.SECTION == "search"


def test_backends_option() -> None:
    args = parse_args(["--sizes=1000", "--backends=memory,postgresql"])

    assert args.backends == ["memory", "postgresql"]
    assert "--backends=memory,postgresql" in search_latency.command_line(args)
    assert "--backends" not in search_latency.command_line(parse_args([]))
    for wrong in ("postgresql", "memory,sqlite", ""):
        with pytest.raises(SystemExit):
            parse_args([f"--backends={wrong}"])
