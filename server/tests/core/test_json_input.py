"""Request bodies that are not plain, well-formed UTF-8 JSON objects."""

from __future__ import annotations

import httpx
import pytest

from ..utils.api import assert_error, bearer


@pytest.mark.parametrize(
    ("body", "fragment"),
    [
        (b'{"email": "a@example.com", "email": "b@example.com"}', "appears twice"),
        (b"[" * 100_000, "nested too deeply"),
        (b'{"role": ' + b"1" * 5000 + b"}", "too many digits"),
        (b'{"email": "\xff"}', "not UTF-8"),
    ],
)
async def test_malformed_json_rejected(
    api: httpx.AsyncClient, admin_token: str, body: bytes, fragment: str
) -> None:
    response = await api.post(
        "/v2/users",
        content=body,
        headers={**bearer(admin_token), "Content-Type": "application/json"},
    )

    error = assert_error(response, 400, "bad_request")
    assert fragment in error["message"]
    assert "sys." not in error["message"]


async def test_non_utf8_charset_rejected(
    api: httpx.AsyncClient, admin_token: str
) -> None:
    response = await api.post(
        "/v2/products",
        content=b'{"name": "Widget", "price": 1, "category": "books"}',
        headers={
            **bearer(admin_token),
            "Content-Type": "application/json; charset=latin-1",
        },
    )

    assert_error(response, 415, "unsupported_media_type")


async def test_many_unknown_fields_small_answer(
    api: httpx.AsyncClient, admin_token: str
) -> None:
    fields = {f"field{number}": number for number in range(5000)}
    response = await api.post("/v2/users", json=fields, headers=bearer(admin_token))

    error = assert_error(response, 400, "bad_request")
    assert len(error["details"]) == 50
    assert "errors in all" in error["message"]
    assert len(response.content) < 10_000


async def test_trailing_slash_not_redirected(
    api: httpx.AsyncClient, admin_token: str
) -> None:
    response = await api.get(
        "/v2/users/", headers={**bearer(admin_token), "Host": "attacker.example"}
    )

    assert_error(response, 404, "not_found")
    assert "location" not in response.headers
