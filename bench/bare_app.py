"""The baseline ASGI app: every request gets the same pre-rendered list page.

It does no routing, parsing, authentication or database work, so its rate is
the most that granian, wrk and the machine allow for a body of this size. The
API's rates are reported as a fraction of it.

A POST gets a fixed body shaped like a token response once its whole body is
read. That rate is the most a request with a body reaches, the ceiling of
`POST /v2/auth/token`.

Run it with `granian --interface asgi --working-dir bench bare_app:app`. When
`BENCH_PAGE_FILE` names a file, that file's bytes are the body (the benchmark
saves the API's real first page there), otherwise `sample_page.py` provides it.
"""

from __future__ import annotations

import os
from pathlib import Path

import orjson
from starlette.types import Receive, Scope, Send

from sample_page import sample_page


def _load_body() -> bytes:
    page_file = os.environ.get("BENCH_PAGE_FILE")
    if page_file:
        return Path(page_file).read_bytes()
    return orjson.dumps(sample_page())


def _headers(body: bytes) -> list[tuple[bytes, bytes]]:
    return [
        (b"content-type", b"application/json"),
        (b"content-length", str(len(body)).encode("ascii")),
    ]


BODY = _load_body()
HEADERS = _headers(BODY)
TOKEN_BODY = orjson.dumps(
    {"access_token": "x" * 250, "token_type": "Bearer", "expires_in": 3600}
)
TOKEN_HEADERS = _headers(TOKEN_BODY)


async def read_body(receive: Receive) -> bytes:
    chunks = []
    while True:
        message = await receive()
        chunks.append(message.get("body", b""))
        if not message.get("more_body", False):
            return b"".join(chunks)


async def run_lifespan(receive: Receive, send: Send) -> None:
    """Complete the ASGI lifespan protocol; there is nothing to set up."""
    while True:
        message = await receive()
        if message["type"] == "lifespan.startup":
            await send({"type": "lifespan.startup.complete"})
        elif message["type"] == "lifespan.shutdown":
            await send({"type": "lifespan.shutdown.complete"})
            return


async def app(scope: Scope, receive: Receive, send: Send) -> None:
    if scope["type"] == "lifespan":
        await run_lifespan(receive, send)
        return

    if scope["method"] == "POST":
        await read_body(receive)
        await send(
            {"type": "http.response.start", "status": 200, "headers": TOKEN_HEADERS}
        )
        await send({"type": "http.response.body", "body": TOKEN_BODY})
        return

    await send({"type": "http.response.start", "status": 200, "headers": HEADERS})
    await send({"type": "http.response.body", "body": BODY})
