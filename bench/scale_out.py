"""Compare request rates on SQLite, on PostgreSQL and Redis, and on two processes.

Run from the repository root, for example:

    .venv/bin/python bench/scale_out.py --products 10000 --duration 5

In one run, the script measures `GET /v2/products?limit=20` and
`POST /v2/auth/token` with wrk on three setups: one server process on a
SQLite file, one process on PostgreSQL and Redis, and two processes on the
same PostgreSQL and Redis behind nginx with `deploy/nginx.conf`. PostgreSQL,
Redis and nginx are started here on loopback from the Debian packages, the
way the server's tests start them. Then it prints the table and rewrites the
scale-out section of docs/benchmarks.md. Server logs go to
bench/results/runs/.
"""

from __future__ import annotations

import argparse
import os
import shlex
import subprocess
import sys
from contextlib import ExitStack
from datetime import UTC, datetime
from pathlib import Path

import report
import scenarios
from api_throughput import (
    RUNS,
    VENV_BIN,
    WARMUP_SECONDS,
    api_command,
    positive_int,
    positive_number,
    run_once,
)
from catalog import (
    CLIENT_EMAIL,
    DEMO_SEED,
    Catalog,
    CatalogError,
    parse_client,
    prepare_catalog,
    server_env,
)
from scenarios import Request, Scenario, ScenarioError
from servers import HOST, ServerError, free_port, running_server
from wrk_runner import WrkError, WrkResult, ensure_wrk, wrk_version

SERVER = Path(__file__).resolve().parents[1] / "server"
# The server's test helpers start PostgreSQL, Redis and nginx on loopback.
sys.path.insert(0, str(SERVER))

from tests.utils.nginx import Nginx  # noqa: E402
from tests.utils.postgres_server import PostgresServer  # noqa: E402
from tests.utils.redis_server import RedisServer  # noqa: E402

SECTION = "scale-out"
SETUPS = (
    "1 process, SQLite",
    "1 process, PostgreSQL + Redis",
    "2 processes, PostgreSQL + Redis, nginx",
)


def _scenario(path: str) -> Scenario:
    """Return the throughput benchmark's scenario of `path` on the cached API."""
    return next(
        scenario
        for scenario in scenarios.SCENARIOS
        if scenario.path == path and scenario.server == "api"
    )


LIST = _scenario(scenarios.LIST_PATH)
TOKEN = _scenario(scenarios.TOKEN_PATH)


def start_api(stack: ExitStack, env: dict[str, str], log_path: Path) -> str:
    port = free_port()
    url = f"http://{HOST}:{port}"
    stack.enter_context(
        running_server(
            api_command(port), env=env, ready_url=url + "/healthz", log_path=log_path
        )
    )
    return url


def run_cli(arguments: list[str], env: dict[str, str]) -> str:
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


def postgres_catalog(env: dict[str, str], sqlite: Catalog) -> Catalog:
    """Load the same demo catalog into PostgreSQL, with an admin client."""
    run_cli(["demo-data", f"--products={sqlite.products}", f"--seed={DEMO_SEED}"], env)
    output = run_cli(
        ["clients", "create", f"--email={CLIENT_EMAIL}", "--role=admin", "--json"],
        env,
    )
    client_id, client_secret = parse_client(output)
    return Catalog(sqlite.folder, sqlite.products, client_id, client_secret)


def measure_setup(
    wrk: str, url: str, catalog: Catalog, args: argparse.Namespace
) -> list[WrkResult]:
    """Check both requests, warm them up, then measure each once."""
    token = scenarios.fetch_token(url, catalog)
    results = []
    for scenario in (LIST, TOKEN):
        request: Request = scenarios.build_request(
            scenario, {"api": url}, token, catalog
        )
        scenarios.check_scenario(scenario, request, catalog.products)
        run_once(wrk, request, WARMUP_SECONDS, args)
        results.append(run_once(wrk, request, args.duration, args))
    return results


