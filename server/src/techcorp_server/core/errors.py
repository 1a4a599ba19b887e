"""API errors: one class per error code, turned into JSON in one place.

Domain code raises these; `error_response` renders every one of them, and the
framework's own failures (unknown route, wrong method) are mapped onto them by
the handlers in `core.handlers`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, ClassVar, TypedDict


class FieldError(TypedDict):
    field: str
    message: str


class APIError(Exception):
    """An error the API reports to the caller as `{"error", "message"}`."""

    status_code: ClassVar[int] = 500
    code: ClassVar[str] = "internal_error"

    def __init__(
        self,
        message: str,
        *,
        details: Sequence[FieldError] | None = None,
        headers: Mapping[str, str] | None = None,
        code: str | None = None,
        extra: Mapping[str, Any] | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.details = list(details) if details else None
        self.headers = dict(headers) if headers else {}
        # Further body fields, such as OAuth's `error_description`.
        self.extra = dict(extra) if extra else {}
        if code is not None:
            self.error_code = code
        else:
            self.error_code = self.code


class BadRequestError(APIError):
    status_code = 400
    code = "bad_request"


class UnauthorizedError(APIError):
    status_code = 401
    code = "unauthorized"


class ForbiddenError(APIError):
    status_code = 403
    code = "forbidden"


class NotFoundError(APIError):
    status_code = 404
    code = "not_found"


class MethodNotAllowedError(APIError):
    status_code = 405
    code = "method_not_allowed"


class RequestTimeoutError(APIError):
    status_code = 408
    code = "request_timeout"


class ConflictError(APIError):
    status_code = 409
    code = "conflict"


class PayloadTooLargeError(APIError):
    status_code = 413
    code = "payload_too_large"


class UnsupportedMediaTypeError(APIError):
    status_code = 415
    code = "unsupported_media_type"


class RateLimitedError(APIError):
    status_code = 429
    code = "rate_limited"


class InternalError(APIError):
    status_code = 500
    code = "internal_error"


class ServiceUnavailableError(APIError):
    status_code = 503
    code = "service_unavailable"


ERROR_CLASSES: tuple[type[APIError], ...] = (
    BadRequestError,
    UnauthorizedError,
    ForbiddenError,
    NotFoundError,
    MethodNotAllowedError,
    RequestTimeoutError,
    ConflictError,
    PayloadTooLargeError,
    UnsupportedMediaTypeError,
    RateLimitedError,
    InternalError,
    ServiceUnavailableError,
)
