"""Compare the CPU cost per webhook POST of httpx and aiohttp.

Run from the repository root:

    .venv/bin/python bench/webhook_clients.py --requests 5000

A receiver in a child process responds to every POST on 127.0.0.1 with an empty
200 and keeps the connection open. This process sends `--requests` POSTs of
a 1 KiB JSON body with `--concurrency` in flight, over at most 4
connections, through each client in turn: httpx 0.28 with its default
transport, and aiohttp with the delivery worker's address-checking
connector. With connections kept open the address check runs once per
connection, so it adds next to nothing per request. The figure
to compare is this process's CPU time per request, since the worker's CPU
is what limits deliveries per second on a busy server.
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing
import socket
import time
from collections.abc import Awaitable, Callable
from typing import Any

import aiohttp
import httpx
from techcorp_server.webhooks.addresses import system_resolve
from techcorp_server.webhooks.resolver import GuardedConnector, GuardedResolver

HOST = "127.0.0.1"
MAX_CONNECTIONS = 4
BODY = b'{"id":"evt_1","type":"product.created","data":{"name":"' + b"x" * 960 + b'"}}'
HEADERS = {
    "Content-Type": "application/json",
    "webhook-id": "evt_1",
    "webhook-timestamp": "1764880000",
    "webhook-signature": "v1,Zm9vYmFyYmF6cXV4Zm9vYmFyYmF6cXV4Zm9vYmFy",
    "X-Signature": "0" * 64,
    "X-Event-Id": "evt_1",
    "X-Event-Type": "product.created",
}
RESPONSE = b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n"

Send = Callable[[str], Awaitable[int]]


async def _answer(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    try:
        while True:
            head = await reader.readuntil(b"\r\n\r\n")
            length = 0
            for line in head.split(b"\r\n"):
                name, _, value = line.partition(b":")
                if name.strip().lower() == b"content-length":
                    length = int(value)
            await reader.readexactly(length)
            writer.write(RESPONSE)
    except (asyncio.IncompleteReadError, ConnectionError):
        writer.close()


def _serve(port: int) -> None:
    async def main() -> None:
        server = await asyncio.start_server(_answer, HOST, port)
        await server.serve_forever()

    asyncio.run(main())


async def _run(send: Send, url: str, requests: int, concurrency: int) -> float:
    """Send `requests` POSTs and return the CPU seconds this process used."""
    remaining = iter(range(requests))

    async def sender() -> None:
        for _ in remaining:
            status = await send(url)
            if status != 200:
                raise RuntimeError(f"The receiver returned {status}, expected 200.")

    await send(url)
    started = time.process_time()
    await asyncio.gather(*(sender() for _ in range(concurrency)))
    return time.process_time() - started


async def measure_httpx(url: str, requests: int, concurrency: int) -> float:
    limits = httpx.Limits(
        max_connections=MAX_CONNECTIONS, max_keepalive_connections=MAX_CONNECTIONS
    )
    async with httpx.AsyncClient(limits=limits, trust_env=False) as client:

        async def send(target: str) -> int:
            response = await client.post(target, content=BODY, headers=HEADERS)
            return response.status_code

        return await _run(send, url, requests, concurrency)


async def measure_aiohttp(url: str, requests: int, concurrency: int) -> float:
    resolver = GuardedResolver(system_resolve, allow_loopback=True)
    connector = GuardedConnector(resolver, limit=MAX_CONNECTIONS)
    async with aiohttp.ClientSession(connector=connector, trust_env=False) as session:

        async def send(target: str) -> int:
            async with session.post(
                target, data=BODY, headers=HEADERS, allow_redirects=False
            ) as response:
                await response.read()
                return response.status

        return await _run(send, url, requests, concurrency)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=5000)
    parser.add_argument("--concurrency", type=int, default=64)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()

    with socket.socket() as probe:
        probe.bind((HOST, 0))
        port = probe.getsockname()[1]
    receiver = multiprocessing.Process(target=_serve, args=(port,), daemon=True)
    receiver.start()
    time.sleep(0.5)
    url = f"http://localhost:{port}/hook"
    clients: dict[str, Any] = {"httpx": measure_httpx, "aiohttp": measure_aiohttp}
    try:
        for round_number in range(1, args.rounds + 1):
            for name, measure in clients.items():
                cpu = asyncio.run(measure(url, args.requests, args.concurrency))
                print(
                    f"round {round_number} {name:8} "
                    f"{cpu / args.requests * 1e6:7.0f} µs CPU per request"
                )
    finally:
        receiver.terminate()
        receiver.join()


if __name__ == "__main__":
    main()
