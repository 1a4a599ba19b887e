"""The parts of the OpenAPI document that every operation shares.

Operations refer to these by `$ref`: the error body and its responses, the
response headers, and the security schemes.
"""

from __future__ import annotations

from http import HTTPStatus
from typing import Any

from ..core.errors import ERROR_CLASSES

TOKEN_PATH = "/v2/auth/token"  # noqa: S105 (a URL path, not a credential)

ERROR_SCHEMA_NAME = "Error"
ERROR_DETAIL_SCHEMA_NAME = "ErrorDetail"
OAUTH_FORM_SCHEMA_NAME = "OAuthTokenForm"

JSON_MEDIA_TYPE = "application/json"
FORM_MEDIA_TYPE = "application/x-www-form-urlencoded"

# Headers sent on every response, success or error.
COMMON_HEADERS = (
    "X-Request-Id",
    "X-RateLimit-Limit",
    "X-RateLimit-Remaining",
    "X-RateLimit-Reset",
    "RateLimit",
    "RateLimit-Policy",
)

ERROR_DESCRIPTIONS = {
    "bad_request": (
        "The request is invalid: a malformed body, an unknown or invalid field, "
        "or a query parameter out of range."
    ),
    "unauthorized": (
        "The access token is missing, invalid or expired, or the credentials are wrong."
    ),
    "forbidden": "The caller's role does not allow this operation.",
    "not_found": "The resource does not exist.",
    "method_not_allowed": "The path does not support this method.",
    "request_timeout": "The request body did not arrive in time.",
    "conflict": (
        "The request conflicts with the current state, such as a duplicate email."
    ),
    "payload_too_large": "The request body is larger than the server accepts.",
    "unsupported_media_type": (
        "The request body has a media type that this operation does not accept."
    ),
    "rate_limited": "Too many requests from this client IP in the current window.",
    "internal_error": (
        "The server failed unexpectedly. The message never contains internals."
    ),
    "service_unavailable": "The server cannot serve requests right now.",
}


def schema_ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{name}"}


def header_ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/headers/{name}"}


def response_name(error_code: str) -> str:
    """Name the shared response of an error code: `not_found` is `NotFound`."""
    return "".join(part.title() for part in error_code.split("_"))


def error_response_refs() -> dict[int, dict[str, str]]:
    """Map each status of `core.errors` to its shared response."""
    return {
        error.status_code: {
            "$ref": f"#/components/responses/{response_name(error.code)}"
        }
        for error in ERROR_CLASSES
    }


def common_header_refs() -> dict[str, Any]:
    return {name: header_ref(name) for name in COMMON_HEADERS}


def error_response(status: int, description: str) -> dict[str, Any]:
    """Describe an error response: the `Error` body and the headers it carries."""
    headers = common_header_refs()
    if status == HTTPStatus.UNAUTHORIZED:
        headers["WWW-Authenticate"] = header_ref("WWW-Authenticate")
    if status == HTTPStatus.TOO_MANY_REQUESTS:
        headers["Retry-After"] = header_ref("Retry-After")

    return {
        "description": description,
        "headers": headers,
        "content": {JSON_MEDIA_TYPE: {"schema": schema_ref(ERROR_SCHEMA_NAME)}},
    }


def error_responses() -> dict[str, Any]:
    """Build one shared response per error code, with an example body."""
    responses = {}
    for error in ERROR_CLASSES:
        explanation = ERROR_DESCRIPTIONS[error.code]
        response = error_response(
            error.status_code, f"{HTTPStatus(error.status_code).phrase}. {explanation}"
        )
        response["content"][JSON_MEDIA_TYPE]["example"] = {
            "error": error.code,
            "message": explanation,
        }
        responses[response_name(error.code)] = response
    return responses


