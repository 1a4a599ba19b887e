"""`GET /v2/search` over HTTP and in-process: matching, updates and input rules."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from ..products.helpers import create_product, product_url
from ..utils.api import assert_error, bearer, create_user
from .helpers import SEARCH_URL, hit_ids, search, unique_word


@pytest.fixture
async def gadget(api: httpx.AsyncClient, admin_token: str) -> dict[str, Any]:
    """A product whose name has a unique brand, a plural and an accent."""
    brand = unique_word().capitalize()
    return await create_product(
        api,
        admin_token,
        name=f"{brand} Café Headphones",
        description="Over-ear headphones with a braided cable.",
    )


def other_letter(letter: str) -> str:
    return "y" if letter == "z" else "z"


def brand_of(product: dict[str, Any]) -> str:
    return str(product["name"].split()[0])


async def test_search_exact_word(
    api: httpx.AsyncClient, admin_token: str, gadget: dict[str, Any]
) -> None:
    body = await search(api, admin_token, brand_of(gadget))

    assert hit_ids(body) == [gadget["id"]]
    assert body["total"] == 1
    assert body["page"] == 1
    assert body["limit"] == 20
    hit = body["data"][0]
    assert hit["type"] == "product"
    assert hit["score"] == 1.0
    assert hit["item"] == gadget


@pytest.mark.parametrize(
    "change",
    [
        pytest.param(
            lambda word: word[:3] + other_letter(word[3]) + word[4:],
            id="substitution",
        ),
        pytest.param(lambda word: word[:2] + word[3] + word[2] + word[4:], id="swap"),
        pytest.param(lambda word: word[:4] + word[5:], id="deletion"),
        pytest.param(lambda word: word + "e", id="insertion"),
    ],
)
async def test_search_one_typo(
    api: httpx.AsyncClient, admin_token: str, gadget: dict[str, Any], change: Any
) -> None:
    typed = change(brand_of(gadget).lower())

    body = await search(api, admin_token, typed)

    assert hit_ids(body) == [gadget["id"]]
    assert body["data"][0]["score"] < 1.0


async def test_search_two_typos_from_nine_letters(
    api: httpx.AsyncClient, admin_token: str, gadget: dict[str, Any]
) -> None:
    brand = brand_of(gadget).lower()
    typed = other_letter(brand[0]) + other_letter(brand[1]) + brand[2:]

    body = await search(api, admin_token, typed)

    assert len(brand) >= 9
    assert hit_ids(body) == [gadget["id"]]


async def test_search_short_word_needs_exact_spelling(
    api: httpx.AsyncClient, admin_token: str
) -> None:
    word = unique_word(4)
    await create_product(api, admin_token, name=f"{word} Cup")

    assert (await search(api, admin_token, word))["total"] == 1
    typo = other_letter(word[0]) + word[1:]
    assert (await search(api, admin_token, typo))["total"] == 0


async def test_search_prefix_of_last_word(
    api: httpx.AsyncClient, admin_token: str, gadget: dict[str, Any]
) -> None:
    typed = brand_of(gadget)[:6]

    body = await search(api, admin_token, f"headphones {typed}")

    assert gadget["id"] in hit_ids(body)
    assert body["data"][0]["item"]["id"] == gadget["id"]


async def test_search_plural_order_case_accents(
    api: httpx.AsyncClient, admin_token: str, gadget: dict[str, Any]
) -> None:
    brand = brand_of(gadget)

    for typed in (
        f"{brand} headphone cafe",
        f"CAFES {brand.upper()}",
        f"headphone {brand.lower()} café",
    ):
        body = await search(api, admin_token, typed)
        assert hit_ids(body)[0] == gadget["id"], typed
        assert body["data"][0]["score"] == 1.0, typed
        # Other tests' gadgets share the last two words, not the brand.
        assert all(hit["score"] < 1.0 for hit in body["data"][1:]), typed


async def test_search_highlights_matched_words(
    api: httpx.AsyncClient, admin_token: str, gadget: dict[str, Any]
) -> None:
    brand = brand_of(gadget)

    body = await search(api, admin_token, f"{brand} headphone")

    highlights = {hit["field"]: hit["spans"] for hit in body["data"][0]["highlights"]}
    name = gadget["name"]
    assert [name[start:end] for start, end in highlights["name"]] == [
        brand,
        "Headphones",
    ]
    description = gadget["description"]
    assert [description[start:end] for start, end in highlights["description"]] == [
        "headphones"
    ]
    assert "category" not in highlights


async def test_search_ranks_fields_and_typos(
    api: httpx.AsyncClient, admin_token: str
) -> None:
    word = unique_word()
    in_description = await create_product(
        api, admin_token, name="Plain Mug", description=f"A {word} mug."
    )
    in_category = await create_product(
        api, admin_token, name="Plain Cup", category=word
    )
    with_typo = await create_product(
        api, admin_token, name=f"{word[:-1]}{other_letter(word[-1])} Bowl"
    )
    in_name = await create_product(api, admin_token, name=f"{word} Plate")

    body = await search(api, admin_token, word)

    assert hit_ids(body) == [
        in_name["id"],
        in_category["id"],
        in_description["id"],
        with_typo["id"],
    ]
    scores = [hit["score"] for hit in body["data"]]
    assert scores == sorted(scores, reverse=True)
    assert len(set(scores)) == 4


async def test_search_ranks_more_words_first(
    api: httpx.AsyncClient, admin_token: str
) -> None:
    first, second = unique_word(), unique_word()
    both = await create_product(api, admin_token, name=f"{first} {second} Lamp")
    one = await create_product(api, admin_token, name=f"{first} Lamp")

    body = await search(api, admin_token, f"{second} {first}")

    assert hit_ids(body) == [both["id"], one["id"]]
    assert body["total"] == 2


async def test_search_ties_newest_first(
    api: httpx.AsyncClient, admin_token: str
) -> None:
    word = unique_word()
    older = await create_product(api, admin_token, name=f"{word} One")
    newer = await create_product(api, admin_token, name=f"{word} Two")

    for _ in range(3):
        body = await search(api, admin_token, word)
        assert hit_ids(body) == [newer["id"], older["id"]]


async def test_search_sees_rename_and_delete(
    api: httpx.AsyncClient, admin_token: str, gadget: dict[str, Any]
) -> None:
    old_brand, new_brand = brand_of(gadget), unique_word()
    response = await api.patch(
        product_url(gadget),
        json={"name": f"{new_brand} Speaker"},
        headers=bearer(admin_token),
    )
    assert response.status_code == 200, response.text

    assert (await search(api, admin_token, old_brand))["total"] == 0
    renamed = await search(api, admin_token, new_brand)
    assert hit_ids(renamed) == [gadget["id"]]
    assert renamed["data"][0]["item"]["name"] == f"{new_brand} Speaker"

    response = await api.delete(product_url(gadget), headers=bearer(admin_token))
    assert response.status_code == 204
    assert (await search(api, admin_token, new_brand))["total"] == 0


async def test_search_users_by_email(api: httpx.AsyncClient, admin_token: str) -> None:
    local = unique_word()
    user = await create_user(api, admin_token, email=f"{local}.smith@example.org")
    domain = unique_word()
    other = await create_user(api, admin_token, email=f"sales@{domain}.com")

    by_local = await search(api, admin_token, local)
    assert [(hit["type"], hit["item"]["id"]) for hit in by_local["data"]] == [
        ("user", user["id"])
    ]
    assert "password" not in by_local["data"][0]["item"]
    assert "password_hash" not in by_local["data"][0]["item"]
    by_email = await search(api, admin_token, f"{local}.smith@example.org")
    assert hit_ids(by_email)[0] == user["id"]
    by_domain = await search(api, admin_token, f"{domain}.com", type="user")
    assert hit_ids(by_domain)[0] == other["id"]
    best = by_domain["data"][0]["score"]
    assert all(hit["score"] < best for hit in by_domain["data"][1:])

    response = await api.delete(f"/v2/users/{user['id']}", headers=bearer(admin_token))
    assert response.status_code == 204
    assert (await search(api, admin_token, local))["total"] == 0


async def test_search_member_sees_users(
    api: httpx.AsyncClient, admin_token: str
) -> None:
    local = unique_word()
    user = await create_user(api, admin_token, email=f"{local}@example.com")

    body = await search(api, user["token"], local)

    assert hit_ids(body) == [user["id"]]


async def test_search_merges_types(api: httpx.AsyncClient, admin_token: str) -> None:
    word = unique_word()
    user = await create_user(api, admin_token, email=f"{word}@example.com")
    product = await create_product(api, admin_token, name=f"{word} Kettle")

    merged = await search(api, admin_token, word)
    products = await search(api, admin_token, word, type="product")
    users = await search(api, admin_token, word, type="user")

    assert hit_ids(merged) == [product["id"], user["id"]]
    assert [hit["type"] for hit in merged["data"]] == ["product", "user"]
    assert merged["total"] == 2
    assert hit_ids(products) == [product["id"]]
    assert hit_ids(users) == [user["id"]]


async def test_search_filters(api: httpx.AsyncClient, admin_token: str) -> None:
    word = unique_word()
    category = unique_word()
    cheap = await create_product(
        api, admin_token, name=f"{word} A", price=5, category=category
    )
    dear = await create_product(
        api, admin_token, name=f"{word} B", price=50.5, category=category
    )
    other = await create_product(api, admin_token, name=f"{word} C", price=20)
    await create_user(api, admin_token, email=f"{word}@example.com")

    def ids(body: dict[str, Any]) -> set[str]:
        return set(hit_ids(body))

    in_category = await search(api, admin_token, word, category=category.upper())
    assert ids(in_category) == {cheap["id"], dear["id"]}
    assert ids(await search(api, admin_token, word, min_price="20")) == {
        dear["id"],
        other["id"],
    }
    assert ids(await search(api, admin_token, word, max_price="20.00")) == {
        cheap["id"],
        other["id"],
    }
    both = await search(
        api, admin_token, word, category=category, min_price=5.01, max_price=50.5
    )
    assert ids(both) == {dear["id"]}
    assert both["total"] == 1


async def test_search_pages(api: httpx.AsyncClient, admin_token: str) -> None:
    word = unique_word()
    created = [
        await create_product(api, admin_token, name=f"{word} {number}")
        for number in range(5)
    ]
    newest_first = [product["id"] for product in reversed(created)]

    first = await api.get(
        SEARCH_URL, params={"q": word, "limit": 2}, headers=bearer(admin_token)
    )
    third = await search(api, admin_token, word, limit=2, page=3)

    assert hit_ids(first.json()) == newest_first[:2]
    assert first.json()["total"] == 5
    assert hit_ids(third) == newest_first[4:]
    link = first.headers["Link"]
    assert f'q={word}&page=2&limit=2>; rel="next"' in link
    assert f'q={word}&page=3&limit=2>; rel="last"' in link


@pytest.mark.parametrize(
    "q",
    ["%", "_", "100%_", "'", '"', "\\", "[a]", "(x) OR 1=1", "* -", "🙂", "a\x00b"],
)
async def test_search_symbols_are_plain_text(
    api: httpx.AsyncClient, admin_token: str, q: str
) -> None:
    body = await search(api, admin_token, q)

    assert isinstance(body["total"], int)
    assert len(body["data"]) <= 20


async def test_search_symbols_match_literally(
    api: httpx.AsyncClient, admin_token: str
) -> None:
    word = unique_word()
    product = await create_product(api, admin_token, name=f"100% {word}_wool [L]")

    assert hit_ids(await search(api, admin_token, f"100% {word}_wool")) == [
        product["id"]
    ]
    assert (await search(api, admin_token, "%_%"))["total"] == 0


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("", "q"),
        ("q=", "q"),
        ("q=%20%20%20", "q"),
        ("q=a&q=b", "q"),
        ("q=" + "a" * 201, "q"),
        ("q=widget&type=order", "type"),
        ("q=widget&type=user&category=books", "type"),
        ("q=widget&limit=0", "limit"),
        ("q=widget&min_price=-1", "min_price"),
        ("q=widget&min_price=9&max_price=1", "min_price"),
        ("q=widget&page=51", "page"),
    ],
)
async def test_search_rejects_bad_parameters(
    api: httpx.AsyncClient, admin_token: str, query: str, field: str
) -> None:
    response = await api.get(f"{SEARCH_URL}?{query}", headers=bearer(admin_token))

    body = assert_error(response, 400, "bad_request")
    assert body["details"][0]["field"] == field


async def test_search_query_of_200_characters(
    api: httpx.AsyncClient, admin_token: str
) -> None:
    body = await search(api, admin_token, "  " + "widget " * 28 + "ab  ")

    assert body["page"] == 1


async def test_search_requires_token(api: httpx.AsyncClient) -> None:
    response = await api.get(SEARCH_URL, params={"q": "widget"})

    assert_error(response, 401, "unauthorized")


async def test_published_search_example(
    api: httpx.AsyncClient, admin_token: str
) -> None:
    await create_product(api, admin_token)

    body = await search(api, admin_token, "widget", type="product")

    assert body["total"] >= 1
    assert all(hit["type"] == "product" for hit in body["data"])
    assert body["data"][0]["item"]["name"] == "Super Widget"
