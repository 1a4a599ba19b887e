"""An ASGI app for the wrk tests: 200 for the exact POST a test expects, else 400.

`EXPECTED_BODY` is the JSON body that earns a 200. `GET /ready` gets a 200
too, so the test can tell when the server is up.
"""

from __future__ import annotations

import os

from starlette.types import Receive, Scope, Send

from bare_app import run_lifespan

EXPECTED_BODY = os.environ["EXPECTED_BODY"].encode()


async def _read_body(receive: Receive) -> bytes:
    body = b""
    while True:
        message = await receive()
        chunk: bytes = message.get("body", b"")
        body += chunk
        if not message.get("more_body", False):
            return body


async def app(scope: Scope, receive: Receive, send: Send) -> None:
    if scope["type"] == "lifespan":
        await run_lifespan(receive, send)
        return

    body = await _read_body(receive)
    headers = dict(scope["headers"])
    ready = scope["method"] == "GET" and scope["path"] == "/ready"
    expected = (
        scope["method"] == "POST"
        and headers.get(b"content-type") == b"application/json"
        and body == EXPECTED_BODY
    )
    status = 200 if expected or ready else 400
    await send({"type": "http.response.start", "status": status, "headers": []})
    await send({"type": "http.response.body", "body": b""})
