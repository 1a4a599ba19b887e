"""Strict parsing of query parameters: out-of-range values are errors."""

from __future__ import annotations

import re
from decimal import Decimal, InvalidOperation

from starlette.datastructures import QueryParams

from .errors import BadRequestError
from .text import shorten


def _single(params: QueryParams, name: str) -> str | None:
    values = params.getlist(name)
    if not values:
        return None
    if len(values) > 1:
        raise BadRequestError(
            f"Query parameter '{name}' was given {len(values)} times; give it once.",
            details=[{"field": name, "message": "Repeated parameter."}],
        )
    return values[0]


MAX_INTEGER_LENGTH = 20
"""Characters of an integer parameter: enough for any signed 64-bit integer."""

_INTEGER = re.compile(r"[+-]?[0-9]+")


def query_int(
    params: QueryParams, name: str, *, default: int, minimum: int, maximum: int
) -> int:
    raw = _single(params, name)
    if raw is None:
        return default
    text = raw.strip()
    bounds = f"between {minimum} and {maximum}"

    # Checking the length first keeps huge digit strings away from int(),
    # which CPython 3.11 and later reject past 4300 digits by default.
    if len(text) > MAX_INTEGER_LENGTH:
        too_long = f"Too long: at most {MAX_INTEGER_LENGTH} characters."
        raise BadRequestError(
            f"Query parameter '{name}' must be an integer {bounds}, but its "
            f"value is {len(text)} characters long.",
            details=[{"field": name, "message": too_long}],
        )
    if not _INTEGER.fullmatch(text):
        raise BadRequestError(
            f"Query parameter '{name}' must be an integer, got {shorten(raw)!r}.",
            details=[{"field": name, "message": "Not an integer."}],
        )

    value = int(text)
    if not minimum <= value <= maximum:
        raise BadRequestError(
            f"Query parameter '{name}' must be {bounds}, got {value}.",
            details=[{"field": name, "message": f"Must be {bounds}."}],
        )
    return value


def query_str(params: QueryParams, name: str, *, max_length: int = 200) -> str | None:
    raw = _single(params, name)
    if raw is None:
        return None
    if len(raw) > max_length or "\x00" in raw:
        raise BadRequestError(
            f"Query parameter '{name}' must be at most {max_length} characters "
            "of text.",
            details=[{"field": name, "message": "Too long or contains NUL."}],
        )
    return raw


def query_money(params: QueryParams, name: str) -> Decimal | None:
    """Parse a price bound: finite, not negative, at most two decimals."""
    raw = _single(params, name)
    if raw is None:
        return None
    try:
        value = Decimal(raw.strip()) if len(raw) <= 32 else None
    except InvalidOperation:
        value = None
    if value is None or not value.is_finite():
        raise BadRequestError(
            f"Query parameter '{name}' must be a number, got {shorten(raw)!r}.",
            details=[{"field": name, "message": "Not a finite number."}],
        )
    if value < 0:
        raise BadRequestError(
            f"Query parameter '{name}' must not be negative.",
            details=[{"field": name, "message": "Negative."}],
        )
    if value.as_tuple().exponent < -2:  # type: ignore[operator]
        raise BadRequestError(
            f"Query parameter '{name}' must have at most two decimals.",
            details=[{"field": name, "message": "More than two decimals."}],
        )
    return value
