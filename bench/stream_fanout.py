"""Measure the event stream's fan-out: one price change to thousands of clients.

Run from the repository root, for example:

    .venv/bin/python bench/stream_fanout.py --connections 5000 --events 20

The script builds or reuses a SQLite catalog under bench/results/, starts
one `techcorp-server serve` worker, and opens `--connections` WebSocket
connections to `/v2/events` from a separate load-generator process
(`stream_clients.py`). It times `GET /v2/products` one request at a time
while the clients connect, waits for the server to settle, then changes
`--events` product prices through `PATCH /v2/products/{id}`, `--rate` per
second, while it times `GET /v2/products` again. Delivery latency runs from just
before the `PATCH` is sent to the arrival of the `market_update` at each
client, on the same clock. The server's memory per connection is the growth
of its resident set size (RSS) while the connections opened, divided by
their number. Results go to the stream section of docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import math
import os
import random
import resource
import statistics
import subprocess
import sys
import time
from collections.abc import Sequence
from contextlib import ExitStack
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path

import httpx

import report
from catalog import Catalog, prepare_catalog, server_env
from servers import HOST, free_port, running_server
from stream_clients import arrival_key

BENCH = Path(__file__).resolve().parent
RUNS = BENCH / "results" / "runs"
VENV_BIN = Path(sys.executable).parent
SECTION = "stream"

FILES_PER_CONNECTION = 1
SPARE_FILES = 512
"""File descriptors beyond one per connection: logs, the database, pipes."""

SETTLE_SECONDS = 2.0
"""How long the run waits after the last price change for late deliveries,
and after the last client connected before the first price change."""

GENERATOR_STOP_SECONDS = 120.0
"""How long the load generator may take to write its arrivals and exit."""

PROBE_SECONDS = 3.0
"""How long HTTP latency is measured with no stream clients connected."""

LIST_PATH = "/v2/products?limit=20"
PROBES_PER_SECOND = 20

PRICE_CENTS = range(100, 10_000_000)
"""The prices a run picks from, in cents."""


class BenchError(RuntimeError):
    """The run could not be completed or its results are incomplete."""


@dataclass
class FileLimit:
    soft_before: int
    soft: int
    hard: int


@dataclass
class Run:
    connections: int
    connect_seconds: float = 0.0
    rss_before_kib: int = 0
    rss_connected_kib: int = 0
    sent_at: dict[str, float] = field(default_factory=dict)
    arrivals: dict[str, list[float]] = field(default_factory=dict)
    closed: int = 0
    server_cpu_seconds: float = 0.0
    generator_cpu_seconds: float = 0.0
    idle_list_ms: list[float] = field(default_factory=list)
    connecting_list_ms: list[float] = field(default_factory=list)
    busy_list_ms: list[float] = field(default_factory=list)


def raise_file_limit(needed: int) -> FileLimit:
    """Raise the soft open-file limit towards `needed`, never past the hard one."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    wanted = needed if hard == resource.RLIM_INFINITY else min(needed, hard)
    if wanted > soft:
        resource.setrlimit(resource.RLIMIT_NOFILE, (wanted, hard))
    return FileLimit(soft, max(soft, wanted), hard)


def percentile(values: Sequence[float], share: float) -> float:
    """Return the nearest-rank percentile; `share` is 0.5 for the median."""
    if not values:
        raise ValueError("no values")
    ordered = sorted(values)
    rank = max(1, round(share * len(ordered) + 0.5 - 1e-9))
    return ordered[min(rank, len(ordered)) - 1]


def delivery_latencies_ms(run: Run) -> list[float]:
    """Return every delivery's latency, failing when a delivery is missing."""
    latencies = []
    for key, sent_at in run.sent_at.items():
        arrived = run.arrivals.get(key, [])
        if len(arrived) != run.connections:
            raise BenchError(
                f"{key}: {len(arrived)} of {run.connections} clients received it"
            )
        latencies += [(moment - sent_at) * 1000 for moment in arrived]
    return latencies


def slowest_per_event_ms(run: Run) -> list[float]:
    """Return, per price change, the latency to the last client that got it."""
    return [
        (max(run.arrivals[key]) - sent_at) * 1000
        for key, sent_at in run.sent_at.items()
    ]


def process_tree(pid: int) -> list[int]:
    """Return `pid` and the ids of all its descendants."""
    tree = [pid]
    for current in tree:
        children = Path(f"/proc/{current}/task/{current}/children").read_text()
        tree += [int(child) for child in children.split()]
    return tree


