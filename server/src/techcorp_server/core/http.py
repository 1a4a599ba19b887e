"""JSON in and out: response rendering and request body parsing."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from decimal import Decimal
from typing import Any, TypeVar

import orjson
from pydantic import BaseModel, ValidationError
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import Scope

from .errors import BadRequestError, FieldError, UnsupportedMediaTypeError
from .text import shorten

ModelT = TypeVar("ModelT", bound=BaseModel)

JSON_MEDIA_TYPE = "application/json"
JSON_CONTENT_TYPE = JSON_MEDIA_TYPE.encode("ascii")


class JSONResponse(Response):
    """A response rendered with orjson, the fastest encoder measured here."""

    media_type = JSON_MEDIA_TYPE

    def render(self, content: Any) -> bytes:
        return orjson.dumps(content)


class EncodedJSONResponse(Response):
    """A JSON response made from a body and headers that are already bytes.

    Starlette's `Response` encodes and checks its headers each time one is
    made, about 1.3 µs. The busiest endpoints build their few headers
    directly and skip that. The headers come out in Starlette's order: the
    given ones, then `content-length` and `content-type`.
    """

    def __init__(
        self,
        body: bytes,
        headers: Sequence[tuple[bytes, bytes]] = (),
        status_code: int = 200,
    ) -> None:
        self.status_code = status_code
        self.body = body
        self.raw_headers = [
            *headers,
            (b"content-length", b"%d" % len(body)),
            (b"content-type", JSON_CONTENT_TYPE),
        ]
        self.background = None


def header_value(scope: Scope, name: bytes) -> str | None:
    """Return the first value of the header `name` (lower case), if sent.

    Reading the scope's header list directly is several times cheaper than
    building Starlette's `Headers` for one lookup.
    """
    for header, value in scope["headers"]:
        if header == name:
            return str(value.decode("latin-1"))
    return None


def json_response(
    content: Any, status_code: int = 200, headers: Mapping[str, str] | None = None
) -> Response:
    return JSONResponse(content, status_code=status_code, headers=headers)


def _reject_constant(name: str) -> None:
    # NaN and Infinity are not JSON (RFC 8259 section 6); Python's parser
    # accepts them unless a hook rejects them.
    raise ValueError(f"{name} is not a valid JSON number")


def _reject_duplicate_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    # RFC 8259 section 4 leaves duplicate names undefined; taking the last one
    # silently would let two parsers of the same body disagree.
    document = dict(pairs)
    if len(document) != len(pairs):
        seen: set[str] = set()
        for name, _ in pairs:
            if name in seen:
                raise ValueError(f"the name {shorten(name)!r} appears twice")
            seen.add(name)
    return document


def parse_json(body: bytes) -> Any:
    """Parse a JSON body, keeping decimal numbers exact as `Decimal`."""
    try:
        return json.loads(
            body,
            parse_float=Decimal,
            parse_constant=_reject_constant,
            object_pairs_hook=_reject_duplicate_keys,
        )
    except RecursionError as exc:
        raise BadRequestError(
            "The request body is not valid JSON: it is nested too deeply."
        ) from exc
    except UnicodeDecodeError as exc:
        raise BadRequestError(
            "The request body is not valid JSON: it is not UTF-8 text."
        ) from exc
    except ValueError as exc:
        # Python's limit on integer digits (CVE-2020-10735) names an
        # interpreter setting, so the message names the body's problem instead.
        reason = str(exc)
        if "int_max_str_digits" in reason:
            reason = "a number has too many digits"
        raise BadRequestError(f"The request body is not valid JSON: {reason}.") from exc


def media_type_of(request: Request) -> str:
    content_type = header_value(request.scope, b"content-type") or ""
    return content_type.split(";", 1)[0].strip().lower()


def _is_json_media_type(media_type: str) -> bool:
    return media_type == JSON_MEDIA_TYPE or (
        media_type.startswith("application/") and media_type.endswith("+json")
    )


def _charset_of(request: Request) -> str | None:
    content_type = header_value(request.scope, b"content-type") or ""
    for parameter in content_type.split(";")[1:]:
        name, _, value = parameter.partition("=")
        if name.strip().lower() == "charset":
            return value.strip().strip('"').lower()
    return None


async def read_json_object(request: Request) -> dict[str, Any]:
    """Read the body as a JSON object, rejecting other media types."""
    media_type = media_type_of(request)
    if not _is_json_media_type(media_type):
        raise UnsupportedMediaTypeError(
            "Send the request body as JSON with 'Content-Type: application/json'."
        )
    # JSON exchanged between systems is UTF-8 (RFC 8259 section 8.1).
    if _charset_of(request) not in (None, "utf-8", "utf8"):
        raise UnsupportedMediaTypeError(
            "Send JSON encoded as UTF-8; other charsets are not accepted."
        )
    body = await request.body()
    if not body.strip():
        raise BadRequestError("The request body is empty; send a JSON object.")
    document = parse_json(body)
    if not isinstance(document, dict):
        raise BadRequestError("The request body must be a JSON object.")
    return document


MAX_DETAILS = 50
"""Field errors listed in one response, so a huge body gets a small reply."""

MAX_FIELDS_IN_MESSAGE = 10


def validation_details(exc: ValidationError) -> list[FieldError]:
    details: list[FieldError] = []
    for error in exc.errors(include_url=False, include_input=False)[:MAX_DETAILS]:
        field = shorten(".".join(str(part) for part in error["loc"]) or "body")
        if error["type"] == "extra_forbidden":
            message = "Unknown field; it cannot be set through the API."
        elif error["type"] == "missing":
            message = "Field required."
        else:
            message = error["msg"]
            if not message.endswith("."):
                message += "."
        details.append({"field": field, "message": message})
    return details


def validate(model: type[ModelT], document: Any) -> ModelT:
    """Validate a parsed document, turning failures into a 400 with details."""
    try:
        return model.model_validate(document)
    except ValidationError as exc:
        details = validation_details(exc)
        names = sorted({item["field"] for item in details})
        fields = ", ".join(names[:MAX_FIELDS_IN_MESSAGE])
        if exc.error_count() > len(names[:MAX_FIELDS_IN_MESSAGE]):
            fields += f" and more ({exc.error_count()} errors in all)"
        raise BadRequestError(
            f"The request has invalid fields: {fields}.", details=details
        ) from exc


async def read_model(request: Request, model: type[ModelT]) -> ModelT:
    return validate(model, await read_json_object(request))
