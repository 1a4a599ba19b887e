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
from starlette.types import ASGIApp, Receive, Scope, Send

from ..core.errors import RateLimitedError, ServiceUnavailableError
from ..core.handlers import error_response, request_id_of
from ..core.request_context import RESPONSE_HEADERS
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
    """Count each `/v2` request against its client and add the headers.

    It runs inside `RequestContextMiddleware`, which adds the headers to the
    response.
    """

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
        state = scope["state"]
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
        # The request context adds these to the response, whichever layer
        # sends it, so every response to a counted request carries them.
        state[RESPONSE_HEADERS].extend(headers)
        if not decision.allowed:
            await self._reject(scope, receive, send, decision)
            return
        await self.app(scope, receive, send)

    def _headers(self, decision: Decision) -> Headers:
        remaining = b"%d" % decision.remaining
        seconds_to_reset = max(0, decision.reset_at - int(time.time()))
        return [
            (b"x-ratelimit-limit", b"%d" % decision.limit),
            (b"x-ratelimit-remaining", remaining),
            (b"x-ratelimit-reset", b"%d" % decision.reset_at),
            (b"ratelimit-policy", self.policy),
            (b"ratelimit", b'"default";r=%b;t=%d' % (remaining, seconds_to_reset)),
        ]

    async def _reject(
        self,
        scope: Scope,
        receive: Receive,
        send: Send,
        decision: Decision,
    ) -> None:
        error = RateLimitedError(
            f"Too many requests: the limit is {decision.limit} per "
            f"{self.limiter.window_seconds} seconds for each client. Retry "
            f"after {decision.retry_after} seconds.",
            headers={"Retry-After": str(decision.retry_after)},
        )
        await self._respond(
            scope, receive, send, error_response(error, request_id_of(scope))
        )

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
