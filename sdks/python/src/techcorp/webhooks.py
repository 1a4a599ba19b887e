"""Webhook signatures: check a delivery, and sign one for a receiver's tests.

Every delivery carries two signatures of the exact body bytes:

- `X-Signature`: the lower-case hex HMAC-SHA256 of the body, keyed with the
  endpoint secret's UTF-8 bytes. `verify_signature` checks it, with the
  arguments and result of the Python sample in the API v2 documentation.
- The Standard Webhooks headers (https://www.standardwebhooks.com/):
  `webhook-id`, `webhook-timestamp` (Unix seconds) and `webhook-signature`,
  a space-separated list of `v1,<base64 HMAC-SHA256>` over
  `"{webhook-id}.{webhook-timestamp}.{body}"`. During a secret rotation the
  list contains one signature per secret. The timestamp lets a receiver reject
  replayed deliveries, so prefer `StandardWebhook` and `construct_event`.

For a secret that starts with `whsec_` the Standard Webhooks key is the
base64-decoded rest, as the Standard Webhooks specification defines. For any
other secret the key is the secret's UTF-8 bytes, which is how the server
signs.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import secrets
import time
from collections.abc import Callable, Mapping, Sequence

from ._errors import TechCorpError
from .events import WebhookEvent, parse_webhook_event

__all__ = [
    "DEFAULT_TOLERANCE_SECONDS",
    "StandardWebhook",
    "WebhookVerificationError",
    "construct_event",
    "sign",
    "verify_signature",
]

SECRET_PREFIX = "whsec_"  # noqa: S105 (a prefix, not a secret)
SIGNATURE_VERSION = "v1"
DEFAULT_TOLERANCE_SECONDS = 300
"""How far `webhook-timestamp` may be from the receiver's clock, either way."""


class WebhookVerificationError(TechCorpError, ValueError):
    """A webhook request failed verification; do not act on its body."""


def _body_bytes(payload: str | bytes) -> bytes:
    return payload.encode() if isinstance(payload, str) else payload


def verify_signature(payload: str | bytes, secret: str, signature: str) -> bool:
    """Return whether `signature` is the `X-Signature` of `payload`.

    Pass the raw body as received, bytes or the text it decodes to; a body
    parsed and serialised again rarely has the same bytes. The comparison
    takes the same time wherever the values differ.
    """
    computed = hmac.new(secret.encode(), _body_bytes(payload), hashlib.sha256)
    return hmac.compare_digest(computed.hexdigest().encode(), signature.encode())


def _signing_key(secret: str) -> bytes:
    if not secret.startswith(SECRET_PREFIX):
        return secret.encode()
    try:
        return base64.b64decode(secret.removeprefix(SECRET_PREFIX), validate=True)
    except binascii.Error as exc:
        raise ValueError(
            "The webhook secret starts with 'whsec_' but the rest is not base64; "
            "copy the secret exactly as the API returned it."
        ) from exc


