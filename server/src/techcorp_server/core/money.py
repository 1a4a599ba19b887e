"""Exact money: prices travel as JSON numbers and are stored as integer cents."""

from __future__ import annotations

from decimal import Context, Decimal, Inexact
from typing import Annotated, Any

from pydantic import BeforeValidator, WithJsonSchema
from pydantic_core import PydanticCustomError

# Enough digits for any accepted amount, so conversions never round.
_EXACT = Context(prec=64, traps=[Inexact])

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
    if not has_at_most_two_decimals(amount):
        raise _price_error("Must have at most two decimals.")
    return amount


def has_at_most_two_decimals(amount: Decimal) -> bool:
    """Tell whether a finite amount is a whole number of cents, exactly.

    This reads the digits instead of calling `normalize()` or multiplying,
    because both round to the context's 28 digits: `99.99000...0001` with
    thirty digits would pass as 99.99.
    """
    _, digits, exponent = amount.as_tuple()
    if not isinstance(exponent, int):
        return False
    if not any(digits):
        return True
    trailing_zeros = len(digits) - len("".join(map(str, digits)).rstrip("0"))
    return exponent + trailing_zeros >= -2


def _price_error(message: str) -> PydanticCustomError:
    return PydanticCustomError("invalid_price", message)


# The JSON schema is "number", because without it a Decimal is documented as
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
    """Convert an amount already checked by `has_at_most_two_decimals`."""
    return int(amount.scaleb(2, context=_EXACT))


def cents_to_json(cents: int) -> float | int:
    """Render cents as a JSON number that reads back as the exact amount.

    Division is correctly rounded, so `9999 / 100` is the double nearest to
    99.99 and prints as `99.99`.
    """
    if cents % 100 == 0:
        return cents // 100
    return cents / 100