def cpu_seconds(pid: int) -> float:
    """Return the user and system CPU time of a process tree, in seconds."""
    ticks = 0
    for current in process_tree(pid):
        # Fields 14 and 15 of /proc/PID/stat, after the parenthesised name.
        fields = Path(f"/proc/{current}/stat").read_text().rsplit(")", 1)[1].split()
        ticks += int(fields[11]) + int(fields[12])
    return ticks / os.sysconf("SC_CLK_TCK")


def rss_kib(pid: int) -> int:
    """Return the resident set size of a process and its children, in KiB."""
    total = 0
    for current in process_tree(pid):
        status = Path(f"/proc/{current}/status").read_text()
        for line in status.splitlines():
            if line.startswith("VmRSS:"):
                total += int(line.split()[1])
    return total


async def probe_list(
    api: httpx.AsyncClient, token: str, until: float, latencies: list[float]
) -> None:
    """Time `GET /v2/products`, `PROBES_PER_SECOND` a second, until `until`.

    `until` is a `time.monotonic()` reading. The pace is fixed, so the probe
    measures the API's latency without adding a load of its own.
    """
    headers = {"Authorization": f"Bearer {token}"}
    next_probe = time.monotonic()
    while next_probe < until:
        await asyncio.sleep(max(0.0, next_probe - time.monotonic()))
        next_probe += 1 / PROBES_PER_SECOND
        started = time.perf_counter()
        response = await api.get(LIST_PATH, headers=headers)
        latencies.append((time.perf_counter() - started) * 1000)
        if response.status_code != 200:
            raise BenchError(f"GET {LIST_PATH} returned {response.status_code}")


async def change_prices(
    api: httpx.AsyncClient, token: str, product_ids: list[str], args: argparse.Namespace
) -> dict[str, float]:
    """Change one price per event at `args.rate` per second; return send times."""
    headers = {"Authorization": f"Bearer {token}"}
    sent_at: dict[str, float] = {}
    # New prices every run: a price equal to the stored one changes nothing
    # and sends no event.
    prices = [cents / 100 for cents in random.sample(PRICE_CENTS, args.events)]
    interval = 1 / args.rate
    started = time.monotonic()
    for number in range(args.events):
        await asyncio.sleep(max(0.0, started + number * interval - time.monotonic()))
        product_id = product_ids[number % len(product_ids)]
        price = prices.pop()
        sent_at[arrival_key(product_id, price)] = time.time()
        response = await api.patch(
            f"/v2/products/{product_id}", json={"price": price}, headers=headers
        )
        if response.status_code != 200:
            raise BenchError(f"PATCH returned {response.status_code}: {response.text}")
    return sent_at


async def token_and_products(
    api: httpx.AsyncClient, catalog: Catalog
) -> tuple[str, list[str]]:
    response = await api.post(
        "/v2/auth/token",
        json={"client_id": catalog.client_id, "client_secret": catalog.client_secret},
    )
    token: str = response.json()["access_token"]
    page = await api.get(
        "/v2/products?limit=10", headers={"Authorization": f"Bearer {token}"}
    )
    return token, [product["id"] for product in page.json()["data"]]


def start_generator(
    url: str, token: str, connections: int, output: Path, log_path: Path
) -> subprocess.Popen[str]:
    env = server_env(output.parent)
    env["STREAM_BENCH_TOKEN"] = token
    with log_path.open("w") as log:
        return subprocess.Popen(  # noqa: S603
            [
                sys.executable,
                str(BENCH / "stream_clients.py"),
                f"--url={url}",
                f"--connections={connections}",
                f"--output={output}",
            ],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=log,
            text=True,
            env=env,
        )


def wait_connected(generator: subprocess.Popen[str], expected: int) -> None:
    assert generator.stdout is not None
    line = generator.stdout.readline()
    if not line:
        raise BenchError(
            f"The load generator exited with status {generator.wait()} before "
            "its clients were connected; see its log in bench/results/runs/."
        )
    connected = json.loads(line)["connected"]
    if connected != expected:
        raise BenchError(f"{connected} of {expected} clients connected")


