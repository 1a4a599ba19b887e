"""Helpers for the webhook and stream tests: token sources, a webhook receiver,
a Redis server, and the API calls that cause events."""

from __future__ import annotations

import asyncio
import queue
import re
import shutil
import socket
import subprocess
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, TypeVar

import httpx

from techcorp.events import StreamMessage
from techcorp.stream import AsyncEventStream, EventStream

from .server import ADMIN_CLIENT_ID, ADMIN_CLIENT_SECRET, free_port

WAIT_SECONDS = 15.0

Message = TypeVar("Message", bound=StreamMessage)


def fetch_token(base_url: str) -> str:
    response = httpx.post(
        f"{base_url}/v2/auth/token",
        json={"client_id": ADMIN_CLIENT_ID, "client_secret": ADMIN_CLIENT_SECRET},
    )
    response.raise_for_status()
    token: str = response.json()["access_token"]
    return token


class TokenFetcher:
    """A token source over `POST /v2/auth/token` that counts its fetches."""

    def __init__(self, base_url: str) -> None:
        self.base_url = base_url
        self.token: str | None = None
        self.fetches = 0
        self.invalidations = 0

    def get(self) -> str:
        if self.token is None:
            self.token = fetch_token(self.base_url)
            self.fetches += 1
        return self.token

    def invalidate(self) -> None:
        self.token = None
        self.invalidations += 1


class AsyncTokenFetcher:
    """`TokenFetcher` with an async `get`, over httpx's async client."""

    def __init__(self, base_url: str) -> None:
        self.base_url = base_url
        self.token: str | None = None
        self.fetches = 0
        self.invalidations = 0

    async def get(self) -> str:
        if self.token is None:
            async with httpx.AsyncClient() as client:
                response = await client.post(
                    f"{self.base_url}/v2/auth/token",
                    json={
                        "client_id": ADMIN_CLIENT_ID,
                        "client_secret": ADMIN_CLIENT_SECRET,
                    },
                )
            response.raise_for_status()
            self.token = response.json()["access_token"]
            self.fetches += 1
        assert self.token is not None
        return self.token

    def invalidate(self) -> None:
        self.token = None
        self.invalidations += 1


class Api:
    """An admin's httpx client for the calls that cause events."""

    def __init__(self, base_url: str) -> None:
        self.base_url = base_url
        self.client = httpx.Client(base_url=base_url, timeout=10)
        self.authenticate()

    def authenticate(self) -> None:
        token = fetch_token(self.base_url)
        self.client.headers["Authorization"] = f"Bearer {token}"

    def request(self, method: str, path: str, **options: Any) -> dict[str, Any]:
        response = self.client.request(method, path, **options)
        assert response.status_code < 300, response.text
        body: dict[str, Any] = response.json()
        return body

    def create_product(self, price: float = 10.0, category: str = "books") -> str:
        name = f"Widget {uuid.uuid4().hex[:8]}"
        body = {"name": name, "price": price, "category": category}
        product_id: str = self.request("POST", "/v2/products", json=body)["id"]
        return product_id

    def set_price(self, product_id: str, price: float) -> None:
        self.request("PATCH", f"/v2/products/{product_id}", json={"price": price})

    def close(self) -> None:
        self.client.close()


@dataclass(frozen=True)
class Delivery:
    headers: dict[str, str]
    body: bytes

    @property
    def event_type(self) -> str:
        return self.headers["x-event-type"]


class Receiver:
    """A webhook receiver on 127.0.0.1 that records each request and responds 204."""

    def __init__(self) -> None:
        self.deliveries: list[Delivery] = []
        self._arrived = threading.Condition()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}/hooks"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length", "0"))
                body = self.rfile.read(length)
                headers = {name.lower(): value for name, value in self.headers.items()}
                self.send_response(204)
                self.end_headers()
                receiver._record(Delivery(headers, body))

            def log_message(self, format: str, *args: Any) -> None:
                pass

        return Handler

    def _record(self, delivery: Delivery) -> None:
        with self._arrived:
            self.deliveries.append(delivery)
            self._arrived.notify_all()

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def wait_for(self, event_type: str) -> Delivery:
        """Return the first delivery of `event_type`, waiting for it to arrive."""

        def found() -> Delivery | None:
            return next(
                (d for d in self.deliveries if d.event_type == event_type), None
            )

        with self._arrived:
            arrived = self._arrived.wait_for(found, WAIT_SECONDS)
        assert arrived is not None, f"no {event_type} delivery in {WAIT_SECONDS} s"
        return arrived


