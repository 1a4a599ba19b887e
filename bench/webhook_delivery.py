"""Measure webhook deliveries per second and event-to-delivery latency.

Run from the repository root, for example:

    .venv/bin/python bench/webhook_delivery.py --events 2000 --endpoints 10

One API server process (`techcorp-server serve`, one worker, a fresh SQLite
file) sends webhooks to a receiver on 127.0.0.1 in this process, while wrk
loads `GET /v2/products` on the same server the whole time. Each product
created is one `product.created` event, delivered to each of `--endpoints`
endpoints. Two phases run:

- burst: `--events` products created as fast as 8 concurrent clients can,
  giving the delivery rate: distinct deliveries the receiver acknowledged
  with a 204 (counted by `X-Delivery-Id`), divided by the time from the
  phase's first product request to the last delivery read. Event creation
  and delivery are both inside that time;
- paced: `--rate` products per second for `--duration` seconds, giving the
  latency of a steady flow.

A delivery read a second time is counted apart as a duplicate.

Latency runs from the product's `created_at`, which the server sets just
before its write transaction, to the receiver reading the delivery. Server
and receiver share one clock. The script rewrites the webhooks section of
docs/benchmarks.md and keeps the server log and raw numbers under
bench/results/runs/.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import secrets
import shlex
import signal
import statistics
import sys
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import cast

import httpx

import report
from catalog import server_env
from servers import HOST, free_port, running_server
from wrk_runner import (
    REPORT_SCRIPT,
    WrkError,
    WrkResult,
    ensure_wrk,
    parse_result,
    wrk_version,
)

BENCH = Path(__file__).resolve().parent
RUNS = BENCH / "results" / "runs"
VENV_BIN = Path(sys.executable).parent
SECTION = "webhooks"

BURST_CLIENTS = 8
DELIVERY_TIMEOUT_SECONDS = 120.0
_CONTENT_LENGTH = re.compile(rb"content-length:[ \t]*([0-9]+)", re.IGNORECASE)
_DELIVERY_ID = re.compile(rb"x-delivery-id:[ \t]*([^\r\n]+)", re.IGNORECASE)
_NO_CONTENT = b"HTTP/1.1 204 No Content\r\n\r\n"


@dataclass
class Deliveries:
    """The arrival times (Unix seconds) and bodies of the distinct deliveries
    the receiver read, and how many it read again."""

    arrivals: list[tuple[float, bytes]] = field(default_factory=list)
    delivery_ids: set[bytes] = field(default_factory=set)
    duplicates: int = 0
    changed: asyncio.Event = field(default_factory=asyncio.Event)

    def record(self, delivery_id: bytes, body: bytes) -> None:
        if delivery_id in self.delivery_ids:
            self.duplicates += 1
            return
        self.delivery_ids.add(delivery_id)
        self.arrivals.append((time.time(), body))
        self.changed.set()

    async def wait_for_count(self, count: int, timeout_seconds: float) -> None:
        async with asyncio.timeout(timeout_seconds):
            while len(self.arrivals) < count:
                self.changed.clear()
                await self.changed.wait()


class ReceiverProtocol(asyncio.Protocol):
    """A minimal HTTP/1.1 keep-alive server that responds 204 to every request.

    It reads only `Content-Length` bodies, which is what the server sends,
    and costs little enough per request to leave the CPU to the server.
    """

    def __init__(self, deliveries: Deliveries) -> None:
        self.deliveries = deliveries
        self.buffer = bytearray()
        self.transport: asyncio.Transport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        # uvloop's transports do not subclass asyncio.Transport.
        self.transport = cast(asyncio.Transport, transport)

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        while (request := self._take_request()) is not None:
            self.deliveries.record(*request)
            assert self.transport is not None
            self.transport.write(_NO_CONTENT)

    def _take_request(self) -> tuple[bytes, bytes] | None:
        """Return the next request's delivery id and body, once complete."""
        head_end = self.buffer.find(b"\r\n\r\n")
        if head_end < 0:
            return None
        match = _CONTENT_LENGTH.search(self.buffer, 0, head_end)
        length = int(match.group(1)) if match else 0
        body_start = head_end + 4
        if len(self.buffer) < body_start + length:
            return None
        delivery = _DELIVERY_ID.search(self.buffer, 0, head_end)
        delivery_id = delivery.group(1).strip() if delivery else b""
        body = bytes(self.buffer[body_start : body_start + length])
        del self.buffer[: body_start + length]
        return delivery_id, body