def stop_generator(generator: subprocess.Popen[str]) -> None:
    assert generator.stdin is not None
    assert generator.stdout is not None
    generator.stdin.close()
    generator.wait(timeout=GENERATOR_STOP_SECONDS)
    generator.stdout.close()
    if generator.returncode != 0:
        raise BenchError(
            f"The load generator exited with status {generator.returncode}"
        )


async def measure(
    args: argparse.Namespace, catalog: Catalog, server_url: str, server_pid: int
) -> Run:
    run = Run(args.connections)
    output = RUNS / "stream-arrivals.json"
    async with httpx.AsyncClient(base_url=server_url, timeout=30) as api:
        token, product_ids = await token_and_products(api, catalog)
        idle_until = time.monotonic() + PROBE_SECONDS
        await probe_list(api, token, idle_until, run.idle_list_ms)
        run.rss_before_kib = rss_kib(server_pid)

        started = time.monotonic()
        ws_url = server_url.replace("http://", "ws://") + "/v2/events"
        generator = start_generator(
            ws_url, token, args.connections, output, RUNS / "stream-clients.log"
        )
        try:
            connecting = asyncio.create_task(
                probe_list(api, token, math.inf, run.connecting_list_ms)
            )
            await asyncio.to_thread(wait_connected, generator, args.connections)
            run.connect_seconds = time.monotonic() - started
            connecting.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await connecting
            run.rss_connected_kib = rss_kib(server_pid)
            # Full garbage collections paused the server for 0.3 to 0.9 s
            # right after 5,000 clients connected (a busy 2-core machine),
            # so the broadcast is measured after a pause.
            await asyncio.sleep(SETTLE_SECONDS)

            busy_until = time.monotonic() + args.events / args.rate + SETTLE_SECONDS
            probe = asyncio.create_task(
                probe_list(api, token, busy_until, run.busy_list_ms)
            )
            server_cpu, generator_cpu = (
                cpu_seconds(server_pid),
                cpu_seconds(generator.pid),
            )
            run.sent_at = await change_prices(api, token, product_ids, args)
            await probe
            run.server_cpu_seconds = cpu_seconds(server_pid) - server_cpu
            run.generator_cpu_seconds = cpu_seconds(generator.pid) - generator_cpu
        finally:
            await asyncio.to_thread(stop_generator, generator)

    results = json.loads(output.read_text())
    run.arrivals, run.closed = results["arrivals"], results["closed"]
    return run


def _ms(value: float) -> str:
    return f"{value:,.1f}"


def _p50_p99(latencies: list[float]) -> str:
    if not latencies:
        return "none measured"
    return f"{_ms(percentile(latencies, 0.5))} / {_ms(percentile(latencies, 0.99))}"


def result_rows(run: Run) -> list[list[str]]:
    latencies = delivery_latencies_ms(run)
    slowest = slowest_per_event_ms(run)
    growth = run.rss_connected_kib - run.rss_before_kib
    return [
        [
            "deliveries",
            f"{len(latencies):,} ({len(run.sent_at)} events to "
            f"{run.connections:,} clients)",
        ],
        [
            "delivery latency p50 / p90 / p99 / max (ms)",
            " / ".join(
                _ms(percentile(latencies, share)) for share in (0.5, 0.9, 0.99, 1.0)
            ),
        ],
        [
            "latency to the last client, per event: median / max (ms)",
            f"{_ms(statistics.median(slowest))} / {_ms(max(slowest))}",
        ],
        ["time to open all connections (s)", f"{run.connect_seconds:.1f}"],
        [
            "server RSS before / with the connections (MiB)",
            f"{run.rss_before_kib / 1024:,.1f} / {run.rss_connected_kib / 1024:,.1f}",
        ],
        ["server RSS per connection (KiB)", f"{growth / run.connections:.1f}"],
        [
            f"GET {LIST_PATH} p50 / p99 with no clients (ms)",
            _p50_p99(run.idle_list_ms),
        ],
        [
            f"GET {LIST_PATH} p50 / p99 while the clients connect (ms)",
            _p50_p99(run.connecting_list_ms),
        ],
        [
            f"GET {LIST_PATH} p50 / p99 during the broadcast (ms)",
            _p50_p99(run.busy_list_ms),
        ],
        [
            "CPU time during the broadcast: server / load generator (s)",
            f"{run.server_cpu_seconds:.2f} / {run.generator_cpu_seconds:.2f}",
        ],
        ["connections closed by the server", str(run.closed)],
    ]


def command_line(argv: Sequence[str]) -> str:
    return " ".join([".venv/bin/python bench/stream_fanout.py", *argv])


