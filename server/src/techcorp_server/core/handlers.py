"""Exception handlers: every failure leaves as the JSON error shape.

`EXCEPTION_HANDLERS` is given to `Starlette(exception_handlers=...)`. The
middlewares that respond before the router (rate limit, body limit, request
context) render their errors with `error_response` too, so a client sees one
shape whichever layer failed.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from http.client import responses as REASON_PHRASES
from typing import Any

import asyncpg
import sqlalchemy.exc
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import ExceptionHandler, Scope
from starlette.websockets import WebSocketClose

from .errors import (
    ERROR_CLASSES,
    APIError,
    BadRequestError,
    InternalError,
    MethodNotAllowedError,
    NotFoundError,
    ServiceUnavailableError,
)
from .http import json_response

logger = logging.getLogger(__name__)

INTERNAL_ERROR_MESSAGE = (
    "The server failed to complete the request. Retry later, and quote the "
    "request id if you report the problem."
)

DATABASE_UNAVAILABLE_MESSAGE = (
    "The server cannot reach its database. Retry in a few seconds."
)

DATABASE_UNAVAILABLE_ERRORS: tuple[type[Exception], ...] = (
    # Lost or refused connections, as SQLAlchemy wraps them, and a pool that
    # had no connection to give within its timeout.
    sqlalchemy.exc.OperationalError,
    sqlalchemy.exc.InterfaceError,
    sqlalchemy.exc.TimeoutError,
    # asyncpg raises these unwrapped when it opens a connection.
    ConnectionError,
    asyncpg.exceptions.CannotConnectNowError,
    asyncpg.exceptions.ConnectionDoesNotExistError,
)

UNAVAILABLE_SQLSTATE_CLASSES = ("08", "57P")
"""PostgreSQL error classes of a connection that failed or of a server that
is shutting down or starting (SQLSTATE 08xxx and 57Pxx)."""


def is_database_unavailable(exc: BaseException) -> bool:
    """Tell whether `exc` means the database cannot be reached right now."""
    if isinstance(exc, DATABASE_UNAVAILABLE_ERRORS):
        return True
    if not isinstance(exc, sqlalchemy.exc.DBAPIError):
        return False
    if exc.connection_invalidated:
        return True
    # SQLAlchemy's asyncpg adapter wraps asyncpg's own error as its cause.
    for error in (exc.orig, getattr(exc.orig, "__cause__", None)):
        if isinstance(error, DATABASE_UNAVAILABLE_ERRORS):
            return True
        sqlstate = getattr(error, "sqlstate", None)
        if isinstance(sqlstate, str) and sqlstate.startswith(
            UNAVAILABLE_SQLSTATE_CLASSES
        ):
            return True
    return False


def log_background_failure(
    logger: logging.Logger, message: str, exc: Exception, **extra: Any
) -> None:
    """Log a failed step of background work, which retries on its own.

    An unreachable database is expected to come back, so it gets one line;
    anything else gets its traceback.
    """
    logger.warning(
        "%s: %s: %s",
        message,
        type(exc).__name__,
        str(exc).splitlines()[0] if str(exc) else "",
        exc_info=not is_database_unavailable(exc),
        extra=extra,
    )


MAX_PATH_IN_MESSAGE = 200
"""Characters of a request path echoed in an error message, at most."""

# RFC 6455 section 7.4.1 "policy violation": the close code for a refused
# WebSocket handshake when the server cannot send an HTTP denial response.
WS_POLICY_VIOLATION = 1008

_ERROR_CLASS_BY_STATUS = {error.status_code: error for error in ERROR_CLASSES}
# Starlette reports unprocessable input as 422, which this API reports as 400.
_ERROR_CLASS_BY_STATUS[422] = BadRequestError


def request_id_of(scope: Scope) -> str | None:
    """Return the id `RequestContextMiddleware` gave this request, if any."""
    state: dict[str, Any] = scope.get("state") or {}
    request_id: str | None = state.get("request_id")
    return request_id


def error_body(exc: APIError, request_id: str | None) -> dict[str, Any]:
    body: dict[str, Any] = {"error": exc.error_code, "message": exc.message}
    for name, value in exc.extra.items():
        # Extra fields, such as OAuth's `error_description`, add to the shape
        # and never replace its own fields.
        body.setdefault(name, value)
    if exc.details:
        body["details"] = exc.details
    if request_id is not None:
        body["request_id"] = request_id
    return body


def error_response(
    exc: APIError, request_id: str | None, *, status_code: int | None = None
) -> Response:
    """Render an API error as a JSON response carrying the error's headers."""
    return json_response(
        error_body(exc, request_id),
        status_code=status_code or exc.status_code,
        headers=exc.headers,
    )


