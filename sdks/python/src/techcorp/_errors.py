"""The errors the client raises: one base class, one subclass per failure.

An HTTP error response becomes the subclass for its status, carrying the
API's `error` code, its `message`, the request id and the headers. A request
that got no response becomes `APIConnectionError` or `APITimeoutError`.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import httpx

__all__ = [
    "APIConnectionError",
    "APIError",
    "APIResponseValidationError",
    "APIStatusError",
    "APITimeoutError",
    "AuthenticationError",
    "BadRequestError",
    "ConflictError",
    "InternalServerError",
    "NotFoundError",
    "PermissionDeniedError",
    "RateLimitError",
    "TechCorpError",
]


class TechCorpError(Exception):
    """The base class of every error this package raises."""


class APIError(TechCorpError):
    """A request to the API failed.

    `status` is the HTTP status, or None when no response arrived. `error` is
    the API's stable code (such as `not_found`), and `message` is its
    sentence for a person.
    """

    def __init__(
        self,
        message: str,
        *,
        status: int | None = None,
        error: str | None = None,
        request_id: str | None = None,
        headers: Mapping[str, str] | None = None,
        body: Any = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.status = status
        self.error = error
        self.request_id = request_id
        self.headers: Mapping[str, str] = headers if headers is not None else {}
        self.body = body

    def __str__(self) -> str:
        prefix = f"{self.status} {self.error}: " if self.status else ""
        suffix = f" (request id {self.request_id})" if self.request_id else ""
        return f"{prefix}{self.message}{suffix}"


class APIConnectionError(APIError):
    """No response arrived: the connection failed or was cut."""


class APITimeoutError(APIConnectionError):
    """No response arrived within the timeout."""


class APIResponseValidationError(APIError):
    """A success response whose body is not the documented model, such as
    an HTML page from a proxy or another service at `base_url`."""


class APIStatusError(APIError):
    """The API returned an error status. Subclasses name the common ones.

    `details` lists `{"field", "message"}` entries for invalid input.
    """

    status: int

    @property
    def details(self) -> list[dict[str, str]]:
        details = self.body.get("details") if isinstance(self.body, dict) else None
        return details if isinstance(details, list) else []


class BadRequestError(APIStatusError):
    """400: the request is invalid, and `details` lists the invalid fields."""


class AuthenticationError(APIStatusError):
    """401: the credentials or the token were refused."""


class PermissionDeniedError(APIStatusError):
    """403: the caller's role does not allow this."""


class NotFoundError(APIStatusError):
    """404: no such resource."""


class ConflictError(APIStatusError):
    """409: the request conflicts with the current state."""


class RateLimitError(APIStatusError):
    """429: too many requests. `limit`, `remaining` and `reset` (Unix
    seconds) come from the `X-RateLimit-*` headers, `retry_after` (seconds)
    from `Retry-After`; each is None when the header is missing."""

    @property
    def limit(self) -> int | None:
        return _int_header(self.headers, "x-ratelimit-limit")

    @property
    def remaining(self) -> int | None:
        return _int_header(self.headers, "x-ratelimit-remaining")

    @property
    def reset(self) -> int | None:
        return _int_header(self.headers, "x-ratelimit-reset")

    @property
    def retry_after(self) -> int | None:
        seconds = _int_header(self.headers, "retry-after")
        # A negative delay is malformed; it means no wait at all.
        return None if seconds is None else max(0, seconds)


class InternalServerError(APIStatusError):
    """5xx: the server failed; the request may be retried."""


STATUS_ERRORS: dict[int, type[APIStatusError]] = {
    400: BadRequestError,
    401: AuthenticationError,
    403: PermissionDeniedError,
    404: NotFoundError,
    409: ConflictError,
    429: RateLimitError,
}


def _int_header(headers: Mapping[str, str], name: str) -> int | None:
    value = headers.get(name)
    try:
        return int(value) if value is not None else None
    except ValueError:
        return None


def error_class_for_status(status: int) -> type[APIStatusError]:
    if status >= 500:
        return InternalServerError
    return STATUS_ERRORS.get(status, APIStatusError)


def error_for_response(response: httpx.Response) -> APIStatusError:
    """Turn an error response into the error for its status.

    A body that is not the API's JSON error (a proxy's HTML page, say) still
    gives an error, with the reason phrase as its message.
    """
    try:
        body: Any = response.json()
    except ValueError:
        body = None
    fields = body if isinstance(body, dict) else {}
    error = fields.get("error")
    message = fields.get("message")
    request_id = fields.get("request_id") or response.headers.get("x-request-id")
    cls = error_class_for_status(response.status_code)
    return cls(
        message if isinstance(message, str) else response.reason_phrase,
        status=response.status_code,
        error=error if isinstance(error, str) else None,
        request_id=request_id if isinstance(request_id, str) else None,
        headers=response.headers,
        body=body,
    )


def error_for_invalid_body(
    response: httpx.Response, expected: str, reason: Exception
) -> APIResponseValidationError:
    request = response.request
    return APIResponseValidationError(
        f"The {response.status_code} response to {request.method} "
        f"{request.url.path} is not a valid {expected}; check that base_url "
        f"is the TechCorp API. {reason}",
        status=response.status_code,
        request_id=response.headers.get("x-request-id"),
        headers=response.headers,
        body=response.text,
    )


def error_for_exception(exc: httpx.TransportError) -> APIConnectionError:
    if isinstance(exc, httpx.TimeoutException):
        return APITimeoutError(f"The request timed out: {exc!r}")
    return APIConnectionError(f"The connection failed: {exc!r}")
