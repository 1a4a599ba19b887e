"""The outermost middleware: request id, access log, metrics and a last-resort 500.

Every HTTP response and every response to a WebSocket handshake leaves with
an `X-Request-Id` header, and with the headers that the layers below list in
`scope["state"]["response_headers"]`. The id is stored in
`scope["state"]["request_id"]` for the layers below and in `request_id_var`
for log records. An exception that escapes everything else is logged here,
once, with its traceback, and turned into the JSON 500 if the response has
not started."""

from __future__ import annotations

import logging
import os
import re
import time
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from ..observability.metrics import UNMATCHED_ROUTE, RequestMetrics, request_metrics
from .errors import InternalError
from .handlers import INTERNAL_ERROR_MESSAGE, error_response
from .logging import REDACTED_FLAG, redact, request_id_var

REQUEST_ID_HEADER = b"x-request-id"

Headers = list[tuple[bytes, bytes]]

# Echoing an incoming id lets a caller trace a request across its own logs and
# ours. An id outside this alphabet or length could inject text into the logs,
# so it is replaced.
_SANE_REQUEST_ID = re.compile(rb"[A-Za-z0-9._:-]{1,128}")

RESPONSE_HEADERS = "response_headers"
"""The scope state key of the headers that every response to the request gets.

The request id is the first. The layers below may add theirs, as the rate
limiter does. The request context adds them all when the response starts,
so no other layer has to wrap `send` for it.
"""

SERVER_SEND = "server_send"
"""The scope state key of a WebSocket's unwrapped ASGI `send`."""

# RFC 6455 section 7.4.1 "internal error" close code.
WS_INTERNAL_ERROR = 1011

logger = logging.getLogger(__name__)
access_logger = logging.getLogger("techcorp_server.access")


def new_request_id() -> str:
    """Return a fresh id such as `req_5f0c2a9e1b7d4c3a8e6f0b12` (96 random bits)."""
    return "req_" + os.urandom(12).hex()


def _request_id(scope: Scope) -> str:
    for name, value in scope["headers"]:
        if name == REQUEST_ID_HEADER:
            if _SANE_REQUEST_ID.fullmatch(value):
                return str(value.decode("ascii"))
            break
    return new_request_id()


def _client_ip(scope: Scope, state: dict[str, Any]) -> str | None:
    # The rate limiter stores the address it resolved through trusted proxies.
    client_ip: str | None = state.get("client_ip")
    if client_ip is None and scope.get("client"):
        client_ip = scope["client"][0]
    return client_ip


def _route_template(scope: Scope) -> str:
    route = scope.get("route")
    template: str | None = getattr(route, "path", None)
    return template or UNMATCHED_ROUTE


def _assign_request_id(scope: Scope) -> tuple[str, dict[str, Any], Headers]:
    """Store the request's id in its state, and return the id, the state and
    the list of headers every response to the request gets."""
    request_id = _request_id(scope)
    state: dict[str, Any] | None = scope.get("state")
    if state is None:
        state = scope["state"] = {}
    state["request_id"] = request_id
    headers = state[RESPONSE_HEADERS] = [
        (REQUEST_ID_HEADER, request_id.encode("ascii"))
    ]
    return request_id, state, headers


class RequestContextMiddleware:
    """Give each request an id, log it, count it, and catch what escapes."""

    def __init__(
        self,
        app: ASGIApp,
        *,
        access_log: bool = True,
        metrics: RequestMetrics = request_metrics,
    ) -> None:
        self.app = app
        self.access_log = access_log
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            await self._serve_http(scope, receive, send)
        elif scope["type"] == "websocket":
            await self._serve_websocket(scope, receive, send)
        else:
            await self.app(scope, receive, send)

    async def _serve_http(self, scope: Scope, receive: Receive, send: Send) -> None:
        started = time.perf_counter()
        request_id, state, added_headers = _assign_request_id(scope)
        context_token = request_id_var.set(request_id)
        status = 0

        async def send_with_request_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                # A new list, so a response object reused across requests
                # never accumulates headers.
                message["headers"] = [*message.get("headers", ()), *added_headers]
            await send(message)

        try:
            await self.app(scope, receive, send_with_request_id)
        except Exception:
            self._log_unhandled(scope, request_id)
            if status == 0:
                response = error_response(
                    InternalError(INTERNAL_ERROR_MESSAGE), request_id
                )
                await response(scope, receive, send_with_request_id)
        finally:
            duration = time.perf_counter() - started
            self.metrics.observe(
                scope["method"], _route_template(scope), status, duration
            )
            if self.access_log:
                self._log_access(scope, state, status, duration)
            request_id_var.reset(context_token)

    async def _serve_websocket(
        self, scope: Scope, receive: Receive, send: Send
    ) -> None:
        started = time.perf_counter()
        request_id, state, added_headers = _assign_request_id(scope)
        # The event stream sends its messages through the server's own send:
        # the layers below change only the handshake, and each wrapper costs
        # a coroutine per message.
        state[SERVER_SEND] = send
        context_token = request_id_var.set(request_id)
        status = 0

        async def send_with_request_id(message: Message) -> None:
            nonlocal status
            message_type = message["type"]
            if message_type == "websocket.accept":
                status = 101
                message["headers"] = [*message.get("headers", ()), *added_headers]
            elif message_type == "websocket.http.response.start":
                status = message["status"]
                message["headers"] = [*message.get("headers", ()), *added_headers]
            elif message_type == "websocket.close" and status == 0:
                # A close before the accept makes the server respond with 403.
                status = 403
            await send(message)

        try:
            await self.app(scope, receive, send_with_request_id)
        except Exception:
            self._log_unhandled(scope, request_id)
            if status == 0:
                await send_with_request_id(
                    {"type": "websocket.close", "code": WS_INTERNAL_ERROR}
                )
        finally:
            if self.access_log:
                duration = time.perf_counter() - started
                self._log_access(scope, state, status, duration)
            request_id_var.reset(context_token)

    def _log_unhandled(self, scope: Scope, request_id: str) -> None:
        method = scope.get("method", "WEBSOCKET")
        logger.exception(
            "Unhandled exception while serving %s %s",
            method,
            scope["path"],
            extra={"method": method, "path": scope["path"], "request_id": request_id},
        )

    def _log_access(
        self, scope: Scope, state: dict[str, Any], status: int, duration: float
    ) -> None:
        if not access_logger.isEnabledFor(logging.INFO):
            return

        # Every field is either checked here or redacted, so the record can
        # skip the generic filter, which costs more than the rest of the line.
        method = scope.get("method", "WEBSOCKET")
        path = redact(scope["path"])
        fields = {
            "method": method,
            "path": path,
            "status": status,
            "duration_ms": round(duration * 1000, 3),
            "client_ip": _client_ip(scope, state),
            "request_id": state["request_id"],
            REDACTED_FLAG: True,
        }
        # makeRecord and handle, unlike info(), skip looking up the caller's
        # source line, which an access line never shows.
        record = access_logger.makeRecord(
            access_logger.name,
            logging.INFO,
            __file__,
            0,
            "%s %s %d",
            (method, path, status),
            None,
            extra=fields,
        )
        access_logger.handle(record)