def latency_ms(arrived_at: float, body: bytes) -> float:
    """Return the time from the product's `created_at` to its delivery."""
    created = datetime.fromisoformat(json.loads(body)["data"]["created_at"])
    return (arrived_at - created.timestamp()) * 1000


def percentile(values: Sequence[float], fraction: float) -> float:
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(fraction * len(ordered)) - 1))
    return ordered[index]


@dataclass(frozen=True)
class PhaseResult:
    name: str
    events: int
    deliveries: int
    duplicates: int
    seconds: float
    p50_ms: float
    p99_ms: float
    max_ms: float

    @property
    def deliveries_per_second(self) -> float:
        return self.deliveries / self.seconds


def summarize(
    name: str,
    events: int,
    started: float,
    arrivals: list[tuple[float, bytes]],
    duplicates: int,
) -> PhaseResult:
    latencies = [latency_ms(arrived_at, body) for arrived_at, body in arrivals]
    return PhaseResult(
        name=name,
        events=events,
        deliveries=len(arrivals),
        duplicates=duplicates,
        seconds=max(arrived_at for arrived_at, _ in arrivals) - started,
        p50_ms=statistics.median(latencies),
        p99_ms=percentile(latencies, 0.99),
        max_ms=max(latencies),
    )


class Api:
    """The admin calls the benchmark makes, over one keep-alive client."""

    def __init__(self, client: httpx.AsyncClient, token: str) -> None:
        self.client = client
        self.headers = {"Authorization": f"Bearer {token}"}
        self.created = 0

    async def register(self, url: str) -> None:
        response = await self.client.post(
            "/v2/webhooks",
            json={"url": url, "events": ["product.created"]},
            headers=self.headers,
        )
        response.raise_for_status()

    async def create_product(self) -> None:
        self.created += 1
        response = await self.client.post(
            "/v2/products",
            json={"name": f"Bench Lamp {self.created}", "price": 9.99, "category": "b"},
            headers=self.headers,
        )
        response.raise_for_status()


@dataclass(frozen=True)
class Drain:
    """The deliveries of a burst still to send once its last event existed."""

    deliveries: int
    seconds: float

    @property
    def deliveries_per_second(self) -> float:
        return self.deliveries / self.seconds if self.seconds > 0 else 0.0


async def run_burst(
    api: Api, deliveries: Deliveries, events: int, fanout: int
) -> tuple[PhaseResult, Drain]:
    before = len(deliveries.arrivals)
    duplicates_before = deliveries.duplicates
    remaining = iter(range(events))

    async def client() -> None:
        for _ in remaining:
            await api.create_product()

    started = time.time()
    await asyncio.gather(*(client() for _ in range(BURST_CLIENTS)))
    created = time.time()
    sent_before = len(deliveries.arrivals) - before
    await deliveries.wait_for_count(before + events * fanout, DELIVERY_TIMEOUT_SECONDS)
    result = summarize(
        "burst",
        events,
        started,
        deliveries.arrivals[before:],
        deliveries.duplicates - duplicates_before,
    )
    drain = Drain(
        deliveries=result.deliveries - sent_before,
        seconds=started + result.seconds - created,
    )
    return result, drain


async def run_paced(
    api: Api, deliveries: Deliveries, rate: float, seconds: float, fanout: int
) -> PhaseResult:
    before = len(deliveries.arrivals)
    duplicates_before = deliveries.duplicates
    events = max(1, round(rate * seconds))
    started = time.time()
    requests = []
    for number in range(events):
        delay = started + number / rate - time.time()
        if delay > 0:
            await asyncio.sleep(delay)
        requests.append(asyncio.create_task(api.create_product()))
    await asyncio.gather(*requests)
    await deliveries.wait_for_count(before + events * fanout, DELIVERY_TIMEOUT_SECONDS)
    return summarize(
        "paced",
        events,
        started,
        deliveries.arrivals[before:],
        deliveries.duplicates - duplicates_before,
    )


