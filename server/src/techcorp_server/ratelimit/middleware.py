"""Per-client rate limiting of `/v2`, with the headers clients read.

Every response under `/v2`, errors and 429 included, carries
`X-RateLimit-Limit`, `X-RateLimit-Remaining`, `X-RateLimit-Reset` (Unix
seconds) and the IETF draft fields `RateLimit-Policy` and `RateLimit`
(draft-ietf-httpapi-ratelimit-headers-08). WebSocket handshakes under `/v2`
count too. Health checks and metrics live outside `/v2` and are not limited.
"""

from __future__ import annotations

import ipaddress
import logging
import time
from collections.abc import Sequence
from functools import lru_cache

from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from ..core.errors import RateLimitedError, ServiceUnavailableError
from ..core.handlers import error_response, request_id_of
from .client_ip import ClientIPResolver, IPNetwork
from .limiter import Decision, RateLimiter

logger = logging.getLogger(__name__)

LIMITED_PREFIX = "/v2"

IPV6_CLIENT_PREFIX = 64
"""The prefix length IPv6 clients are counted under. A subscriber is usually
assigned a whole /64 and could otherwise rotate addresses to escape the limit."""

# RFC 6455 section 7.4.1 "try again later", for a refused handshake when the
# server cannot send an HTTP denial response.
WS_TRY_AGAIN_LATER = 1013

Headers = list[tuple[bytes, bytes]]


@lru_cache(maxsize=4096)
def _ipv6_key(address: str) -> str:
    try:
        network = ipaddress.ip_network(f"{address}/{IPV6_CLIENT_PREFIX}", strict=False)
    except ValueError:
        return address
    return str(network)


def rate_limit_key(client_ip: str | None) -> str:
    """Return the key a client is counted under: its IPv4 address or IPv6 /64."""
    if client_ip is None:
        return "unknown"
    if ":" in client_ip:
        return _ipv6_key(client_ip)
    return client_ip


def _is_limited(path: str) -> bool:
    return path == LIMITED_PREFIX or path.startswith(LIMITED_PREFIX + "/")


class RateLimitMiddleware:
    """Count each `/v2` request against its client and add the headers."""

    def __init__(
        self,
        app: ASGIApp,
        *,
        limiter: RateLimiter,
        trusted_proxies: Sequence[IPNetwork] = (),
    ) -> None:
        self.app = app
        self.limiter = limiter
        self.resolver = ClientIPResolver(trusted_proxies)
        self.policy = f'"default";q={limiter.limit};w={limiter.window_seconds}'.encode()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        scope_type = scope["type"]
        if scope_type not in ("http", "websocket") or not _is_limited(scope["path"]):
            await self.app(scope, receive, send)
            return

        client_ip = self.resolver.resolve(scope)
        state = scope.get("state")
        if state is None:
            state = scope["state"] = {}
        state["client_ip"] = client_ip

        try:
            decision = await self.limiter.hit(rate_limit_key(client_ip))
        except ServiceUnavailableError as exc:
            logger.warning(
                "rate limit check failed: %s", exc.__cause__ or exc, exc_info=False
            )
            await self._respond(
                scope, receive, send, error_response(exc, request_id_of(scope))
            )
            return
        headers = self._headers(decision)
        if not decision.allowed:
            await self._reject(scope, receive, send, decision, headers)
            return

        start_type = (
            "http.response.start" if scope_type == "http" else "websocket.accept"
        )

        async def send_with_headers(message: Message) -> None:
            message_type = message["type"]
            if message_type == start_type or (
                message_type == "websocket.http.response.start"
            ):
                message["headers"] = [*message.get("headers", ()), *headers]
            await send(message)

        await self.app(scope, receive, send_with_headers)

    def _headers(self, decision: Decision) -> Headers:
        remaining = str(decision.remaining).encode()
        seconds_to_reset = max(0, decision.reset_at - int(time.time()))
        return [
            (b"x-ratelimit-limit", str(decision.limit).encode()),
            (b"x-ratelimit-remaining", remaining),
            (b"x-ratelimit-reset", str(decision.reset_at).encode()),
            (b"ratelimit-policy", self.policy),
            (
                b"ratelimit",
                b'"default";r=' + remaining + b";t=%d" % seconds_to_reset,
            ),
        ]

    async def _reject(
        self,
        scope: Scope,
        receive: Receive,
        send: Send,
        decision: Decision,
        headers: Headers,
    ) -> None:
        error = RateLimitedError(
            f"Too many requests: the limit is {decision.limit} per "
            f"{self.limiter.window_seconds} seconds for each client. Retry "
            f"after {decision.retry_after} seconds.",
            headers={"Retry-After": str(decision.retry_after)},
        )
        response = error_response(error, request_id_of(scope))
        response.raw_headers.extend(headers)
        await self._respond(scope, receive, send, response)

    async def _respond(
        self, scope: Scope, receive: Receive, send: Send, response: Response
    ) -> None:
        if scope["type"] == "websocket":
            # Receive the handshake (`websocket.connect`) before responding to
            # it, as Starlette's WebSocket does.
            await receive()
            if "websocket.http.response" not in scope.get("extensions", {}):
                await send({"type": "websocket.close", "code": WS_TRY_AGAIN_LATER})
                return
        await response(scope, receive, send)