class RedisServer:
    """`redis-server` without persistence on 127.0.0.1, from Debian's package."""

    def __init__(self, data_dir: Path) -> None:
        self.port = free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.data_dir = data_dir
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        program = shutil.which("redis-server")
        if program is None:
            raise RuntimeError(
                "redis-server is not installed; install the Debian package "
                "redis-server (scripts/test.sh does)."
            )
        command = [program, "--bind", "127.0.0.1", "--port", str(self.port)]
        command += ["--save", "", "--appendonly", "no", "--dir", str(self.data_dir)]
        self.process = subprocess.Popen(command, stdout=subprocess.DEVNULL)
        wait_until(self._answers_ping, "redis-server did not start")

    def _answers_ping(self) -> bool:
        try:
            with socket.create_connection(("127.0.0.1", self.port), timeout=1) as conn:
                conn.sendall(b"PING\r\n")
                return conn.recv(16).startswith(b"+PONG")
        except OSError:
            return False

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(timeout=10)


def wait_until(condition: Callable[[], bool], failure: str) -> None:
    deadline = time.monotonic() + WAIT_SECONDS
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(failure)
        time.sleep(0.05)


class Collector:
    """Iterates an `EventStream` in a thread, so a test can wait with a timeout."""

    def __init__(self, stream: EventStream) -> None:
        self.stream = stream
        self._messages: queue.Queue[StreamMessage | BaseException | None] = (
            queue.Queue()
        )
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        try:
            for message in self.stream:
                self._messages.put(message)
        except BaseException as exc:  # The test raises it from next().
            self._messages.put(exc)
        self._messages.put(None)

    def next(self, seconds: float = WAIT_SECONDS) -> StreamMessage | None:
        """Return the next message, or None once the iteration ended."""
        item = self._messages.get(timeout=seconds)
        if isinstance(item, BaseException):
            raise item
        return item

    def next_of_type(
        self, kind: type[Message], seconds: float = WAIT_SECONDS
    ) -> Message:
        deadline = time.monotonic() + seconds
        while True:
            message = self.next(max(0.0, deadline - time.monotonic()))
            if message is None:
                raise AssertionError(f"the stream ended before a {kind.__name__}")
            if isinstance(message, kind):
                return message

    def close(self) -> None:
        self.stream.close()
        self._thread.join(WAIT_SECONDS)
        assert not self._thread.is_alive(), "the stream did not stop after close()"


async def next_of_type(
    stream: AsyncEventStream, kind: type[Message], seconds: float = WAIT_SECONDS
) -> Message:
    """Return the next message of type `kind` from an async stream."""
    async with asyncio.timeout(seconds):
        async for message in stream:
            if isinstance(message, kind):
                return message
    raise AssertionError(f"the stream ended before a {kind.__name__}")


README_PATH = Path(__file__).parents[1] / "README.md"
WEBHOOKS_SECTION = "## Webhooks"
STREAM_SECTION = "## The event stream"


def docs_examples(section: str) -> str:
    """Return the Python examples of the README's webhook or stream part, joined."""
    text = README_PATH.read_text()
    _, _, events = text.partition(WEBHOOKS_SECTION)
    webhooks, _, stream = events.partition(STREAM_SECTION)
    chosen = stream if section == "stream" else webhooks
    blocks = re.findall(r"```python\n(.*?)```", chosen, flags=re.DOTALL)
    assert blocks, f"no Python examples in the {section} part of {README_PATH}"
    return "\n".join(blocks)