def api_env(folder: Path, client_id: str, client_secret: str) -> dict[str, str]:
    env = server_env(folder)
    env.update(
        TECHCORP_WEBHOOK_ALLOW_PRIVATE="true",
        TECHCORP_BOOTSTRAP_CLIENT_ID=client_id,
        TECHCORP_BOOTSTRAP_CLIENT_SECRET=client_secret,
    )
    return env


async def measure(
    args: argparse.Namespace, base_url: str, wrk: str
) -> dict[str, object]:
    deliveries = Deliveries()
    loop = asyncio.get_running_loop()
    server = await loop.create_server(lambda: ReceiverProtocol(deliveries), HOST, 0)
    port = server.sockets[0].getsockname()[1]
    async with httpx.AsyncClient(base_url=base_url, timeout=30) as client:
        token = await get_token(client, args.client_id, args.client_secret)
        api = Api(client, token)
        for number in range(args.endpoints):
            await api.register(f"http://{HOST}:{port}/hooks/{number}")

        background = await start_background_load(
            wrk, f"{base_url}/v2/products?limit=20", token, args.background_connections
        )
        try:
            await asyncio.sleep(1)
            burst, drain = await run_burst(api, deliveries, args.events, args.endpoints)
            paced = await run_paced(
                api, deliveries, args.rate, args.duration, args.endpoints
            )
        finally:
            load = await stop_background_load(background)
    server.close()
    return {"burst": burst, "drain": drain, "paced": paced, "load": load}


async def start_background_load(
    wrk: str, url: str, token: str, connections: int
) -> asyncio.subprocess.Process:
    """Start wrk on `url` for up to an hour; `stop_background_load` ends it."""
    command = [
        wrk,
        "--threads=1",
        f"--connections={connections}",
        "--duration=3600s",
        "--timeout=10s",
        f"--script={REPORT_SCRIPT}",
        "--header",
        f"Authorization: Bearer {token}",
        url,
    ]
    return await asyncio.create_subprocess_exec(
        *command, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE
    )


async def stop_background_load(process: asyncio.subprocess.Process) -> WrkResult:
    # wrk stops on SIGINT and still prints its summary and the script's line.
    process.send_signal(signal.SIGINT)
    stdout, stderr = await process.communicate()
    try:
        return parse_result(stdout.decode())
    except WrkError as exc:
        raise WrkError(f"{exc}\n{stderr.decode()}") from exc


async def get_token(client: httpx.AsyncClient, client_id: str, secret: str) -> str:
    response = await client.post(
        "/v2/auth/token", json={"client_id": client_id, "client_secret": secret}
    )
    response.raise_for_status()
    token: str = response.json()["access_token"]
    return token


TABLE_HEADER = [
    "phase",
    "events",
    "deliveries",
    "duplicates",
    "deliveries/s",
    "p50 ms",
    "p99 ms",
    "max ms",
]


def phase_row(result: PhaseResult) -> list[str]:
    return [
        result.name,
        f"{result.events:,}",
        f"{result.deliveries:,}",
        f"{result.duplicates:,}",
        f"{result.deliveries_per_second:,.0f}",
        f"{result.p50_ms:.1f}",
        f"{result.p99_ms:.1f}",
        f"{result.max_ms:.1f}",
    ]


def command_line(args: argparse.Namespace) -> str:
    options = [
        f"--events {args.events}",
        f"--endpoints {args.endpoints}",
        f"--rate {args.rate:g}",
        f"--duration {args.duration:g}",
        f"--background-connections {args.background_connections}",
    ]
    return "python bench/webhook_delivery.py " + " ".join(options)


