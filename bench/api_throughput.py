"""Measure the API's request rate against a bare ASGI app on the same server.

Run from the repository root, for example:

    .venv/bin/python bench/api_throughput.py --products 100000 --duration 10

Every server listens on 127.0.0.1 and shares the machine's CPUs with wrk,
which runs one thread. The script builds or reuses a SQLite catalog of
`--products` products under bench/results/. It starts the bare app and two
API servers, one with the list cache on and one with it off, and measures
each scenario `--rounds` times. Then it prints the medians and rewrites the
API throughput section of docs/benchmarks.md. Server logs and raw results go
to bench/results/runs/.
"""

from __future__ import annotations

import argparse
import json
import shlex
import sqlite3
import sys
from contextlib import ExitStack
from dataclasses import asdict
from datetime import UTC, datetime
from pathlib import Path

import report
import scenarios
from catalog import (
    DEMO_SEED,
    RATE_LIMIT_PER_MINUTE,
    Catalog,
    CatalogError,
    plain_env,
    prepare_catalog,
    server_env,
)
from sample_page import DEFAULT_TOTAL
from scenarios import Request, Scenario, ScenarioError, ScenarioRuns
from servers import HOST, ServerError, free_port, running_server
from wrk_runner import WrkError, WrkResult, ensure_wrk, run_wrk, wrk_version

BENCH = Path(__file__).resolve().parent
RUNS = BENCH / "results" / "runs"
VENV_BIN = Path(sys.executable).parent
SECTION = "api-throughput"

WARMUP_SECONDS = 1.0
WRK_TIMEOUT_SECONDS = 10.0


def bare_command(port: int) -> list[str]:
    """Serve bare_app.py with the granian options `techcorp-server serve` uses.

    Keep these in step with `run_granian` in techcorp_server/supervisor.py.
    """
    return [
        str(VENV_BIN / "granian"),
        "--interface=asgi",
        f"--host={HOST}",
        f"--port={port}",
        "--workers=1",
        "--loop=uvloop",
        "--no-access-log",
        "--log-level=warning",
        f"--working-dir={BENCH}",
        "bare_app:app",
    ]


def api_command(port: int) -> list[str]:
    return [
        str(VENV_BIN / "techcorp-server"),
        "serve",
        f"--host={HOST}",
        f"--port={port}",
    ]


def start_bare(stack: ExitStack, log_dir: Path, page_file: Path | None) -> str:
    """Start the bare app and return its URL. It serves `page_file` if given."""
    port = free_port()
    url = f"http://{HOST}:{port}"
    env = plain_env(BENCH_PAGE_FILE=str(page_file)) if page_file else plain_env()
    stack.enter_context(
        running_server(
            bare_command(port),
            env=env,
            ready_url=url + "/",
            log_path=log_dir / "bare.log",
        )
    )
    return url


def start_api(
    stack: ExitStack,
    catalog: Catalog,
    log_dir: Path,
    name: str,
    cache_entries: int | None,
    log_level: str = "warning",
) -> str:
    port = free_port()
    url = f"http://{HOST}:{port}"
    stack.enter_context(
        running_server(
            api_command(port),
            env=server_env(
                catalog.folder, list_cache_entries=cache_entries, log_level=log_level
            ),
            ready_url=url + "/healthz",
            log_path=log_dir / f"{name}.log",
        )
    )
    return url


def start_servers(
    stack: ExitStack, catalog: Catalog, log_dir: Path
) -> dict[str, Request]:
    """Start the API servers and the bare app, and build each scenario's request.

    The API servers start one after the other because each one migrates the
    shared database when it starts.
    """
    urls = {
        "api": start_api(stack, catalog, log_dir, "api", None),
        "api-uncached": start_api(stack, catalog, log_dir, "api-uncached", 0),
        "api-logged": start_api(
            stack, catalog, log_dir, "api-logged", None, log_level="info"
        ),
    }
    token = scenarios.fetch_token(urls["api"], catalog)

    page_file = log_dir / "first-page.json"
    page_file.write_bytes(scenarios.first_page(urls["api"], token))
    urls["bare"] = start_bare(stack, log_dir, page_file)

    return {
        scenario.name: scenarios.build_request(scenario, urls, token, catalog)
        for scenario in scenarios.SCENARIOS
    }


def run_once(
    wrk: str, request: Request, duration_seconds: float, args: argparse.Namespace
) -> WrkResult:
    """Run wrk once and fail on any socket error, timeout or non-2xx response."""
    result = run_wrk(
        wrk,
        request.url,
        duration_seconds=duration_seconds,
        connections=args.connections,
        timeout_seconds=WRK_TIMEOUT_SECONDS,
        headers=request.headers,
        json_body=request.json_body,
        random_pages=request.random_pages,
    )
    if result.error_count:
        raise WrkError(
            f"wrk counted errors {result.errors} in {result.requests} requests "
            f"to {request.url}. 'status' counts responses that are not 2xx or 3xx."
        )
    return result


