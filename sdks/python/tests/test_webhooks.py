"""Signature helpers against the shared vectors and the `standardwebhooks` package."""

from __future__ import annotations

import hashlib
import hmac
import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import standardwebhooks

from techcorp.events import UnknownWebhookEvent, UserEvent
from techcorp.webhooks import (
    StandardWebhook,
    WebhookVerificationError,
    construct_event,
    sign,
    verify_signature,
)

VECTORS_PATH = Path(__file__).parents[2] / "testdata" / "signatures.json"
VECTORS: dict[str, Any] = json.loads(VECTORS_PATH.read_text())
TOLERANCE_SECONDS = VECTORS["tolerance_seconds"]
WHSEC = VECTORS["valid"][0]["secrets"][0]


def documented_verify_signature(payload: str, secret: str, signature: str) -> bool:
    """The Python sample of the API v2 documentation, as published."""
    computed = hmac.new(secret.encode(), payload.encode(), hashlib.sha256).hexdigest()
    return hmac.compare_digest(computed, signature)


def standard_headers(case: dict[str, Any]) -> dict[str, str]:
    return {
        "webhook-id": case["webhook_id"],
        "webhook-timestamp": str(case["timestamp"]),
        "webhook-signature": case["webhook_signature"],
    }


def verifier(secret: str, now: int) -> StandardWebhook:
    return StandardWebhook(
        secret, tolerance_seconds=TOLERANCE_SECONDS, clock=lambda: float(now)
    )


@pytest.mark.parametrize("case", VECTORS["valid"], ids=lambda case: case["name"])
def test_valid_vectors_verify(case: dict[str, Any]) -> None:
    body: str = case["body"]
    newest = case["secrets"][0]

    assert verify_signature(body, newest, case["x_signature"])
    assert verify_signature(body.encode(), newest, case["x_signature"])
    assert documented_verify_signature(body, newest, case["x_signature"])
    for secret in case["secrets"]:
        verifier(secret, case["timestamp"]).verify(body, standard_headers(case))


@pytest.mark.parametrize("case", VECTORS["valid"], ids=lambda case: case["name"])
def test_sign_reproduces_vectors(case: dict[str, Any]) -> None:
    headers = sign(
        case["body"],
        case["secrets"],
        message_id=case["webhook_id"],
        timestamp=case["timestamp"],
    )

    assert headers["X-Signature"] == case["x_signature"]
    assert headers["webhook-signature"] == case["webhook_signature"]
    assert headers["webhook-id"] == case["webhook_id"]
    assert headers["webhook-timestamp"] == str(case["timestamp"])


@pytest.mark.parametrize("case", VECTORS["invalid"], ids=lambda case: case["name"])
def test_invalid_vectors_fail(case: dict[str, Any]) -> None:
    if case["x_signature"] is not None:
        assert not verify_signature(case["body"], case["secret"], case["x_signature"])
    if case["webhook_signature"] is not None:
        with pytest.raises(WebhookVerificationError):
            verifier(case["secret"], case["now"]).verify(
                case["body"], standard_headers(case)
            )


def test_vectors_cover_each_failure() -> None:
    names = {case["name"] for case in VECTORS["invalid"]}

    assert {"tampered body", "wrong secret", "stale timestamp"} <= names


def test_verify_signature_matches_documented_sample() -> None:
    body = '{"id":"evt_1","type":"user.created"}'
    good = sign(body, "a-secret-of-sixteen+")["X-Signature"]
    cases = [good, good.upper(), good[:-1], "", "0" * 64]

    for signature in cases:
        expected = documented_verify_signature(body, "a-secret-of-sixteen+", signature)
        assert verify_signature(body, "a-secret-of-sixteen+", signature) is expected


def test_verify_signature_rejects_non_ascii_signature() -> None:
    assert not verify_signature("{}", "a-secret-of-sixteen+", "é" * 64)


def test_sign_output_passes_standardwebhooks_package() -> None:
    body = '{"id":"evt_2","type":"product.created","created":1,"data":{}}'
    headers = sign(body, WHSEC)

    verified = standardwebhooks.Webhook(WHSEC).verify(body, headers)

    assert verified == json.loads(body)