def render_section(
    burst: PhaseResult,
    drain: Drain,
    paced: PhaseResult,
    load: WrkResult,
    args: argparse.Namespace,
    machine: list[tuple[str, str]],
) -> str:
    explanation = (
        f"One server process delivered `product.created` events to "
        f"{args.endpoints} endpoints on a receiver on 127.0.0.1, while wrk "
        f"(one thread, {args.background_connections} connections) loaded "
        f"`GET /v2/products?limit=20` on the same server: "
        f"{load.requests_per_second:,.0f} req/s with p50 "
        f"{load.p50_us / 1000:.1f} ms during the run. Burst: {args.events:,} "
        f"products created by {BURST_CLIENTS} concurrent clients. Its rate is "
        "the distinct deliveries the receiver acknowledged with a 204 (by "
        "`X-Delivery-Id`), divided by the time from the first product request "
        "to the last delivery read. That time covers creating the events and "
        "delivering them. A delivery read again counts as a duplicate, not a "
        f"delivery. After the last product was created, the remaining "
        f"{drain.deliveries:,} deliveries went out at "
        f"{drain.deliveries_per_second:,.0f} per second. Paced: {args.rate:g} "
        "products per second for "
        f"{args.duration:g} s. Latency runs from the product's `created_at` to "
        "the receiver reading the delivery, on one clock."
    )
    return f"""## Webhook delivery

Command: `{command_line(args)}`

{report.markdown_table(TABLE_HEADER, [phase_row(burst), phase_row(paced)])}
{report.markdown_table(["machine", ""], machine)}
{report.wrap(explanation)}
"""


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--events", type=int, default=2000, help="products created in the burst phase"
    )
    parser.add_argument(
        "--endpoints", type=int, default=10, help="endpoints that receive each event"
    )
    parser.add_argument(
        "--rate",
        type=float,
        default=10,
        help="products created per second in the paced phase",
    )
    parser.add_argument(
        "--duration",
        type=float,
        default=10,
        help="length of the paced phase in seconds",
    )
    parser.add_argument(
        "--background-connections",
        type=int,
        default=4,
        help="wrk connections loading GET /v2/products",
    )
    parser.add_argument(
        "--no-write",
        action="store_true",
        help="print the results without rewriting docs/benchmarks.md",
    )
    args = parser.parse_args(argv)
    args.client_id = "bench-webhooks"
    args.client_secret = secrets.token_urlsafe(24)
    return args


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    wrk = ensure_wrk()
    # Other programs on the machine take CPU from the server and the
    # receiver, so the record states how busy it was.
    load_before = " / ".join(f"{load:.1f}" for load in os.getloadavg())
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    folder = RUNS / f"webhooks-{stamp}"
    folder.mkdir(parents=True)
    port = free_port()
    base_url = f"http://{HOST}:{port}"
    command = [
        str(VENV_BIN / "techcorp-server"),
        "serve",
        f"--host={HOST}",
        f"--port={port}",
    ]
    with running_server(
        command,
        env=api_env(folder, args.client_id, args.client_secret),
        ready_url=f"{base_url}/readyz",
        log_path=folder / "server.log",
    ):
        results = asyncio.run(measure(args, base_url, wrk))

    burst, paced, load = results["burst"], results["paced"], results["load"]
    drain = results["drain"]
    assert isinstance(burst, PhaseResult)
    assert isinstance(drain, Drain)
    assert isinstance(paced, PhaseResult)
    assert isinstance(load, WrkResult)
    raw = {
        "burst": asdict(burst),
        "drain": asdict(drain),
        "paced": asdict(paced),
        "load": asdict(load),
    }
    (folder / "results.json").write_text(json.dumps(raw, indent=2))

    machine = report.machine_rows(
        [("wrk", wrk_version(wrk)), ("load average before the run", load_before)]
    )
    section = render_section(burst, drain, paced, load, args, machine)
    print(section)
    if not args.no_write:
        report.write_section(SECTION, section)
        print(f"Wrote the {SECTION} section of {report.DOCS_PAGE}")
    print(f"Server log and raw results: {folder}; command: {shlex.join(command)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
