"""Events reach a loopback receiver signed, retried and recorded."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
from typing import Any

import httpx
from standardwebhooks import Webhook

from ..utils.api import bearer, create_user
from .conftest import RegisterEndpoint
from .receiver import ReceivedRequest, Receiver


# The published sample, unchanged.
def verify_signature(payload, secret, signature):  # type: ignore[no-untyped-def]
    computed = hmac.new(secret.encode(), payload.encode(), hashlib.sha256).hexdigest()
    return hmac.compare_digest(computed, signature)


def assert_signed(request: ReceivedRequest, secret: str) -> dict[str, Any]:
    """Check both signatures of a delivery and return its parsed body."""
    assert verify_signature(
        request.body.decode(), secret, request.headers["x-signature"]
    )
    verified: dict[str, Any] = Webhook(secret).verify(request.body, request.headers)
    return verified


async def create_product(
    api: httpx.AsyncClient, admin: dict[str, str], name: str = "Webhook Lamp"
) -> dict[str, Any]:
    response = await api.post(
        "/v2/products",
        json={"name": name, "price": 19.99, "category": "home"},
        headers=admin,
    )
    assert response.status_code == 201, response.text
    product: dict[str, Any] = response.json()
    return product


def carrying(resource_id: str) -> Any:
    return lambda requests: any(resource_id.encode() in r.body for r in requests)


async def test_user_product_payment_events_arrive_signed(
    hooks: httpx.AsyncClient,
    hooks_admin: dict[str, str],
    receiver: Receiver,
    register: RegisterEndpoint,
) -> None:
    endpoint = await register(
        receiver.url, ["user.created", "product.created", "payment.succeeded"]
    )
    secret = endpoint["secret"]
    assert secret.startswith("whsec_")

    user = await create_user(hooks, hooks_admin["Authorization"].split()[1])
    product = await create_product(hooks, hooks_admin)
    response = await hooks.post(
        "/v2/payments",
        json={
            "product_id": product["id"],
            "quantity": 2,
            "payment_method": "pm_card_visa",
        },
        headers=bearer(user["token"]),
    )
    assert response.status_code == 201, response.text
    payment = response.json()

    await receiver.wait_for(carrying(payment["id"]))
    await receiver.wait_for(carrying(user["id"]))
    await receiver.wait_for(carrying(product["id"]))
    bodies = {}
    for request in receiver.requests:
        body = assert_signed(request, secret)
        bodies[body["type"]] = body
        assert request.headers["x-event-id"] == body["id"]
        assert request.headers["webhook-id"] == body["id"]
        assert request.headers["x-event-type"] == body["type"]
        assert request.headers["x-webhook-id"] == endpoint["id"]
        assert request.headers["x-delivery-attempt"] == "1"
        assert request.headers["user-agent"].startswith("TechCorp-Webhooks/")
        assert request.headers["content-type"] == "application/json"

    assert set(bodies) == {"user.created", "product.created", "payment.succeeded"}
    assert bodies["user.created"]["data"]["id"] == user["id"]
    assert "password" not in json.dumps(bodies["user.created"])
    assert bodies["product.created"]["data"] == product
    assert bodies["payment.succeeded"]["data"] == payment
    for body in bodies.values():
        assert body["id"].startswith("evt_")
        assert isinstance(body["created"], int)
        assert set(body) == {"id", "type", "created", "data"}


async def test_unsubscribed_events_not_sent(
    hooks: httpx.AsyncClient,
    hooks_admin: dict[str, str],
    receiver: Receiver,
    register: RegisterEndpoint,
) -> None:
    await register(receiver.url, ["product.deleted"])
    product = await create_product(hooks, hooks_admin, "Unwatched Lamp")
    response = await hooks.delete(f"/v2/products/{product['id']}", headers=hooks_admin)
    assert response.status_code == 204

    await receiver.wait_for(carrying(product["id"]))
    assert [r.headers["x-event-type"] for r in receiver.requests] == ["product.deleted"]


async def test_failing_receiver_gets_event_later(
    hooks: httpx.AsyncClient,
    hooks_admin: dict[str, str],
    register: RegisterEndpoint,
) -> None:
    statuses = iter([500, 503])
    receiver = Receiver(lambda _request: next(statuses, 200))
    await receiver.start()
    try:
        endpoint = await register(receiver.url, ["product.created"])
        product = await create_product(hooks, hooks_admin, "Retried Lamp")
        await receiver.wait_for(lambda requests: len(requests) >= 3)
    finally:
        await receiver.stop()

    attempts = [r.headers["x-delivery-attempt"] for r in receiver.requests]
    assert attempts == ["1", "2", "3"]
    assert len({r.event_id for r in receiver.requests}) == 1
    assert product["id"].encode() in receiver.requests[0].body

    delivery = await wait_for_delivery(hooks, hooks_admin, endpoint["id"], "succeeded")
    assert delivery["attempt_count"] == 3
    codes = [attempt["status_code"] for attempt in delivery["attempts"]]
    assert codes == [500, 503, 200]
    assert [attempt["number"] for attempt in delivery["attempts"]] == [1, 2, 3]
    assert delivery["attempts"][0]["response_excerpt"] == "ok"
    assert delivery["next_attempt_at"] is None


async def wait_for_delivery(
    api: httpx.AsyncClient, admin: dict[str, str], webhook_id: str, status: str
) -> dict[str, Any]:
    """Poll the deliveries list until the newest delivery has `status`."""
    for _ in range(100):
        response = await api.get(f"/v2/webhooks/{webhook_id}/deliveries", headers=admin)
        assert response.status_code == 200, response.text
        page = response.json()
        if page["data"] and page["data"][0]["status"] == status:
            delivery: dict[str, Any] = page["data"][0]
            return delivery
        await _pause()
    raise AssertionError(f"no {status} delivery: {page}")


async def _pause() -> None:
    await asyncio.sleep(0.1)


async def test_gone_disables_endpoint(
    hooks: httpx.AsyncClient,
    hooks_admin: dict[str, str],
    register: RegisterEndpoint,
) -> None:
    receiver = Receiver(lambda _request: 410)
    await receiver.start()
    try:
        endpoint = await register(receiver.url, ["product.created"])
        await create_product(hooks, hooks_admin, "Gone Lamp")
        await receiver.wait_for(lambda requests: len(requests) >= 1)
        delivery = await wait_for_delivery(hooks, hooks_admin, endpoint["id"], "failed")
    finally:
        await receiver.stop()

    assert delivery["attempt_count"] == 1
    assert delivery["last_status_code"] == 410
    response = await hooks.get(f"/v2/webhooks/{endpoint['id']}", headers=hooks_admin)
    assert response.json()["enabled"] is False
    assert "410" in response.json()["disabled_reason"]


async def test_timeout_recorded_as_error(
    hooks: httpx.AsyncClient,
    hooks_admin: dict[str, str],
    register: RegisterEndpoint,
) -> None:
    receiver = Receiver(delay=3)
    await receiver.start()
    try:
        endpoint = await register(receiver.url, ["product.created"])
        await create_product(hooks, hooks_admin, "Slow Lamp")
        await receiver.wait_for(lambda requests: len(requests) >= 1)
        delivery = await wait_for_delivery(
            hooks, hooks_admin, endpoint["id"], "pending"
        )
        for _ in range(50):
            if delivery["attempts"]:
                break
            await _pause()
            delivery = await wait_for_delivery(
                hooks, hooks_admin, endpoint["id"], "pending"
            )
    finally:
        await receiver.stop()
        await hooks.patch(
            f"/v2/webhooks/{endpoint['id']}",
            json={"enabled": False},
            headers=hooks_admin,
        )

    first = delivery["attempts"][0]
    assert first["status_code"] is None
    assert "timed out" in first["error"].lower()
    assert first["duration_ms"] >= 1900


async def test_redeliver_and_test_event(
    hooks: httpx.AsyncClient,
    hooks_admin: dict[str, str],
    receiver: Receiver,
    register: RegisterEndpoint,
) -> None:
    endpoint = await register(receiver.url, ["product.updated"])
    webhook_id = endpoint["id"]

    response = await hooks.post(f"/v2/webhooks/{webhook_id}/test", headers=hooks_admin)
    assert response.status_code == 202, response.text
    test_delivery = response.json()
    assert test_delivery["event_type"] == "webhook.test"
    await receiver.wait_for(lambda requests: len(requests) == 1)
    first = receiver.requests[0]
    assert json.loads(first.body)["data"]["webhook_id"] == webhook_id
    assert_signed(first, endpoint["secret"])

    response = await hooks.post(
        f"/v2/webhooks/{webhook_id}/deliveries/{test_delivery['id']}/redeliver",
        headers=hooks_admin,
    )
    assert response.status_code == 202, response.text
    again = response.json()
    assert again["id"] != test_delivery["id"]
    assert again["event_id"] == test_delivery["event_id"]
    await receiver.wait_for(lambda requests: len(requests) == 2)
    assert receiver.requests[1].body == first.body
    assert receiver.requests[1].event_id == first.event_id


async def test_rotation_signs_with_both_secrets(
    hooks: httpx.AsyncClient,
    hooks_admin: dict[str, str],
    receiver: Receiver,
    register: RegisterEndpoint,
) -> None:
    endpoint = await register(receiver.url, ["product.created"])
    old_secret = endpoint["secret"]
    response = await hooks.post(
        f"/v2/webhooks/{endpoint['id']}/rotate-secret", headers=hooks_admin
    )
    assert response.status_code == 200, response.text
    new_secret = response.json()["secret"]
    assert new_secret != old_secret

    await hooks.post(f"/v2/webhooks/{endpoint['id']}/test", headers=hooks_admin)
    (request,) = await receiver.wait_for(lambda requests: len(requests) == 1)

    assert len(request.headers["webhook-signature"].split(" ")) == 2
    assert_signed(request, new_secret)
    Webhook(old_secret).verify(request.body, request.headers)
    assert not verify_signature(
        request.body.decode(), old_secret, request.headers["x-signature"]
    )
