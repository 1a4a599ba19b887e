"""Payments: exact amounts, test methods that succeed or decline, own payments only."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from ..utils.api import assert_error, bearer, create_user


async def new_product(api: httpx.AsyncClient, admin_token: str, price: float) -> str:
    response = await api.post(
        "/v2/products",
        json={"name": "Paid Widget", "price": price, "category": "widgets"},
        headers=bearer(admin_token),
    )
    assert response.status_code == 201, response.text
    product_id: str = response.json()["id"]
    return product_id


async def pay(api: httpx.AsyncClient, token: str, **fields: Any) -> httpx.Response:
    return await api.post("/v2/payments", json=fields, headers=bearer(token))


async def test_payment_succeeds_with_exact_amount(
    api: httpx.AsyncClient, admin_token: str
) -> None:
    product_id = await new_product(api, admin_token, 19.99)
    member = await create_user(api, admin_token)

    response = await pay(
        api,
        member["token"],
        product_id=product_id,
        quantity=3,
        payment_method="pm_card_visa",
    )

    assert response.status_code == 201, response.text
    payment = response.json()
    assert payment["id"].startswith("pay_")
    assert response.headers["location"] == f"/v2/payments/{payment['id']}"
    assert payment["status"] == "succeeded"
    assert payment["unit_amount"] == 19.99
    assert payment["amount"] == 59.97
    assert '"amount":59.97' in response.text
    assert payment["currency"] == "usd"
    assert payment["user_id"] == member["id"]
    assert payment["product_name"] == "Paid Widget"
    assert payment["failure_code"] is None


@pytest.mark.parametrize(
    ("method", "code"),
    [
        ("pm_card_chargeDeclined", "card_declined"),
        ("pm_card_chargeDeclinedInsufficientFunds", "insufficient_funds"),
        ("pm_card_chargeDeclinedExpiredCard", "expired_card"),
    ],
)
async def test_declined_methods_fail(
    api: httpx.AsyncClient, admin_token: str, method: str, code: str
) -> None:
    product_id = await new_product(api, admin_token, 5)
    response = await pay(api, admin_token, product_id=product_id, payment_method=method)

    assert response.status_code == 201, response.text
    payment = response.json()
    assert payment["status"] == "failed"
    assert payment["failure_code"] == code
    assert payment["failure_message"]
    assert payment["quantity"] == 1
    assert payment["amount"] == 5


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"quantity": 0, "payment_method": "pm_card_visa"}, "quantity"),
        ({"quantity": 1001, "payment_method": "pm_card_visa"}, "quantity"),
        ({"quantity": True, "payment_method": "pm_card_visa"}, "quantity"),
        ({"quantity": 1.5, "payment_method": "pm_card_visa"}, "quantity"),
        ({"quantity": "2", "payment_method": "pm_card_visa"}, "quantity"),
        ({"payment_method": "pm_card_unknown"}, "payment_method"),
        ({}, "payment_method"),
        ({"payment_method": "pm_card_visa", "amount": 1}, "amount"),
    ],
)
async def test_invalid_payments_rejected(
    api: httpx.AsyncClient, admin_token: str, fields: dict[str, Any], field: str
) -> None:
    product_id = await new_product(api, admin_token, 10)
    before = (await api.get("/v2/payments", headers=bearer(admin_token))).json()[
        "total"
    ]

    response = await pay(api, admin_token, product_id=product_id, **fields)

    body = assert_error(response, 400, "bad_request")
    assert field in [detail["field"] for detail in body["details"]]
    after = (await api.get("/v2/payments", headers=bearer(admin_token))).json()["total"]
    assert after == before


async def test_unknown_product_rejected(
    api: httpx.AsyncClient, admin_token: str
) -> None:
    response = await pay(
        api, admin_token, product_id="prd_missing", payment_method="pm_card_visa"
    )
    body = assert_error(response, 400, "bad_request")
    assert body["details"] == [{"field": "product_id", "message": "Not found."}]


async def test_members_see_only_their_payments(
    api: httpx.AsyncClient, admin_token: str
) -> None:
    product_id = await new_product(api, admin_token, 2.5)
    alice = await create_user(api, admin_token)
    bob = await create_user(api, admin_token)
    alices = (
        await pay(
            api, alice["token"], product_id=product_id, payment_method="pm_card_visa"
        )
    ).json()
    bobs = (
        await pay(
            api, bob["token"], product_id=product_id, payment_method="pm_card_amex"
        )
    ).json()

    listed = await api.get("/v2/payments", headers=bearer(alice["token"]))
    assert listed.status_code == 200
    assert [p["id"] for p in listed.json()["data"]] == [alices["id"]]
    assert listed.json()["total"] == 1

    own = await api.get(f"/v2/payments/{alices['id']}", headers=bearer(alice["token"]))
    assert own.json() == alices
    other = await api.get(f"/v2/payments/{bobs['id']}", headers=bearer(alice["token"]))
    assert_error(other, 404, "not_found")

    everything = await api.get("/v2/payments?limit=100", headers=bearer(admin_token))
    ids = [p["id"] for p in everything.json()["data"]]
    assert bobs["id"] in ids
    assert alices["id"] in ids
    assert ids.index(bobs["id"]) < ids.index(alices["id"])


async def test_payments_need_a_token(api: httpx.AsyncClient) -> None:
    assert_error(await api.get("/v2/payments"), 401, "unauthorized")
    assert_error(
        await api.post("/v2/payments", json={"payment_method": "pm_card_visa"}),
        401,
        "unauthorized",
    )
