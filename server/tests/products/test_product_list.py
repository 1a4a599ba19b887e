"""`GET /v2/products`: filters, pages, links, and lists that follow every write.

Each test puts its products in a category of its own, so totals are exact
even though the servers are shared with every other test.
"""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from ..utils.api import assert_error, bearer
from .helpers import PRODUCTS_URL, create_product, product_url, unique_category


async def list_products(
    api: httpx.AsyncClient, token: str, **params: str | int
) -> httpx.Response:
    response = await api.get(PRODUCTS_URL, params=params, headers=bearer(token))
    return response


async def listed_ids(
    api: httpx.AsyncClient, token: str, **params: str | int
) -> list[str]:
    response = await list_products(api, token, **params)
    assert response.status_code == 200, response.text
    return [product["id"] for product in response.json()["data"]]


async def create_priced(
    api: httpx.AsyncClient, token: str, category: str, prices: list[float]
) -> list[dict[str, Any]]:
    return [
        await create_product(
            api, token, name=f"Item at {price}", price=price, category=category
        )
        for price in prices
    ]


def link_pages(response: httpx.Response) -> dict[str, int]:
    return {
        link["rel"]: int(httpx.URL(link["url"]).params["page"])
        for link in response.links.values()
    }


async def test_list_products_envelope(api: httpx.AsyncClient, admin_token: str) -> None:
    category = unique_category()
    created = await create_priced(api, admin_token, category, [1, 2, 3])

    response = await list_products(api, admin_token, category=category)

    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "application/json"
    body = response.json()
    assert set(body) == {"data", "page", "limit", "total"}
    assert body["page"] == 1
    assert body["limit"] == 20
    assert body["total"] == 3
    assert body["data"] == list(reversed(created))


async def test_filter_by_category_ignores_case(
    api: httpx.AsyncClient, admin_token: str
) -> None:
    category = unique_category()
    other = unique_category()
    [wanted] = await create_priced(api, admin_token, category, [10])
    await create_priced(api, admin_token, other, [10])

    for query in (category, category.upper(), f"  {category} "):
        assert await listed_ids(api, admin_token, category=query) == [wanted["id"]]


async def test_filter_by_unknown_category(
    api: httpx.AsyncClient, admin_token: str
) -> None:
    response = await list_products(api, admin_token, category=unique_category())

    assert response.status_code == 200, response.text
    assert response.json()["data"] == []
    assert response.json()["total"] == 0


@pytest.mark.parametrize(
    ("bounds", "expected_prices"),
    [
        ({"min_price": "10"}, [10, 15.5, 20]),
        ({"max_price": "15.50"}, [5, 10, 15.5]),
        ({"min_price": "10", "max_price": "15.5"}, [10, 15.5]),
        ({"min_price": "10.00", "max_price": "10"}, [10]),
        ({"min_price": "10.01", "max_price": "15.49"}, []),
        ({"min_price": "0", "max_price": "99999999.99"}, [5, 10, 15.5, 20]),
        ({"min_price": "1e1"}, [10, 15.5, 20]),
    ],
)
async def test_filter_by_price_inclusive(
    api: httpx.AsyncClient,
    admin_token: str,
    bounds: dict[str, str],
    expected_prices: list[float],
) -> None:
    category = unique_category()
    await create_priced(api, admin_token, category, [5, 10, 15.5, 20])

    response = await list_products(api, admin_token, category=category, **bounds)

    assert response.status_code == 200, response.text
    body = response.json()
    assert sorted(product["price"] for product in body["data"]) == expected_prices
    assert body["total"] == len(expected_prices)


@pytest.mark.parametrize(
    "params",
    [
        {"min_price": "20", "max_price": "10"},
        {"min_price": "0.02", "max_price": "0.01"},
    ],
)
async def test_min_price_above_max_price(
    api: httpx.AsyncClient, admin_token: str, params: dict[str, str]
) -> None:
    response = await list_products(api, admin_token, **params)

    body = assert_error(response, 400, "bad_request")
    assert "min_price" in body["message"]


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("min_price", "abc"),
        ("min_price", "-1"),
        ("min_price", "1.001"),
        ("min_price", "NaN"),
        ("max_price", "Infinity"),
        ("max_price", "-0.01"),
        ("max_price", ""),
        ("max_price", "100000000"),
        ("category", ""),
        ("category", "   "),
        ("category", "c" * 65),
    ],
)
async def test_list_products_rejects_bad_filter(
    api: httpx.AsyncClient, admin_token: str, name: str, value: str
) -> None:
    response = await list_products(api, admin_token, **{name: value})

    body = assert_error(response, 400, "bad_request")
    assert {detail["field"] for detail in body["details"]} == {name}


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("page", "0"),
        ("page", "-1"),
        ("page", "two"),
        ("page", "1.0"),
        ("limit", "0"),
        ("limit", "101"),
        ("limit", "-1"),
        ("limit", "1e2"),
    ],
)
async def test_list_products_rejects_bad_page(
    api: httpx.AsyncClient, admin_token: str, name: str, value: str
) -> None:
    response = await list_products(api, admin_token, **{name: value})

    body = assert_error(response, 400, "bad_request")
    assert {detail["field"] for detail in body["details"]} == {name}