def render_section(
    run: Run, args: argparse.Namespace, limit: FileLimit, machine: list[tuple[str, str]]
) -> str:
    p99 = percentile(delivery_latencies_ms(run), 0.99)
    verdict = "meets" if p99 < args.target_ms else "misses"
    prose = (
        f"One server worker, {run.connections:,} WebSocket clients in one "
        f"load-generator process on the same machine, {len(run.sent_at)} price "
        f"changes at {args.rate:g} per second through `PATCH /v2/products/{{id}}`. "
        "A delivery's latency runs from just before the `PATCH` is sent to the "
        "`market_update` reaching the client, so it includes the database "
        "write and the load generator's own delay in reading its sockets. "
        f"The p99 of {_ms(p99)} ms {verdict} the target of {args.target_ms:g} ms. "
        "RSS per connection is the growth of the server's resident memory while "
        "the clients connected, divided by their number. `GET` is timed "
        f"{PROBES_PER_SECOND} times a second: with no clients, while the clients "
        f"connect, and from {SETTLE_SECONDS:g} s after the last one connected "
        "until the deliveries are over."
    )
    rows = [
        *machine,
        (
            "open-file limit (soft before / soft / hard)",
            f"{limit.soft_before} / {limit.soft} / {limit.hard}",
        ),
    ]
    return "\n".join(
        [
            "## Stream fan-out\n",
            f"Command: `{command_line(args.argv)}`\n",
            report.markdown_table(["measure", "value"], result_rows(run)),
            report.wrap(prose) + "\n",
            report.markdown_table(["machine", ""], rows),
        ]
    )


def parse_args(argv: Sequence[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--connections", type=_positive_int, default=5000)
    parser.add_argument("--events", type=_positive_int, default=20)
    parser.add_argument(
        "--rate", type=_positive_float, default=2.0, help="Price changes per second."
    )
    parser.add_argument("--products", type=_positive_int, default=5000)
    parser.add_argument("--target-ms", type=_positive_float, default=250.0)
    parser.add_argument(
        "--log-level",
        choices=["debug", "info", "warning", "error"],
        default="warning",
        help="The server's log level; info adds a line per connection.",
    )
    parser.add_argument(
        "--no-record", action="store_true", help="Print only; leave the docs as is."
    )
    args = parser.parse_args(argv)
    args.argv = list(argv)
    return args


def _positive_int(text: str) -> int:
    value = int(text)
    if value <= 0:
        raise argparse.ArgumentTypeError(f"must be more than 0, got {value}")
    return value


def _positive_float(text: str) -> float:
    value = float(text)
    if not value > 0:
        raise argparse.ArgumentTypeError(f"must be more than 0, got {text}")
    return value


def main(argv: Sequence[str]) -> None:
    args = parse_args(argv)
    limit = raise_file_limit(args.connections * FILES_PER_CONNECTION + SPARE_FILES)
    if limit.soft < args.connections + SPARE_FILES:
        raise SystemExit(
            f"The open-file limit is {limit.soft} (hard limit {limit.hard}), too "
            f"low for {args.connections} connections; lower --connections."
        )
    catalog = prepare_catalog(args.products)
    RUNS.mkdir(parents=True, exist_ok=True)
    port = free_port()
    url = f"http://{HOST}:{port}"
    command = [
        str(VENV_BIN / "techcorp-server"),
        "serve",
        f"--host={HOST}",
        f"--port={port}",
    ]
    env = server_env(catalog.folder, log_level=args.log_level)
    # Every client uses the one admin token.
    env["TECHCORP_STREAM_MAX_CONNECTIONS_PER_USER"] = str(args.connections)
    with ExitStack() as stack:
        server = stack.enter_context(
            running_server(
                command,
                env=env,
                ready_url=url + "/healthz",
                log_path=RUNS / "stream-server.log",
            )
        )
        run = asyncio.run(measure(args, catalog, url, server.pid))

    load = ", ".join(f"{value:.2f}" for value in os.getloadavg())
    machine = report.machine_rows(
        [
            ("websockets", metadata.version("websockets")),
            ("load average after the run (1, 5, 15 min)", load),
        ]
    )
    section = render_section(run, args, limit, machine)
    print(section)
    if not args.no_record:
        report.write_section(SECTION, section)


if __name__ == "__main__":
    main(sys.argv[1:])