def measure_all(
    wrk: str, log_dir: Path, args: argparse.Namespace
) -> dict[str, list[WrkResult]]:
    sqlite = prepare_catalog(args.products)
    results: dict[str, list[WrkResult]] = {}
    with ExitStack() as stack:
        url = start_api(stack, server_env(sqlite.folder), log_dir / "sqlite.log")
        results[SETUPS[0]] = measure_setup(wrk, url, sqlite, args)

    postgres = PostgresServer()
    redis = RedisServer(log_dir)
    try:
        postgres.start()
        redis.start()
        env = server_env(sqlite.folder) | {
            "TECHCORP_DATABASE_URL": postgres.create_database(),
            "TECHCORP_REDIS_URL": redis.url,
        }
        print(f"Loading {args.products:,} products into PostgreSQL")
        catalog = postgres_catalog(env, sqlite)
        with ExitStack() as stack:
            url = start_api(stack, env, log_dir / "postgresql-1.log")
            results[SETUPS[1]] = measure_setup(wrk, url, catalog, args)
        with ExitStack() as stack:
            ports = []
            for number in (1, 2):
                url = start_api(stack, env, log_dir / f"postgresql-nginx-{number}.log")
                ports.append(int(url.rsplit(":", 1)[1]))
            nginx = Nginx(log_dir, ports)
            nginx.start()
            stack.callback(nginx.stop)
            results[SETUPS[2]] = measure_setup(wrk, nginx.base_url, catalog, args)
    finally:
        redis.stop()
        postgres.stop()
    return results


TABLE_HEADER = ["setup", "GET list req/s", "p99 ms", "POST token req/s", "p99 ms"]


def table_rows(results: dict[str, list[WrkResult]]) -> list[list[str]]:
    rows = []
    for setup, (listing, token) in results.items():
        rows.append(
            [
                setup,
                f"{listing.requests_per_second:,.0f}",
                f"{listing.p99_us / 1000:.2f}",
                f"{token.requests_per_second:,.0f}",
                f"{token.p99_us / 1000:.2f}",
            ]
        )
    return rows


def command_line(args: argparse.Namespace) -> str:
    return shlex.join(
        [
            ".venv/bin/python",
            "bench/scale_out.py",
            f"--products={args.products}",
            f"--duration={args.duration:g}",
            f"--connections={args.connections}",
        ]
    )


def explanation(args: argparse.Namespace) -> list[str]:
    return [
        f"Each figure is one wrk run of {args.duration:g} s with one thread and "
        f"{args.connections} connections, after a {WARMUP_SECONDS:g} s warm-up. "
        f"The catalog is {args.products:,} products from `techcorp-server "
        f"demo-data --seed={DEMO_SEED}`, loaded into each database.",
        "Each process is `techcorp-server serve` with one worker. On Redis, "
        "every request also makes one Redis round trip for the shared rate limit.",
        "The two processes sit behind nginx with `deploy/nginx.conf`, which "
        "adds a proxy hop to each request.",
        f"wrk, nginx, PostgreSQL, Redis and the servers share the same "
        f"{report.usable_cpus()} CPUs, and other work may run on them too (see "
        "the load average). So these figures show what PostgreSQL, Redis and "
        "the proxy hop cost per request, not what a second process adds on a "
        "machine with cores to spare.",
    ]


def render_section(
    results: dict[str, list[WrkResult]],
    args: argparse.Namespace,
    machine: list[tuple[str, str]],
) -> str:
    bullets = "\n".join(
        report.wrap(text, initial_indent="- ", subsequent_indent="  ")
        for text in explanation(args)
    )
    return f"""## Scale-out

Command: `{command_line(args)}`

{report.markdown_table(TABLE_HEADER, table_rows(results))}
{report.markdown_table(["machine", ""], machine)}
{bullets}
"""


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--products",
        type=positive_int,
        default=10_000,
        help="products in the catalog (default: 10000)",
    )
    parser.add_argument(
        "--duration",
        type=positive_number,
        default=5.0,
        help="seconds per wrk run (default: 5)",
    )
    parser.add_argument(
        "--connections",
        type=positive_int,
        default=64,
        help="open connections during each wrk run (default: 64)",
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
    log_dir = RUNS / datetime.now(UTC).strftime("scale-out-%Y%m%dT%H%M%SZ")
    log_dir.mkdir(parents=True, exist_ok=True)
    load = ", ".join(f"{value:.2f}" for value in os.getloadavg())
    machine = report.machine_rows(
        [
            ("wrk", wrk_version(wrk)),
            ("load average before the run (1, 5, 15 min)", load),
        ]
    )
    try:
        results = measure_all(wrk, log_dir, args)
    except (CatalogError, ScenarioError, ServerError, WrkError) as exc:
        raise SystemExit(
            f"The benchmark failed: {exc}\nServer logs: {log_dir}"
        ) from exc

    print()
    print(report.markdown_table(TABLE_HEADER, table_rows(results)))
    if not args.no_docs:
        report.write_section(SECTION, render_section(results, args, machine))
        print(f"Wrote the {SECTION} section of {report.DOCS_PAGE}")


if __name__ == "__main__":
    main(sys.argv[1:])
