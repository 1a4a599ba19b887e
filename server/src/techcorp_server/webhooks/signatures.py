"""Webhook signatures: the published `X-Signature` and Standard Webhooks.

`X-Signature` is the lower-case hex HMAC-SHA256 of the exact body, keyed
with the endpoint secret's UTF-8 bytes, which is what the published
`verify_signature` sample computes.

The Standard Webhooks headers (https://www.standardwebhooks.com/) let
receivers use a stock verifier that also rejects replays: `webhook-signature`
is `v1,<base64 HMAC-SHA256 of "{webhook-id}.{webhook-timestamp}.{body}">`.
For a `whsec_` secret the key is the base64-decoded part after the prefix,
as that specification says; for a secret of another form it is the secret's
UTF-8 bytes. Several signatures are separated by spaces, which is how both
secrets sign during the overlap after a rotation.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import secrets
from collections.abc import Sequence

SECRET_PREFIX = "whsec_"  # noqa: S105 (a prefix, not a secret)
GENERATED_SECRET_BYTES = 32
MIN_SECRET_LENGTH = 16
MAX_SECRET_LENGTH = 200
# The Standard Webhooks specification asks for keys of 24 to 64 bytes.
MIN_KEY_BYTES = 24
MAX_KEY_BYTES = 64

USER_AGENT = "TechCorp-Webhooks/2.0"


def generate_secret() -> str:
    return SECRET_PREFIX + base64.b64encode(
        secrets.token_bytes(GENERATED_SECRET_BYTES)
    ).decode("ascii")


def secret_problem(secret: str) -> str | None:
    """Return what is wrong with a secret chosen by the user, or None."""
    if not MIN_SECRET_LENGTH <= len(secret) <= MAX_SECRET_LENGTH:
        return (
            f"Must be {MIN_SECRET_LENGTH} to {MAX_SECRET_LENGTH} characters; "
            "leave it out to get a generated one."
        )
    if not secret.isascii() or not secret.isprintable() or " " in secret:
        return "Must be printable ASCII without spaces."
    if secret.startswith(SECRET_PREFIX):
        try:
            key = base64.b64decode(secret.removeprefix(SECRET_PREFIX), validate=True)
        except binascii.Error:
            return "After 'whsec_' a secret must be base64."
        if not MIN_KEY_BYTES <= len(key) <= MAX_KEY_BYTES:
            return (
                f"After 'whsec_' a secret must decode to {MIN_KEY_BYTES} to "
                f"{MAX_KEY_BYTES} bytes."
            )
    return None


def standard_key(secret: str) -> bytes:
    """Return the Standard Webhooks signing key of an endpoint secret."""
    if secret.startswith(SECRET_PREFIX):
        return base64.b64decode(secret.removeprefix(SECRET_PREFIX))
    return secret.encode()


def hex_signature(secret: str, body: bytes) -> str:
    """Return the `X-Signature` value of `body`."""
    return hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def standard_signature(
    secret: str, message_id: str, timestamp: int, body: bytes
) -> str:
    signed = f"{message_id}.{timestamp}.".encode() + body
    digest = hmac.new(standard_key(secret), signed, hashlib.sha256).digest()
    return "v1," + base64.b64encode(digest).decode("ascii")


def signature_headers(
    body: bytes,
    *,
    secrets_in_use: Sequence[str],
    message_id: str,
    timestamp: int,
) -> dict[str, str]:
    """Sign `body` with the current secret first, then any still-valid older one.

    `X-Signature` has room for one signature, so it uses the current secret.
    """
    standard = " ".join(
        standard_signature(secret, message_id, timestamp, body)
        for secret in secrets_in_use
    )
    return {
        "X-Signature": hex_signature(secrets_in_use[0], body),
        "webhook-id": message_id,
        "webhook-timestamp": str(timestamp),
        "webhook-signature": standard,
    }