@pytest.mark.parametrize("page", ["99999999999999999999", "1000001"])
async def test_list_products_page_out_of_range(
    api: httpx.AsyncClient, admin_token: str, page: str
) -> None:
    response = await list_products(api, admin_token, page=page)

    body = assert_error(response, 400, "bad_request")
    assert "between 1 and 1000000" in body["message"]
    assert body["details"] == [
        {"field": "page", "message": "Must be between 1 and 1000000."}
    ]


async def test_list_products_page_too_long(
    api: httpx.AsyncClient, admin_token: str
) -> None:
    response = await list_products(api, admin_token, page="x" * 5_000)

    body = assert_error(response, 400, "bad_request")
    assert "5000 characters long" in body["message"]
    assert len(body["message"]) < 200


async def test_list_products_pages(api: httpx.AsyncClient, admin_token: str) -> None:
    category = unique_category()
    created = await create_priced(api, admin_token, category, [1, 2, 3, 4, 5])
    newest_first = [product["id"] for product in reversed(created)]

    pages = [
        await listed_ids(api, admin_token, category=category, limit=2, page=page)
        for page in (1, 2, 3)
    ]

    assert pages == [newest_first[0:2], newest_first[2:4], newest_first[4:5]]


async def test_list_products_limit_bounds(
    api: httpx.AsyncClient, admin_token: str
) -> None:
    category = unique_category()
    await create_priced(api, admin_token, category, [1, 2])

    for limit, expected in ((1, 1), (100, 2)):
        response = await list_products(api, admin_token, category=category, limit=limit)
        assert response.status_code == 200, response.text
        assert response.json()["limit"] == limit
        assert len(response.json()["data"]) == expected


async def test_list_products_past_the_end(
    api: httpx.AsyncClient, admin_token: str
) -> None:
    category = unique_category()
    await create_priced(api, admin_token, category, [1, 2, 3])

    for page in (3, 1_000_000):
        response = await list_products(
            api, admin_token, category=category, limit=2, page=page
        )
        assert response.status_code == 200, response.text
        body = response.json()
        assert body["data"] == []
        assert body["total"] == 3
        assert body["page"] == page
        assert link_pages(response) == {"first": 1, "prev": 2, "last": 2}


async def test_list_products_link_header(
    api: httpx.AsyncClient, admin_token: str
) -> None:
    category = unique_category()
    await create_priced(api, admin_token, category, [1, 2, 3, 4, 5])

    first = await list_products(api, admin_token, category=category, limit=2)
    middle = await list_products(
        api, admin_token, category=category, limit=2, page=2, min_price="0"
    )
    last = await list_products(api, admin_token, category=category, limit=2, page=3)

    assert link_pages(first) == {"first": 1, "next": 2, "last": 3}
    assert link_pages(middle) == {"first": 1, "prev": 1, "next": 3, "last": 3}
    assert link_pages(last) == {"first": 1, "prev": 2, "last": 3}
    for link in middle.links.values():
        url = httpx.URL(link["url"])
        assert url.path == PRODUCTS_URL
        assert url.params["category"] == category
        assert url.params["min_price"] == "0"
        assert url.params["limit"] == "2"


async def test_empty_list_links_to_page_one(
    api: httpx.AsyncClient, admin_token: str
) -> None:
    response = await list_products(api, admin_token, category=unique_category())

    assert link_pages(response) == {"first": 1, "last": 1}


async def test_list_follows_create(api: httpx.AsyncClient, admin_token: str) -> None:
    category = unique_category()
    assert await listed_ids(api, admin_token, category=category) == []

    product = await create_product(api, admin_token, category=category)

    assert await listed_ids(api, admin_token, category=category) == [product["id"]]


async def test_list_follows_price_change(
    api: httpx.AsyncClient, admin_token: str
) -> None:
    category = unique_category()
    [product] = await create_priced(api, admin_token, category, [50])
    bounds = {"category": category, "min_price": "100"}
    assert await listed_ids(api, admin_token, **bounds) == []
    assert (await list_products(api, admin_token, category=category)).json()["data"][0][
        "price"
    ] == 50

    response = await api.patch(
        product_url(product), json={"price": 150.25}, headers=bearer(admin_token)
    )
    assert response.status_code == 200, response.text

    assert await listed_ids(api, admin_token, **bounds) == [product["id"]]
    listed = (await list_products(api, admin_token, category=category)).json()
    assert listed["data"][0]["price"] == 150.25


async def test_list_follows_replace(api: httpx.AsyncClient, admin_token: str) -> None:
    category = unique_category()
    moved_to = unique_category()
    [product] = await create_priced(api, admin_token, category, [5])
    assert await listed_ids(api, admin_token, category=category) == [product["id"]]

    response = await api.put(
        product_url(product),
        json={"name": "Moved", "price": 5, "category": moved_to},
        headers=bearer(admin_token),
    )
    assert response.status_code == 200, response.text

    assert await listed_ids(api, admin_token, category=category) == []
    assert await listed_ids(api, admin_token, category=moved_to) == [product["id"]]


async def test_list_follows_delete(api: httpx.AsyncClient, admin_token: str) -> None:
    category = unique_category()
    remaining, deleted = await create_priced(api, admin_token, category, [1, 2])
    assert await listed_ids(api, admin_token, category=category) == [
        deleted["id"],
        remaining["id"],
    ]

    response = await api.delete(product_url(deleted), headers=bearer(admin_token))
    assert response.status_code == 204, response.text

    listed = await list_products(api, admin_token, category=category)
    assert [product["id"] for product in listed.json()["data"]] == [remaining["id"]]
    assert listed.json()["total"] == 1
