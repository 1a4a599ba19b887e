"""Idempotency-Key: retries replay the first response, never pay twice."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from asgi_lifespan import LifespanManager

from techcorp_server.app import create_app
from techcorp_server.core import idempotency
from techcorp_server.core.idempotency import IdempotencyStore
from techcorp_server.payments.service import PaymentService

from ..conftest import app_settings
from ..utils.api import assert_error, bearer, client_token, create_user
from .test_payments import new_product


def keyed(token: str, key: str) -> dict[str, str]:
    return {**bearer(token), "Idempotency-Key": key}


async def payment_total(api: httpx.AsyncClient, token: str) -> int:
    response = await api.get("/v2/payments", headers=bearer(token))
    total: int = response.json()["total"]
    return total


async def test_same_key_replays_first_response(
    api: httpx.AsyncClient, admin_token: str
) -> None:
    product_id = await new_product(api, admin_token, 12.34)
    member = await create_user(api, admin_token)
    body = {"product_id": product_id, "quantity": 2, "payment_method": "pm_card_visa"}
    headers = keyed(member["token"], str(uuid.uuid4()))

    first = await api.post("/v2/payments", json=body, headers=headers)
    second = await api.post("/v2/payments", json=body, headers=headers)

    assert first.status_code == 201, first.text
    assert second.status_code == 201
    assert second.content == first.content
    assert second.headers["location"] == first.headers["location"]
    assert second.headers["idempotent-replayed"] == "true"
    assert "idempotent-replayed" not in first.headers
    assert await payment_total(api, member["token"]) == 1


async def test_same_key_different_body_conflicts(
    api: httpx.AsyncClient, admin_token: str
) -> None:
    product_id = await new_product(api, admin_token, 3)
    member = await create_user(api, admin_token)
    headers = keyed(member["token"], "order-1234")
    body = {"product_id": product_id, "payment_method": "pm_card_visa"}

    assert (
        await api.post("/v2/payments", json=body, headers=headers)
    ).status_code == 201
    changed = await api.post(
        "/v2/payments", json={**body, "quantity": 5}, headers=headers
    )

    body_text = assert_error(changed, 409, "conflict")["message"]
    assert "different request" in body_text
    assert await payment_total(api, member["token"]) == 1


async def test_keys_are_scoped_per_user(
    api: httpx.AsyncClient, admin_token: str
) -> None:
    product_id = await new_product(api, admin_token, 3)
    alice = await create_user(api, admin_token)
    bob = await create_user(api, admin_token)
    body = {"product_id": product_id, "payment_method": "pm_card_visa"}

    first = await api.post(
        "/v2/payments", json=body, headers=keyed(alice["token"], "k1")
    )
    second = await api.post(
        "/v2/payments", json=body, headers=keyed(bob["token"], "k1")
    )

    assert first.status_code == second.status_code == 201
    assert first.json()["id"] != second.json()["id"]
    assert second.json()["user_id"] == bob["id"]


async def test_concurrent_duplicates_pay_once(
    api: httpx.AsyncClient, admin_token: str
) -> None:
    product_id = await new_product(api, admin_token, 7.77)
    member = await create_user(api, admin_token)
    headers = keyed(member["token"], str(uuid.uuid4()))
    body = {"product_id": product_id, "payment_method": "pm_card_visa"}

    responses = await asyncio.gather(
        *(api.post("/v2/payments", json=body, headers=headers) for _ in range(20))
    )

    assert [r.status_code for r in responses] == [201] * 20
    assert len({r.json()["id"] for r in responses}) == 1
    replayed = [r for r in responses if r.headers.get("idempotent-replayed") == "true"]
    assert len(replayed) == 19
    assert await payment_total(api, member["token"]) == 1


async def test_failed_request_releases_key(
    api: httpx.AsyncClient, admin_token: str
) -> None:
    product_id = await new_product(api, admin_token, 1)
    member = await create_user(api, admin_token)
    headers = keyed(member["token"], "retry-after-fix")

    bad = await api.post(
        "/v2/payments",
        json={"product_id": product_id, "payment_method": "pm_card_bogus"},
        headers=headers,
    )
    assert_error(bad, 400, "bad_request")
    fixed = await api.post(
        "/v2/payments",
        json={"product_id": product_id, "payment_method": "pm_card_visa"},
        headers=headers,
    )
    assert fixed.status_code == 201, fixed.text
    assert "idempotent-replayed" not in fixed.headers


async def test_other_posts_honour_the_key(
    api: httpx.AsyncClient, admin_token: str
) -> None:
    headers = keyed(admin_token, str(uuid.uuid4()))
    body = {"name": "Once Only", "price": 1.5, "category": "idempotent"}

    first = await api.post("/v2/products", json=body, headers=headers)
    second = await api.post("/v2/products", json=body, headers=headers)

    assert first.status_code == second.status_code == 201
    assert first.json()["id"] == second.json()["id"]
    listed = await api.get(
        "/v2/products?category=idempotent", headers=bearer(admin_token)
    )
    assert listed.json()["total"] == 1


async def test_invalid_key_rejected(api: httpx.AsyncClient, admin_token: str) -> None:
    response = await api.post(
        "/v2/payments",
        json={"product_id": "prd_x", "payment_method": "pm_card_visa"},
        headers=keyed(admin_token, "k" * 256),
    )
    assert_error(response, 400, "bad_request")


class ProcessCrashed(Exception):
    """Stands in for the server process dying at the point it is raised."""


@pytest.fixture
async def crashing_api(tmp_path: Path) -> AsyncIterator[httpx.AsyncClient]:
    """An in-process server whose unhandled errors become 500 responses."""
    app = create_app(app_settings(tmp_path))
    async with LifespanManager(app) as manager:
        transport = httpx.ASGITransport(
            app=manager.app, client=("127.0.0.1", 50002), raise_app_exceptions=False
        )
        async with httpx.AsyncClient(
            transport=transport, base_url="http://testserver"
        ) as client:
            yield client


async def test_crash_after_payment_never_pays_twice(
    crashing_api: httpx.AsyncClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    api = crashing_api
    admin_token = await client_token(api)
    product_id = await new_product(api, admin_token, 9.99)
    member = await create_user(api, admin_token)
    headers = keyed(member["token"], str(uuid.uuid4()))
    body = {"product_id": product_id, "payment_method": "pm_card_visa"}

    async def crash(self: IdempotencyStore, *args: object) -> None:
        raise ProcessCrashed

    # The process dies once the payment has committed, before the request
    # completes its key, and the key's lock has expired when the client
    # retries.
    monkeypatch.setattr(IdempotencyStore, "complete", crash)
    monkeypatch.setattr(idempotency, "LOCK_SECONDS", 0.0)
    crashed = await api.post("/v2/payments", json=body, headers=headers)
    monkeypatch.undo()
    retried = await api.post("/v2/payments", json=body, headers=headers)

    assert crashed.status_code == 500
    assert retried.status_code == 201, retried.text
    assert retried.headers["idempotent-replayed"] == "true"
    assert await payment_total(api, member["token"]) == 1


async def test_late_holder_replays_the_stored_response(
    crashing_api: httpx.AsyncClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    api = crashing_api
    admin_token = await client_token(api)
    product_id = await new_product(api, admin_token, 4.5)
    member = await create_user(api, admin_token)
    headers = keyed(member["token"], str(uuid.uuid4()))
    body = {"product_id": product_id, "payment_method": "pm_card_visa"}
    first_started = asyncio.Event()
    create = PaymentService.create

    async def create_late(
        self: PaymentService, *args: Any, **kwargs: Any
    ) -> dict[str, Any]:
        # The first request stalls here, past its lock, while a retry takes
        # the key over and pays first.
        if not first_started.is_set():
            first_started.set()
            await asyncio.sleep(0.5)
        return await create(self, *args, **kwargs)

    monkeypatch.setattr(PaymentService, "create", create_late)
    monkeypatch.setattr(idempotency, "LOCK_SECONDS", 0.0)
    slow = asyncio.create_task(api.post("/v2/payments", json=body, headers=headers))
    await first_started.wait()
    retried = await api.post("/v2/payments", json=body, headers=headers)
    stalled = await slow

    assert retried.status_code == 201, retried.text
    assert stalled.status_code == 201, stalled.text
    assert stalled.headers["idempotent-replayed"] == "true"
    assert stalled.json()["id"] == retried.json()["id"]
    assert await payment_total(api, member["token"]) == 1
