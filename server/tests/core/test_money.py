from decimal import Decimal

import pytest
from pydantic import BaseModel, ValidationError

from techcorp_server.core.errors import BadRequestError
from techcorp_server.core.http import parse_json
from techcorp_server.core.money import Price, cents_to_json, to_cents


class Priced(BaseModel):
    price: Price


@pytest.mark.parametrize(
    ("text", "cents"),
    [
        ("99.99", 9999),
        ("0.1", 10),
        ("0.01", 1),
        ("12345678.90", 1234567890),
        ("7", 700),
    ],
)
def test_price_round_trip_exact(text: str, cents: int) -> None:
    price = Priced.model_validate(parse_json(f'{{"price": {text}}}'.encode())).price
    assert to_cents(price) == cents
    assert Decimal(repr(cents_to_json(cents))) == Decimal(text)


@pytest.mark.parametrize(
    "value",
    [
        Decimal("-0.01"),
        Decimal("1.001"),
        Decimal("NaN"),
        Decimal("Infinity"),
        "9.99",
        True,
        None,
    ],
)
def test_price_rejects_invalid(value: object) -> None:
    with pytest.raises(ValidationError):
        Priced.model_validate({"price": value})


def test_price_rejects_above_maximum() -> None:
    with pytest.raises(ValidationError):
        Priced.model_validate({"price": Decimal("100000000")})


@pytest.mark.parametrize("literal", ["NaN", "Infinity", "-Infinity"])
def test_json_rejects_non_finite_literals(literal: str) -> None:
    with pytest.raises(BadRequestError):
        parse_json(f'{{"price": {literal}}}'.encode())


@pytest.mark.parametrize(
    "text",
    [
        "1.00000000000000000000000000001",
        "99.990000000000000000000000000001",
        "1e-999999999999",
        "0.005",
    ],
)
def test_price_rejects_hidden_decimals(text: str) -> None:
    with pytest.raises(ValidationError):
        Priced.model_validate(parse_json(f'{{"price": {text}}}'.encode()))


@pytest.mark.parametrize(
    ("text", "cents"),
    [("99.9900000000000000000000000000000000", 9999), ("1E2", 10000), ("-0", 0)],
)
def test_price_accepts_long_exact_forms(text: str, cents: int) -> None:
    price = Priced.model_validate(parse_json(f'{{"price": {text}}}'.encode())).price
    assert to_cents(price) == cents
