"""Time one API request in-process, with no sockets, and optionally profile it.

Run from the repository root:

    .venv/bin/python bench/profile_request.py list [--cache-off] [--profile]
    .venv/bin/python bench/profile_request.py token [--profile]

It builds the app on a temporary SQLite file with 50 products, then calls the
ASGI app directly with a fixed scope, so the figure is the server's own
Python cost per request: middleware, routing, authentication and the
endpoint, without granian or the network. `--profile` prints the 30
functions with the most cumulative time under cProfile.
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import pstats
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx
from asgi_lifespan import LifespanManager
from starlette.types import ASGIApp, Message
from techcorp_server.app import create_app
from techcorp_server.settings import Settings

CLIENT_ID = "profile-client"
CLIENT_SECRET = "profile-secret-0123456789abcdef"  # noqa: S105 - throwaway
PRODUCTS = 50
WARM_UP_REQUESTS = 300


def settings(folder: Path, cache_entries: int) -> Settings:
    return Settings(
        database_url=f"sqlite:///{folder / 'profile.db'}",
        bootstrap_client_id=CLIENT_ID,
        bootstrap_client_secret=CLIENT_SECRET,
        rate_limit_per_minute=10**9,
        log_level="warning",
        list_cache_entries=cache_entries,
    )


async def seed(app: ASGIApp) -> str:
    """Create the products through the API and return an admin token."""
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://bench") as api:
        response = await api.post(
            "/v2/auth/token",
            json={"client_id": CLIENT_ID, "client_secret": CLIENT_SECRET},
        )
        token: str = response.json()["access_token"]
        for number in range(PRODUCTS):
            await api.post(
                "/v2/products",
                json={"name": f"Widget {number}", "price": 9.99, "category": "books"},
                headers={"Authorization": f"Bearer {token}"},
            )
    return token


def request_of(kind: str, token: str) -> tuple[dict[str, Any], bytes]:
    """Return the ASGI scope and body of the request to repeat."""
    headers = [(b"host", b"127.0.0.1:8000")]
    if kind == "token":
        body = f'{{"client_id":"{CLIENT_ID}","client_secret":"{CLIENT_SECRET}"}}'
        headers += [(b"content-type", b"application/json")]
        method, path, query = "POST", "/v2/auth/token", b""
    else:
        body = ""
        headers += [(b"authorization", f"Bearer {token}".encode())]
        method, path, query = "GET", "/v2/products", b"limit=20"
    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": method,
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "query_string": query,
        "root_path": "",
        "headers": headers,
        "client": ("127.0.0.1", 50000),
        "server": ("127.0.0.1", 8000),
    }
    return scope, body.encode()


async def repeat(app: ASGIApp, scope: dict[str, Any], body: bytes, count: int) -> None:
    statuses: set[int] = set()

    async def receive() -> Message:
        return {"type": "http.request", "body": body, "more_body": False}

    async def send(message: Message) -> None:
        if message["type"] == "http.response.start":
            statuses.add(message["status"])

    for _ in range(count):
        await app({**scope, "state": {}}, receive, send)
    if statuses != {200}:
        sys.exit(f"expected only 200 responses, got {sorted(statuses)}")


async def run(args: argparse.Namespace) -> None:
    with tempfile.TemporaryDirectory() as folder:
        app = create_app(settings(Path(folder), 0 if args.cache_off else 2048))
        async with LifespanManager(app) as manager:
            token = await seed(manager.app)
            scope, body = request_of(args.kind, token)
            await repeat(manager.app, scope, body, WARM_UP_REQUESTS)

            started = time.perf_counter()
            await repeat(manager.app, scope, body, args.requests)
            elapsed = time.perf_counter() - started
            print(f"{args.kind}: {elapsed / args.requests * 1e6:.1f} µs per request")

            if args.profile:
                profiler = cProfile.Profile()
                profiler.enable()
                await repeat(manager.app, scope, body, args.requests)
                profiler.disable()
                pstats.Stats(profiler).sort_stats("cumulative").print_stats(30)


def main(argv: list[str]) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("kind", choices=["list", "token"])
    parser.add_argument("--requests", type=int, default=3000)
    parser.add_argument("--cache-off", action="store_true")
    parser.add_argument("--profile", action="store_true")
    asyncio.run(run(parser.parse_args(argv)))


if __name__ == "__main__":
    main(sys.argv[1:])