def measure(
    wrk: str,
    plan: list[Scenario],
    requests: dict[str, Request],
    products: int,
    args: argparse.Namespace,
) -> list[ScenarioRuns]:
    """Check each scenario, warm it up, then measure it once per round.

    Each round measures the bare app first and then every API scenario, so
    a change in the machine's background load reaches all of them alike.
    """
    runs = []
    for scenario in plan:
        body = scenarios.check_scenario(scenario, requests[scenario.name], products)
        run_once(wrk, requests[scenario.name], WARMUP_SECONDS, args)
        runs.append(ScenarioRuns(scenario, checked_body=body))

    for round_number in range(1, args.rounds + 1):
        for scenario_runs in runs:
            name = scenario_runs.scenario.name
            result = run_once(wrk, requests[name], args.duration, args)
            scenario_runs.results.append(result)
            print(
                f"round {round_number}/{args.rounds}  {name}: "
                f"{result.requests_per_second:,.0f} req/s, "
                f"p99 {result.p99_us / 1000:.2f} ms"
            )
    return runs


def measure_bare_only(
    wrk: str, log_dir: Path, args: argparse.Namespace
) -> list[ScenarioRuns]:
    """Measure the bare app alone, serving the built-in sample page."""
    bare = scenarios.SCENARIOS[0]
    with ExitStack() as stack:
        url = start_bare(stack, log_dir, page_file=None)
        requests = {bare.name: Request(url + bare.path, {}, None)}
        return measure(wrk, [bare], requests, DEFAULT_TOTAL, args)


def measure_all(
    wrk: str, log_dir: Path, args: argparse.Namespace
) -> list[ScenarioRuns]:
    catalog = prepare_catalog(args.products, rebuild=args.rebuild)
    with ExitStack() as stack:
        requests = start_servers(stack, catalog, log_dir)
        return measure(wrk, scenarios.SCENARIOS, requests, args.products, args)


TABLE_HEADER = [
    "scenario",
    "req/s (median)",
    "p50 ms",
    "p99 ms",
    "ratio to bare",
    "req/s per round",
]


def table_rows(runs: list[ScenarioRuns]) -> list[list[str]]:
    bare_rate = runs[0].requests_per_second
    return [
        [
            scenario_runs.scenario.name,
            f"{scenario_runs.requests_per_second:,.0f}",
            f"{scenario_runs.p50_ms:.2f}",
            f"{scenario_runs.p99_ms:.2f}",
            f"{scenario_runs.requests_per_second / bare_rate:.3f}",
            " / ".join(f"{r.requests_per_second:,.0f}" for r in scenario_runs.results),
        ]
        for scenario_runs in runs
    ]


def command_line(args: argparse.Namespace) -> str:
    return shlex.join(
        [
            ".venv/bin/python",
            "bench/api_throughput.py",
            f"--products={args.products}",
            f"--duration={args.duration:g}",
            f"--connections={args.connections}",
            f"--rounds={args.rounds}",
        ]
    )


def _filter_matches(runs: list[ScenarioRuns]) -> int:
    for scenario_runs in runs:
        if scenario_runs.scenario.path == scenarios.FILTERED_PATH:
            total: int = scenario_runs.checked_body["total"]
            return total
    raise ValueError("no run of the filtered list scenario")


def explain_runs(args: argparse.Namespace) -> str:
    runs = (
        "one wrk run" if args.rounds == 1 else f"the median of {args.rounds} wrk runs"
    )
    return (
        f"Each row is {runs} of {args.duration:g} s with one wrk thread and "
        f"{args.connections} connections, after a {WARMUP_SECONDS:g} s warm-up. "
        "p50 and p99 are medians of the per-run latency percentiles that wrk "
        "measures, from sending a request to reading its response. Each round "
        'measures the bare app first and then every API scenario. "ratio to '
        "bare\" divides a row's median rate by the bare app's. Before measuring, "
        "the script sends each request once and stops unless the response is a 200 "
        "with the expected page or token, and it stops if wrk counts any socket "
        "error, timeout or non-2xx response."
    )


def _rate_of(runs: list[ScenarioRuns], name: str) -> float:
    for scenario_runs in runs:
        if scenario_runs.scenario.name == name:
            return scenario_runs.requests_per_second
    raise ValueError(f"no run of the scenario {name!r}")