def _path_for_message(scope: Scope) -> str:
    path: str = scope.get("path", "")
    if len(path) > MAX_PATH_IN_MESSAGE:
        return path[:MAX_PATH_IN_MESSAGE] + "..."
    return path


def _respond(request: Request, exc: APIError, status_code: int | None = None) -> Any:
    scope = request.scope
    if scope["type"] == "websocket" and "websocket.http.response" not in scope.get(
        "extensions", {}
    ):
        # Without the denial-response extension the only refusal a WebSocket
        # handshake can get is a close, which the server turns into HTTP 403.
        return WebSocketClose(code=WS_POLICY_VIOLATION, reason=exc.message[:120])
    return error_response(exc, request_id_of(scope), status_code=status_code)


async def api_error_handler(request: Request, exc: Exception) -> Response:
    """Render an `APIError` raised by an endpoint or a dependency."""
    if not isinstance(exc, APIError):
        raise TypeError(f"expected an APIError, got {type(exc).__name__}")
    response: Response = _respond(request, exc)
    return response


def _from_http_exception(scope: Scope, exc: HTTPException) -> tuple[APIError, int]:
    """Return the API error for a Starlette exception, and its status code."""
    method = scope.get("method", "GET")
    path = _path_for_message(scope)
    phrase = REASON_PHRASES.get(exc.status_code, "HTTP error")
    custom_detail = exc.detail if exc.detail and exc.detail != phrase else None

    if exc.status_code == 404 and custom_detail is None:
        return NotFoundError(f"No route matches {method} {path}."), 404
    if exc.status_code == 405:
        allow = (exc.headers or {}).get("Allow", "")
        error = MethodNotAllowedError(
            f"Method {method} is not allowed on {path}. Allowed methods: {allow}.",
            headers=exc.headers,
        )
        return error, 405

    message = custom_detail or f"{phrase}."
    error_class = _ERROR_CLASS_BY_STATUS.get(exc.status_code)
    if error_class is not None:
        return error_class(message, headers=exc.headers), error_class.status_code
    code = phrase.lower().replace(" ", "_").replace("-", "_")
    return APIError(message, headers=exc.headers, code=code), exc.status_code


async def http_exception_handler(request: Request, exc: Exception) -> Response:
    """Map Starlette's own failures (unknown route, wrong method) to API errors."""
    if not isinstance(exc, HTTPException):
        raise TypeError(f"expected an HTTPException, got {type(exc).__name__}")
    if exc.status_code in {204, 304}:
        # These statuses forbid a body (RFC 9110 sections 15.3.5 and 15.4.5).
        return Response(status_code=exc.status_code, headers=exc.headers)

    error, status_code = _from_http_exception(request.scope, exc)
    response: Response = _respond(request, error, status_code)
    return response


async def database_error_handler(request: Request, exc: Exception) -> Response:
    """Return a 503 when the database cannot be reached, else a 500.

    A lost connection is not a bug in the server, so it gets one log line
    and no traceback: the pool reconnects by itself once the database is
    back. Any other database error is logged with its traceback.
    """
    request_id = request_id_of(request.scope)
    if not is_database_unavailable(exc):
        logger.error(
            "Unhandled database error while serving %s %s",
            request.method,
            request.url.path,
            exc_info=exc,
            extra={"request_id": request_id},
        )
        return error_response(InternalError(INTERNAL_ERROR_MESSAGE), request_id)

    logger.warning(
        "database unavailable: %s: %s",
        type(exc).__name__,
        str(exc).splitlines()[0] if str(exc) else "",
        extra={"request_id": request_id},
    )
    return error_response(
        ServiceUnavailableError(DATABASE_UNAVAILABLE_MESSAGE), request_id
    )


async def unhandled_exception_handler(request: Request, exc: Exception) -> Response:
    """Return a 500 for any other exception, revealing nothing of it.

    Starlette re-raises the exception after this response is sent, and
    `RequestContextMiddleware` logs it there, once, with its traceback.
    """
    return error_response(
        InternalError(INTERNAL_ERROR_MESSAGE), request_id_of(request.scope)
    )


EXCEPTION_HANDLERS: Mapping[Any, ExceptionHandler] = {
    APIError: api_error_handler,
    HTTPException: http_exception_handler,
    sqlalchemy.exc.DBAPIError: database_error_handler,
    **dict.fromkeys(DATABASE_UNAVAILABLE_ERRORS, database_error_handler),
    Exception: unhandled_exception_handler,
}
