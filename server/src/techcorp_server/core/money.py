"""Exact money: prices travel as JSON numbers and are stored as integer cents."""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated, Any

from pydantic import BeforeValidator, WithJsonSchema
from pydantic_core import PydanticCustomError

MAX_PRICE = Decimal("99999999.99")
"""The largest accepted price, so every price fits a 64-bit count of cents."""


def _validate_price(value: Any) -> Decimal:
    # Booleans are ints in Python, and a quoted "9.99" is a string in JSON:
    # neither is a price.
    if isinstance(value, bool) or not isinstance(value, int | float | Decimal):
        raise _price_error("Must be a JSON number such as 99.99.")
    amount = value if isinstance(value, Decimal) else Decimal(str(value))
    if not amount.is_finite():
        raise _price_error("Must be a finite number.")
    if amount < 0:
        raise _price_error("Must not be negative.")
    if amount > MAX_PRICE:
        raise _price_error(f"Must be at most {MAX_PRICE}.")
    exponent = amount.normalize().as_tuple().exponent
    if isinstance(exponent, int) and exponent < -2:
        raise _price_error("Must have at most two decimals.")
    return amount


def _price_error(message: str) -> PydanticCustomError:
    return PydanticCustomError("invalid_price", message)


# The JSON schema says "number": without it a Decimal is documented as
# "number or string", and strings are rejected here.
Price = Annotated[
    Decimal,
    BeforeValidator(_validate_price),
    WithJsonSchema(
        {
            "type": "number",
            "minimum": 0,
            "maximum": float(MAX_PRICE),
            "description": "Exact amount with at most two decimals.",
        }
    ),
]
"""A non-negative amount with at most two decimals, validated exactly."""


def to_cents(amount: Decimal) -> int:
    return int(amount * 100)


def cents_to_json(cents: int) -> float | int:
    """Render cents as a JSON number that reads back as the exact amount.

    Division is correctly rounded, so `9999 / 100` is the double nearest to
    99.99 and prints as `99.99`.
    """
    if cents % 100 == 0:
        return cents // 100
    return cents / 100