class StandardWebhook:
    """Verifies and signs Standard Webhooks headers with one endpoint secret.

    `tolerance_seconds` bounds how old (or how far in the future) a
    `webhook-timestamp` may be; `clock` returns the current Unix time and
    exists for tests.
    """

    def __init__(
        self,
        secret: str,
        *,
        tolerance_seconds: float = DEFAULT_TOLERANCE_SECONDS,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._key = _signing_key(secret)
        self.tolerance_seconds = tolerance_seconds
        self.clock = clock

    def signature(self, message_id: str, timestamp: int, payload: str | bytes) -> str:
        """Return the `v1,<base64>` signature of one delivery."""
        signed = f"{message_id}.{timestamp}.".encode() + _body_bytes(payload)
        digest = hmac.new(self._key, signed, hashlib.sha256).digest()
        return f"{SIGNATURE_VERSION},{base64.b64encode(digest).decode()}"

    def verify(self, payload: str | bytes, headers: Mapping[str, str]) -> None:
        """Check the headers of one delivery, or raise `WebhookVerificationError`.

        Header names are matched without regard to case.
        """
        message_id, timestamp, signatures = _standard_headers(headers)
        self._check_timestamp(timestamp)
        expected = self.signature(message_id, timestamp, payload).encode()
        for candidate in signatures.split():
            if hmac.compare_digest(candidate.encode(), expected):
                return
        raise WebhookVerificationError(
            "No signature in the webhook-signature header matches the body; "
            "check the endpoint secret, and pass the raw body as received."
        )

    def _check_timestamp(self, timestamp: int) -> None:
        now = self.clock()
        if timestamp < now - self.tolerance_seconds:
            raise WebhookVerificationError(
                f"The webhook-timestamp {timestamp} is more than "
                f"{self.tolerance_seconds:g} seconds old; the delivery may be "
                "a replay. Check the receiver's clock if deliveries keep failing."
            )
        if timestamp > now + self.tolerance_seconds:
            raise WebhookVerificationError(
                f"The webhook-timestamp {timestamp} is more than "
                f"{self.tolerance_seconds:g} seconds in the future; check the "
                "receiver's clock."
            )


def _standard_headers(headers: Mapping[str, str]) -> tuple[str, int, str]:
    lowered = {name.lower(): value for name, value in headers.items()}
    missing = [
        name
        for name in ("webhook-id", "webhook-timestamp", "webhook-signature")
        if not lowered.get(name)
    ]
    if missing:
        raise WebhookVerificationError(
            f"Missing webhook header {', '.join(missing)}; pass every header of "
            "the request as received."
        )
    raw_timestamp = lowered["webhook-timestamp"]
    if not raw_timestamp.isascii() or not raw_timestamp.isdigit():
        raise WebhookVerificationError(
            f"The webhook-timestamp header {raw_timestamp!r} is not Unix seconds."
        )
    return lowered["webhook-id"], int(raw_timestamp), lowered["webhook-signature"]


def construct_event(
    payload: str | bytes,
    headers: Mapping[str, str],
    secret: str,
    *,
    tolerance_seconds: float = DEFAULT_TOLERANCE_SECONDS,
    clock: Callable[[], float] = time.time,
) -> WebhookEvent:
    """Verify a delivery's Standard Webhooks headers, then parse its event.

    Raises `WebhookVerificationError` when the signature or the timestamp
    does not pass, or when the verified body is not an event. It requires
    the `webhook-*` headers rather than `X-Signature` alone, because only
    they bind a timestamp that rules out replays.
    """
    StandardWebhook(secret, tolerance_seconds=tolerance_seconds, clock=clock).verify(
        payload, headers
    )
    try:
        return parse_webhook_event(payload)
    except ValueError as exc:
        raise WebhookVerificationError(
            f"The webhook body is signed but is not a valid event: {exc}"
        ) from exc


def sign(
    payload: str | bytes,
    secret: str | Sequence[str],
    *,
    message_id: str | None = None,
    timestamp: int | None = None,
) -> dict[str, str]:
    """Return the signature headers the server would send with `payload`.

    For a receiver's tests: `X-Signature` and the three `webhook-*` headers.
    Give several secrets, newest first, to sign as during a rotation;
    `X-Signature` uses the first. `message_id` defaults to a random
    `msg_…` id and `timestamp` to the current Unix time.
    """
    secrets_in_use = [secret] if isinstance(secret, str) else list(secret)
    if not secrets_in_use:
        raise ValueError("Give at least one secret to sign with.")
    message_id = message_id or f"msg_{secrets.token_hex(12)}"
    timestamp = int(time.time()) if timestamp is None else timestamp
    signatures = " ".join(
        StandardWebhook(one).signature(message_id, timestamp, payload)
        for one in secrets_in_use
    )
    body = _body_bytes(payload)
    return {
        "X-Signature": hmac.new(
            secrets_in_use[0].encode(), body, hashlib.sha256
        ).hexdigest(),
        "webhook-id": message_id,
        "webhook-timestamp": str(timestamp),
        "webhook-signature": signatures,
    }
