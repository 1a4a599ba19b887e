"""Retries against a real server: a 429 honoured, and a POST retried after
the server acted on it creating one object."""

from __future__ import annotations

import time
import uuid

import httpx

from techcorp import TechCorp

from .conftest import RATE_LIMIT
from .server import LocalServer, admin_client


def test_rate_limited_requests_wait_and_succeed(limited_server: LocalServer) -> None:
    statuses: list[int] = []
    retry_afters: list[float] = []
    sleeps: list[float] = []

    def record(response: httpx.Response) -> None:
        statuses.append(response.status_code)
        if response.status_code == 429:
            retry_afters.append(float(response.headers["Retry-After"]))

    def sleep(seconds: float) -> None:
        sleeps.append(seconds)
        time.sleep(seconds)

    http = httpx.Client(event_hooks={"response": [record]})
    with (
        http,
        admin_client(limited_server, http_client=http, max_retries=5) as client,
    ):
        client._sleep = sleep
        for _ in range(RATE_LIMIT + 2):
            client.system.status()

    assert 429 in statuses
    assert statuses.count(200) == RATE_LIMIT + 3  # the token request included
    assert sleeps == retry_afters


class LoseFirstResponse(httpx.BaseTransport):
    """Forwards every request to the real server, then loses the first
    response to a POST as if the connection broke while it was on its way."""

    def __init__(self) -> None:
        self.inner = httpx.HTTPTransport()
        self.lost = 0

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        response = self.inner.handle_request(request)
        if request.method == "POST" and request.url.path != "/v2/auth/token":
            response.read()
            if not self.lost:
                self.lost += 1
                raise httpx.ReadError("connection reset after the response")
        return response

    def close(self) -> None:
        self.inner.close()


def test_retried_post_creates_one_object(server: LocalServer, client: TechCorp) -> None:
    category = f"once-{uuid.uuid4().hex[:8]}"
    transport = LoseFirstResponse()
    http = httpx.Client(transport=transport)
    with (
        http,
        admin_client(server, http_client=http) as flaky,
    ):
        flaky._sleep = lambda seconds: None
        product = flaky.products.create(name="Once", price=5, category=category)

    assert transport.lost == 1
    listed = client.products.list(category=category)
    assert [item.id for item in listed.data] == [product.id]