def test_standardwebhooks_package_output_passes_verifier() -> None:
    body = '{"id":"evt_3"}'
    sent_at = datetime.now(UTC).replace(microsecond=0)
    signature = standardwebhooks.Webhook(WHSEC).sign("msg_1", sent_at, body)
    headers = {
        "Webhook-Id": "msg_1",
        "Webhook-Timestamp": str(int(sent_at.timestamp())),
        "Webhook-Signature": signature,
    }

    StandardWebhook(WHSEC).verify(body, headers)


def test_rotation_signature_accepted_with_either_secret() -> None:
    old, new = WHSEC, VECTORS["valid"][3]["secrets"][0]
    headers = sign("{}", [new, old], message_id="msg_1", timestamp=1000)

    for secret in (new, old):
        verifier(secret, 1000).verify("{}", headers)
    assert len(headers["webhook-signature"].split()) == 2


def test_missing_headers_named_in_error() -> None:
    with pytest.raises(WebhookVerificationError, match="webhook-timestamp"):
        StandardWebhook(WHSEC).verify(
            "{}", {"webhook-id": "x", "webhook-signature": "y"}
        )


def test_non_numeric_timestamp_rejected() -> None:
    headers = sign("{}", WHSEC) | {"webhook-timestamp": "12.5"}

    with pytest.raises(WebhookVerificationError, match="not Unix seconds"):
        StandardWebhook(WHSEC).verify("{}", headers)


def test_timestamp_tolerance_edges() -> None:
    headers = sign("{}", WHSEC, timestamp=10_000)

    verifier(WHSEC, 10_000 + TOLERANCE_SECONDS).verify("{}", headers)
    verifier(WHSEC, 10_000 - TOLERANCE_SECONDS).verify("{}", headers)
    with pytest.raises(WebhookVerificationError, match="seconds old"):
        verifier(WHSEC, 10_001 + TOLERANCE_SECONDS).verify("{}", headers)
    with pytest.raises(WebhookVerificationError, match="in the future"):
        verifier(WHSEC, 9_999 - TOLERANCE_SECONDS).verify("{}", headers)


def test_malformed_whsec_secret_rejected() -> None:
    with pytest.raises(ValueError, match="not base64"):
        StandardWebhook("whsec_not*base64")


def test_construct_event_returns_typed_event() -> None:
    case = VECTORS["valid"][0]
    event = construct_event(
        case["body"],
        standard_headers(case),
        WHSEC,
        clock=lambda: float(case["timestamp"]),
    )

    assert isinstance(event, UserEvent)
    assert event.type == "user.created"
    assert event.data.email == "user@example.com"


def test_construct_event_keeps_unknown_types() -> None:
    body = '{"id":"evt_4","type":"order.shipped","created":1,"data":{"n":1}}'

    event = construct_event(body, sign(body, WHSEC), WHSEC)

    assert isinstance(event, UnknownWebhookEvent)
    assert event.data == {"n": 1}


def test_construct_event_rejects_signed_non_event() -> None:
    body = '{"hello":"world"}'

    with pytest.raises(WebhookVerificationError, match="not a valid event"):
        construct_event(body, sign(body, WHSEC), WHSEC)


def test_construct_event_requires_standard_headers() -> None:
    body = '{"id":"evt_5","type":"user.created","created":1,"data":{}}'
    only_hex = {"X-Signature": sign(body, WHSEC)["X-Signature"]}

    with pytest.raises(WebhookVerificationError, match="Missing webhook header"):
        construct_event(body, only_hex, WHSEC)


@pytest.mark.parametrize("body", [b"[1, 2]", b'"user.created"', b"42", b"null"])
def test_construct_event_with_a_signed_non_object_body(
    body: bytes,
) -> None:
    with pytest.raises(WebhookVerificationError, match="not a valid event"):
        construct_event(body, sign(body, WHSEC), WHSEC)