def error_schemas() -> dict[str, Any]:
    return {
        ERROR_SCHEMA_NAME: {
            "type": "object",
            "description": "The body of every error response.",
            "required": ["error", "message"],
            "properties": {
                "error": {
                    "type": "string",
                    "description": (
                        "Stable code for programs, such as `not_found`. The token "
                        "endpoint may send OAuth 2.0 codes such as `invalid_client`."
                    ),
                    "examples": ["not_found"],
                },
                "message": {
                    "type": "string",
                    "description": "What failed and how to fix it, for a person.",
                },
                "details": {
                    "type": "array",
                    "description": "One entry per invalid field.",
                    "items": schema_ref(ERROR_DETAIL_SCHEMA_NAME),
                },
                "request_id": {
                    "type": "string",
                    "description": "The `X-Request-Id` of the failed request.",
                },
                "error_description": {
                    "type": "string",
                    "description": (
                        "On the token endpoint, `message` again under its OAuth 2.0 "
                        "name (RFC 6749 section 5.2)."
                    ),
                },
            },
        },
        ERROR_DETAIL_SCHEMA_NAME: {
            "type": "object",
            "required": ["field", "message"],
            "properties": {
                "field": {
                    "type": "string",
                    "description": (
                        "Dotted path of the body field, or the query parameter name."
                    ),
                },
                "message": {"type": "string"},
            },
        },
    }


def oauth_form_schema() -> dict[str, Any]:
    """Describe the form body of an OAuth 2.0 token request (RFC 6749)."""
    return {
        "type": "object",
        "description": (
            "Either `grant_type=client_credentials` with `client_id` and "
            "`client_secret`, here or in HTTP Basic authentication (RFC 6749 "
            "section 4.4), or `grant_type=password` with `username` (the email) "
            "and `password` (section 4.3). Without `grant_type`, a body with "
            "`email` is a password grant and any other is a client credentials grant."
        ),
        "properties": {
            "grant_type": {
                "type": "string",
                "enum": ["client_credentials", "password"],
            },
            "client_id": {"type": "string"},
            "client_secret": {"type": "string", "format": "password"},
            "username": {"type": "string", "description": "The user's email."},
            "email": {"type": "string", "description": "Same as `username`."},
            "password": {"type": "string", "format": "password"},
            "scope": {"type": "string", "description": "Ignored: no scopes exist."},
        },
    }


def header_components(rate_limit: int) -> dict[str, Any]:
    """Describe the response headers, with `rate_limit` as the example limit."""
    string = {"type": "string"}
    count = {"type": "integer", "minimum": 0}
    return {
        "X-Request-Id": {
            "description": (
                "Id of the request, echoed when the request sent a valid one. "
                "Quote it when reporting a problem."
            ),
            "schema": string,
        },
        "X-RateLimit-Limit": {
            "description": "Requests allowed per client IP in one window.",
            "schema": count,
            "example": rate_limit,
        },
        "X-RateLimit-Remaining": {
            "description": "Requests left in the current window.",
            "schema": count,
        },
        "X-RateLimit-Reset": {
            "description": "End of the current window, in Unix seconds.",
            "schema": count,
        },
        "RateLimit": {
            "description": "The quota left, in the IETF draft `RateLimit` format.",
            "schema": string,
        },
        "RateLimit-Policy": {
            "description": (
                "The quota policy, in the IETF draft `RateLimit-Policy` format."
            ),
            "schema": string,
        },
        "Retry-After": {
            "description": "Seconds to wait before retrying (RFC 9110 section 10.2.3).",
            "schema": count,
        },
        "WWW-Authenticate": {
            "description": (
                "The `Bearer` challenge of RFC 6750 section 3, with "
                '`error="invalid_token"` when a token was sent and rejected.'
            ),
            "schema": string,
        },
        "Link": {
            "description": "The first, prev, next and last pages (RFC 8288).",
            "schema": string,
        },
        "Location": {
            "description": "URL of the created resource.",
            "schema": {"type": "string", "format": "uri-reference"},
        },
    }


def security_schemes() -> dict[str, Any]:
    return {
        "bearerAuth": {
            "type": "http",
            "scheme": "bearer",
            "bearerFormat": "JWT",
            "description": f"An access token from `POST {TOKEN_PATH}`.",
        },
        "oauth2": {
            "type": "oauth2",
            "description": "The OAuth 2.0 client credentials grant (RFC 6749 4.4).",
            "flows": {"clientCredentials": {"tokenUrl": TOKEN_PATH, "scopes": {}}},
        },
    }
