"""Client secrets: long random strings, stored as a keyed SHA-256 (HMAC).

A secret has 256 bits of entropy, so a slow password hash would add latency
to every token request without making a stolen hash any easier to reverse.
The key lives apart from the hashes' rows, so a copy of the clients table
alone cannot be used to check guesses.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets

SECRET_PREFIX = "cs_"  # noqa: S105 - a prefix, not a secret
SECRET_BYTES = 32
HINT_LENGTH = 8
GENERATED_LENGTH = len(SECRET_PREFIX) + 43
"""Length of a generated secret: the prefix and 32 bytes in base64url."""


def generate_secret() -> str:
    return SECRET_PREFIX + secrets.token_urlsafe(SECRET_BYTES)


def secret_hint(secret: str) -> str:
    """Return the first characters of a generated secret, to tell clients apart.

    A generated secret keeps 40 random characters after its hint, so showing
    the prefix and five characters leaves about 240 bits unknown. A secret an
    operator chose (the bootstrap client's) may be short, so it gets no hint.
    """
    if not secret.startswith(SECRET_PREFIX) or len(secret) < GENERATED_LENGTH:
        return ""
    return secret[:HINT_LENGTH]


class SecretHasher:
    def __init__(self, key: bytes) -> None:
        self._key = key
        self._dummy = self.hash(generate_secret())

    def hash(self, secret: str) -> str:
        return hmac.new(self._key, secret.encode(), hashlib.sha256).hexdigest()

    def verify(self, stored_hash: str | None, secret: str) -> bool:
        """Compare in constant time; with no stored hash, do the same work."""
        computed = self.hash(secret)
        expected = stored_hash if stored_hash is not None else self._dummy
        matches = hmac.compare_digest(computed, expected)
        return matches and stored_hash is not None
