"""Signatures verify with the published sample and a Standard Webhooks library."""

from __future__ import annotations

import base64
import hashlib
import hmac

import pytest
from standardwebhooks import Webhook, WebhookVerificationError

from techcorp_server.webhooks.signatures import (
    generate_secret,
    secret_problem,
    signature_headers,
    standard_key,
)

BODY = b'{"id":"evt_1","type":"user.created","created":1700000000,"data":{}}'


def verify_signature(payload, secret, signature):  # type: ignore[no-untyped-def]
    computed = hmac.new(secret.encode(), payload.encode(), hashlib.sha256).hexdigest()
    return hmac.compare_digest(computed, signature)


def test_generated_secret_shape() -> None:
    secret = generate_secret()
    assert secret.startswith("whsec_")
    assert len(base64.b64decode(secret.removeprefix("whsec_"))) == 32
    assert secret_problem(secret) is None
    assert generate_secret() != secret


@pytest.mark.parametrize("secret", [generate_secret(), "my-own-secret-0123456789"])
def test_both_signatures_verify(secret: str) -> None:
    timestamp = int(__import__("time").time())
    headers = signature_headers(
        BODY, secrets_in_use=[secret], message_id="evt_1", timestamp=timestamp
    )
    assert headers["X-Signature"] == headers["X-Signature"].lower()
    assert verify_signature(BODY.decode(), secret, headers["X-Signature"])
    key = secret if secret.startswith("whsec_") else standard_key(secret)
    assert Webhook(key).verify(BODY, headers) == {
        "id": "evt_1",
        "type": "user.created",
        "created": 1700000000,
        "data": {},
    }


def test_standard_key_of_whsec_secret_is_decoded() -> None:
    secret = generate_secret()
    assert standard_key(secret) == base64.b64decode(secret[len("whsec_") :])
    assert standard_key("plain-secret-value-123") == b"plain-secret-value-123"


def test_tampered_body_fails() -> None:
    secret = generate_secret()
    headers = signature_headers(
        BODY, secrets_in_use=[secret], message_id="evt_1", timestamp=1700000000
    )
    tampered = BODY.replace(b"user.created", b"user.deleted")
    assert not verify_signature(tampered.decode(), secret, headers["X-Signature"])


def test_old_timestamp_rejected_by_verifier() -> None:
    secret = generate_secret()
    headers = signature_headers(
        BODY, secrets_in_use=[secret], message_id="evt_1", timestamp=1700000000
    )
    with pytest.raises(WebhookVerificationError):
        Webhook(secret).verify(BODY, headers)


@pytest.mark.parametrize(
    ("secret", "problem"),
    [
        ("short", "16 to 200"),
        ("has a space in it 123456", "without spaces"),
        ("whsec_not*base64*at*all*", "base64"),
        ("whsec_" + base64.b64encode(b"x" * 8).decode(), "24 to 64 bytes"),
        ("naïve-secret-1234567890", "ASCII"),
    ],
)
def test_bad_secrets_rejected(secret: str, problem: str) -> None:
    message = secret_problem(secret)
    assert message is not None
    assert problem in message
