"""Error mapping: the shared vectors, and errors from a real server."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest

import techcorp
from techcorp import (
    APIResponseValidationError,
    ConflictError,
    NotFoundError,
    TechCorp,
)
from techcorp._errors import error_for_response

from .mock_api import MockAPI
from .vectors import cases


def _response(case: dict[str, Any]) -> httpx.Response:
    body = case["body"]
    content = body.encode() if isinstance(body, str) else json.dumps(body).encode()
    request = httpx.Request("GET", "http://127.0.0.1/v2/products")
    return httpx.Response(
        case["status"], headers=case["headers"], content=content, request=request
    )


@pytest.mark.parametrize("case", cases("errors.json"))
def test_error_matches_the_vector(case: dict[str, Any]) -> None:
    expect = case["expect"]

    error = error_for_response(_response(case))

    assert type(error) is getattr(techcorp, expect["class"])
    assert isinstance(error, techcorp.APIError)
    assert error.status == expect["status"]
    assert error.error == expect["error"]
    assert error.message == expect["message"]
    assert error.request_id == expect["request_id"]
    for name in ("details", "limit", "remaining", "reset", "retry_after"):
        if name in expect:
            assert getattr(error, name) == expect[name]


def test_not_found_carries_request_id(client: TechCorp) -> None:
    with pytest.raises(NotFoundError) as raised:
        client.products.get("prd_missing")

    error = raised.value
    assert error.status == 404
    assert error.error == "not_found"
    assert error.request_id is not None
    assert error.request_id == error.headers["x-request-id"]
    assert error.request_id in str(error)


def test_path_ids_are_escaped(client: TechCorp) -> None:
    # Without escaping, this id would address the product list instead.
    with pytest.raises(NotFoundError):
        client.users.get("../products")


def test_bad_request_lists_the_invalid_fields(client: TechCorp) -> None:
    with pytest.raises(techcorp.BadRequestError) as raised:
        client.products.create(name="", price=-1, category="books")

    fields = {detail["field"] for detail in raised.value.details}
    assert {"name", "price"} <= fields


def test_conflict_for_a_taken_email(client: TechCorp) -> None:
    user = client.users.create(
        email="taken@example.com", password="SdkTestPassword123!", role="member"
    )

    with pytest.raises(ConflictError) as raised:
        client.users.create(
            email=user.email,
            password="SdkTestPassword123!",
            role="member",
            max_retries=0,
        )
    assert raised.value.status == 409


@pytest.mark.parametrize(
    ("content_type", "content"),
    [("text/html", b"<html>Welcome</html>"), ("application/json", b'{"foo": 1}')],
)
def test_products_get_and_list_with_a_foreign_success_body(
    content_type: str, content: bytes
) -> None:
    reply = httpx.Response(200, headers={"Content-Type": content_type}, content=content)
    client = MockAPI([reply, reply]).client()

    with pytest.raises(APIResponseValidationError, match="not a valid Product") as got:
        client.products.get("prd_1")
    with pytest.raises(APIResponseValidationError, match="page of Product"):
        client.products.list()

    assert isinstance(got.value, techcorp.TechCorpError)
    assert (got.value.status, got.value.body) == (200, content.decode())
