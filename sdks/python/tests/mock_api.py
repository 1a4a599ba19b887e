"""A scripted API behind `httpx.MockTransport`, for failure paths that a
real server cannot be made to produce on demand. Nothing connects."""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from typing import Any

import httpx

from techcorp import AsyncTechCorp, RetryPolicy, TechCorp

BASE_URL = "http://api.test"
TOKEN_PATH = "/v2/auth/token"
Reply = httpx.Response | Exception

PRODUCT = {
    "id": "prd_1",
    "name": "Lamp",
    "price": 19.99,
    "category": "home",
    "description": None,
    "created_at": "2026-01-01T00:00:00Z",
    "updated_at": "2026-01-01T00:00:00Z",
}


def json_reply(status: int, body: Any = None, **headers: str) -> httpx.Response:
    return httpx.Response(
        status, json=body if body is not None else {}, headers=headers
    )


def error_reply(status: int, code: str, **headers: str) -> httpx.Response:
    return json_reply(
        status, {"error": code, "message": f"{code} for a test"}, **headers
    )


class MockAPI:
    """A fake API: it returns a fresh token for each token request and the
    next scripted reply for every other request, and records the requests."""

    def __init__(self, replies: Sequence[Reply]) -> None:
        self.replies = list(replies)
        self.requests: list[httpx.Request] = []
        self.tokens_issued = 0
        self.sleeps: list[float] = []

    def handle(self, request: httpx.Request) -> httpx.Response:
        if request.url.path == TOKEN_PATH:
            self.tokens_issued += 1
            token = {
                "access_token": f"token-{self.tokens_issued}",
                "token_type": "Bearer",
                "expires_in": 3600,
            }
            return json_reply(200, token)
        self.requests.append(request)
        reply = self.replies.pop(0)
        if isinstance(reply, Exception):
            raise reply
        return reply

    def policy(self, random: Callable[[], float] = lambda: 0.0) -> RetryPolicy:
        return RetryPolicy(random=random)

    def _arguments(self, options: dict[str, Any]) -> dict[str, Any]:
        defaults = {"client_id": "id", "client_secret": "secret"}
        return {
            **defaults,
            "base_url": BASE_URL,
            "retry_policy": self.policy(),
            **options,
        }

    def client(self, **options: Any) -> TechCorp:
        http = httpx.Client(transport=httpx.MockTransport(self.handle))
        client = TechCorp(http_client=http, **self._arguments(options))
        client._sleep = self.sleeps.append
        return client

    def async_client(self, **options: Any) -> AsyncTechCorp:
        http = httpx.AsyncClient(transport=httpx.MockTransport(self.handle))
        client = AsyncTechCorp(http_client=http, **self._arguments(options))

        async def sleep(seconds: float) -> None:
            self.sleeps.append(seconds)

        client._sleep = sleep
        return client

    def sent_bodies(self) -> list[Any]:
        return [json.loads(request.content or b"null") for request in self.requests]