def explain_scenarios(runs: list[ScenarioRuns], args: argparse.Namespace) -> list[str]:
    bare_post_rate = _rate_of(runs, scenarios.BARE_POST_SCENARIO)
    bare_post_share = f"{bare_post_rate / runs[0].requests_per_second:.2f}"
    token_share = f"{_rate_of(runs, scenarios.TOKEN_SCENARIO) / bare_post_rate:.2f}"
    return [
        f"The catalog is {args.products:,} products from `techcorp-server "
        f"demo-data --products={args.products} --seed={DEMO_SEED}` in a SQLite "
        f"file. The filter matches {_filter_matches(runs):,} of them.",
        "The bare app sends the API's own first list page, byte for byte, with "
        "no routing, authentication or database work, on granian with the "
        "server's options. Its rate is the ceiling for one worker on this machine.",
        "The API rows pay for everything the server does per request: the "
        "request id, metrics and access log middleware (at log level warning the "
        "access log writes nothing), the rate limiter (on, with a limit of "
        f"{RATE_LIMIT_PER_MINUTE:,} per minute that no run reaches), bearer token "
        "verification, routing, query validation and the page itself. With the "
        "list cache on, the page is a JSON body kept in memory, read again from "
        "SQLite every 2 s (TECHCORP_LIST_CACHE_SECONDS). With it off, each page "
        "runs the SQLite count and page queries, but requests for the same page "
        "that arrive while its read is running share that read; the rows with "
        f"random pages (1 to {scenarios.RANDOM_PAGES}) spread requests over "
        "different queries, so they show the database cost.",
        "The access-log row runs at log level info, so every request also "
        "writes one JSON line to the server's log file.",
        "The token row checks the client secret against its HMAC and signs a new "
        "JWT for every request. After the first request the client's record "
        "comes from an in-memory cache.",
        "The bare POST row is the bare app reading the body of the same token "
        "request and sending a fixed body of a token's size. granian hands a "
        "request body to Python through a future of its own, and this row "
        f"reaches {bare_post_share} of the bare app's rate: it is the ceiling of "
        f"any endpoint that reads a body. The token row reaches {token_share} of it.",
        f"wrk runs on the same {report.usable_cpus()} CPUs as the server and uses "
        "part of them, so every rate is lower than with a separate load "
        "generator. Dividing by the bare app's rate on the same machine cancels "
        "much of the machine's speed, so compare ratios, not rates, with runs on "
        "other machines.",
    ]


def render_section(
    runs: list[ScenarioRuns], args: argparse.Namespace, machine: list[tuple[str, str]]
) -> str:
    bullets = "\n".join(
        report.wrap(text, initial_indent="- ", subsequent_indent="  ")
        for text in explain_scenarios(runs, args)
    )
    return f"""## API throughput

Command: `{command_line(args)}`

{report.markdown_table(TABLE_HEADER, table_rows(runs))}
{report.markdown_table(["machine", ""], machine)}
{report.wrap(explain_runs(args))}

{bullets}
"""


def save_raw_results(runs: list[ScenarioRuns], log_dir: Path) -> Path:
    path = log_dir / "results.json"
    records = [
        {
            "scenario": scenario_runs.scenario.name,
            "server": scenario_runs.scenario.server,
            "path": scenario_runs.scenario.path,
            "runs": [asdict(result) for result in scenario_runs.results],
        }
        for scenario_runs in runs
    ]
    path.write_text(json.dumps(records, indent=2))
    return path


def positive_int(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be 1 or more, got {value}")
    return value


def positive_number(text: str) -> float:
    value = float(text)
    if not value > 0:
        raise argparse.ArgumentTypeError(f"must be more than 0, got {text}")
    return value


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--products",
        type=positive_int,
        default=100_000,
        help="products in the catalog (default: 100000)",
    )
    parser.add_argument(
        "--duration",
        type=positive_number,
        default=10.0,
        help="seconds per wrk run (default: 10)",
    )
    parser.add_argument(
        "--connections",
        type=positive_int,
        default=64,
        help="open connections during each wrk run (default: 64)",
    )
    parser.add_argument(
        "--rounds",
        type=positive_int,
        default=3,
        help="runs per scenario; the table shows their median (default: 3)",
    )
    parser.add_argument(
        "--rebuild",
        action="store_true",
        help="build the catalog again even if one of this size exists",
    )
    parser.add_argument(
        "--bare-only",
        action="store_true",
        help="measure only the bare app, on its sample page, and write no docs",
    )
    parser.add_argument(
        "--no-docs",
        action="store_true",
        help="print the table without rewriting docs/benchmarks.md",
    )
    return parser.parse_args(argv)


def main(argv: list[str]) -> None:
    args = parse_args(argv)
    wrk = ensure_wrk()
    log_dir = RUNS / datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    log_dir.mkdir(parents=True, exist_ok=True)
    machine = report.machine_rows(
        [("wrk", wrk_version(wrk)), ("SQLite", sqlite3.sqlite_version)]
    )

    try:
        if args.bare_only:
            runs = measure_bare_only(wrk, log_dir, args)
        else:
            runs = measure_all(wrk, log_dir, args)
    except (CatalogError, ScenarioError, ServerError, WrkError) as exc:
        raise SystemExit(
            f"The benchmark failed: {exc}\nServer logs: {log_dir}"
        ) from exc

    print()
    print(report.markdown_table(TABLE_HEADER, table_rows(runs)))
    print(f"Raw results: {save_raw_results(runs, log_dir)}")
    if not (args.bare_only or args.no_docs):
        report.write_section(SECTION, render_section(runs, args, machine))
        print(f"Wrote the {SECTION} section of {report.DOCS_PAGE}")


if __name__ == "__main__":
    main(sys.argv[1:])
