"""Query parameter parsing: integers, their bounds, and what messages echo."""

from __future__ import annotations

import pytest
from starlette.datastructures import QueryParams

from techcorp_server.core.errors import BadRequestError
from techcorp_server.core.query import query_int, query_money

MAX_MESSAGE_LENGTH = 200


def parse_page(raw: str) -> int:
    params = QueryParams({"page": raw})
    return query_int(params, "page", default=1, minimum=1, maximum=1_000_000)


def page_error(raw: str) -> BadRequestError:
    with pytest.raises(BadRequestError) as caught:
        parse_page(raw)
    return caught.value


@pytest.mark.parametrize(
    ("raw", "expected"),
    [("1", 1), (" 7 ", 7), ("+5", 5), ("007", 7), ("1000000", 1_000_000)],
)
def test_query_int_accepts_integers(raw: str, expected: int) -> None:
    assert parse_page(raw) == expected


def test_query_int_missing_gives_default() -> None:
    assert query_int(QueryParams(""), "page", default=3, minimum=1, maximum=9) == 3


@pytest.mark.parametrize(
    "raw",
    ["0", "-1", "1000001", "99999999999999999999", "-9999999999999999999"],
)
def test_query_int_out_of_range(raw: str) -> None:
    error = page_error(raw)

    assert "between 1 and 1000000" in error.message
    assert "integer," not in error.message
    assert error.details == [
        {"field": "page", "message": "Must be between 1 and 1000000."}
    ]


@pytest.mark.parametrize("raw", ["two", "1.0", "1e2", "", "0x10", "1_000", "٣", "--1"])
def test_query_int_rejects_non_integer(raw: str) -> None:
    error = page_error(raw)

    assert "must be an integer" in error.message
    assert error.details == [{"field": "page", "message": "Not an integer."}]


@pytest.mark.parametrize("raw", ["9" * 21, "1" * 10_000, "x" * 10_000])
def test_query_int_rejects_long_value(raw: str) -> None:
    error = page_error(raw)

    assert f"{len(raw)} characters long" in error.message
    assert "between 1 and 1000000" in error.message
    assert len(error.message) < MAX_MESSAGE_LENGTH
    assert error.details == [
        {"field": "page", "message": "Too long: at most 20 characters."}
    ]


def test_query_int_message_echoes_value() -> None:
    error = page_error("abcdefghijklmnopqrst")

    assert "'abcdefghijklmnopqrst'" in error.message


def test_query_int_rejects_repeated_parameter() -> None:
    params = QueryParams("page=1&page=2")

    with pytest.raises(BadRequestError) as caught:
        query_int(params, "page", default=1, minimum=1, maximum=9)

    assert "2 times" in caught.value.message


@pytest.mark.parametrize("raw", ["1" * 10_000, "x" * 10_000])
def test_query_money_message_shortens_value(raw: str) -> None:
    params = QueryParams({"min_price": raw})

    with pytest.raises(BadRequestError) as caught:
        query_money(params, "min_price")

    assert len(caught.value.message) < MAX_MESSAGE_LENGTH
    assert "…'" in caught.value.message
