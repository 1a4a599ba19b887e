"""The load generator of the stream benchmark: many WebSocket clients in one process.

Started by `stream_fanout.py`, never by hand. It opens `--connections`
connections to `/v2/events`, prints one JSON line `{"connected": n}` once
they are all open, and records the arrival time (Unix seconds) of every
`market_update`. The access token comes in the `STREAM_BENCH_TOKEN`
environment variable, which other users cannot read the way they can read
arguments. When its standard input closes, it writes the arrivals to
`--output` as `{"arrivals": {"<product_id> <price>": [seconds, ...]},
"closed": n}` and exits.

Each client is an asyncio protocol driving the `websockets` library's
sans-I/O `ClientProtocol`, so a message costs one `data_received` call
instead of a task switch in a `recv()` loop. The generator reads thousands
of sockets per event, and its own delay is part of every measured latency.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
import time
from collections import defaultdict
from pathlib import Path
from typing import cast

import orjson
import uvloop
from websockets.client import ClientProtocol
from websockets.frames import Frame, Opcode
from websockets.protocol import State
from websockets.uri import parse_uri

CONNECT_CONCURRENCY = 200
"""Handshakes in flight at once, well below granian's default listen backlog
of 1024."""

OPEN_TIMEOUT_SECONDS = 60.0

PONG = b'{"action": "pong"}'


def arrival_key(product_id: str, price: float) -> str:
    """Name one price change: the product and its new price.

    JSON renders a whole price such as 218.0 as 218, so the price is made a
    float on both sides.
    """
    return f"{product_id} {float(price)}"


class Arrivals:
    def __init__(self) -> None:
        self.times: defaultdict[str, list[float]] = defaultdict(list)
        self.closed = 0


class StreamClient(asyncio.Protocol):
    """One connection: the handshake, then every text frame as it arrives."""

    def __init__(self, url: str, token: str, arrivals: Arrivals) -> None:
        self.protocol = ClientProtocol(parse_uri(url))
        self.request = self.protocol.connect()
        self.request.headers["Authorization"] = f"Bearer {token}"
        self.arrivals = arrivals
        self.opened: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self.transport: asyncio.Transport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        # uvloop's transports do not derive from asyncio.Transport.
        self.transport = cast(asyncio.Transport, transport)
        self.protocol.send_request(self.request)
        self._flush()

    def data_received(self, data: bytes) -> None:
        arrived_at = time.time()
        self.protocol.receive_data(data)
        for event in self.protocol.events_received():
            if isinstance(event, Frame) and event.opcode is Opcode.TEXT:
                self._message(event.data, arrived_at)
        if not self.opened.done():
            self._check_handshake()
        self._flush()

    def _check_handshake(self) -> None:
        if self.protocol.handshake_exc is not None:
            self.opened.set_exception(self.protocol.handshake_exc)
        elif self.protocol.state is State.OPEN:
            self.opened.set_result(None)

    def _message(self, text: bytes | bytearray | memoryview, arrived_at: float) -> None:
        message = orjson.loads(text)
        if message["type"] == "market_update":
            data = message["data"]
            key = arrival_key(data["product_id"], data["price"])
            self.arrivals.times[key].append(arrived_at)
        elif message["type"] == "ping":
            self.protocol.send_text(PONG)

    def _flush(self) -> None:
        assert self.transport is not None
        for chunk in self.protocol.data_to_send():
            if chunk:
                self.transport.write(chunk)
            elif self.transport.can_write_eof():
                self.transport.write_eof()

    def connection_lost(self, exc: Exception | None) -> None:
        if self.opened.done():
            self.arrivals.closed += 1
        else:
            self.opened.set_exception(ConnectionError("closed during the handshake"))

    def close(self) -> None:
        if self.transport is not None:
            self.transport.abort()


async def _open(
    url: str, token: str, arrivals: Arrivals, gate: asyncio.Semaphore
) -> StreamClient:
    uri = parse_uri(url)
    loop = asyncio.get_running_loop()
    async with gate, asyncio.timeout(OPEN_TIMEOUT_SECONDS):
        _, client = await loop.create_connection(
            lambda: StreamClient(url, token, arrivals), uri.host, uri.port
        )
        await client.opened
    return client


async def run(url: str, token: str, connections: int, output: Path) -> None:
    gate = asyncio.Semaphore(CONNECT_CONCURRENCY)
    arrivals = Arrivals()
    clients = await asyncio.gather(
        *(_open(url, token, arrivals, gate) for _ in range(connections))
    )
    print(json.dumps({"connected": len(clients)}), flush=True)

    await asyncio.to_thread(sys.stdin.read)
    closed_by_server = arrivals.closed
    for client in clients:
        client.close()
    document = {"arrivals": arrivals.times, "closed": closed_by_server}
    await asyncio.to_thread(output.write_text, json.dumps(document))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--url", required=True)
    parser.add_argument("--connections", type=int, required=True)
    parser.add_argument("--output", type=Path, required=True)
    args = parser.parse_args()
    token = os.environ["STREAM_BENCH_TOKEN"]
    uvloop.run(run(args.url, token, args.connections, args.output))


if __name__ == "__main__":
    main()
