"""Access tokens: HS256 JWTs with a `kid`, issued and verified here.

Verification pins the algorithm to HS256 before PyJWT sees the token, so
`alg: none` and algorithm-confusion tokens are rejected whatever their
payload. Verified tokens are cached by their exact text until they expire;
a cached token is still checked against the user's current state by the
caller on every request.
"""

from __future__ import annotations

import secrets
import time
from dataclasses import dataclass

import jwt
import orjson
from jwt.algorithms import HMACAlgorithm
from jwt.api_jws import PyJWS

from .keys import KeyRing

ALGORITHM = "HS256"
ISSUER = "techcorp"
MAX_TOKEN_LENGTH = 4096
VERIFIED_CACHE_ENTRIES = 10_000


class InvalidTokenError(Exception):
    """The token is malformed, forged, expired or signed with an unknown key."""


@dataclass(frozen=True, slots=True)
class Claims:
    subject: str
    role: str
    client_id: str | None
    expires_at: int
    token_id: str


class _CheckedKeyHMAC(HMACAlgorithm):
    """HS256 that skips PyJWT's key check for keys already checked once.

    PyJWT checks on every call that an HMAC key is not a PEM, SSH or DER
    public key, and trying the DER loaders costs about 30 µs a token. The
    signing key passes the same check once, when the service is built.
    """

    def __init__(self, checked_key: bytes) -> None:
        super().__init__(HMACAlgorithm.SHA256)
        self._checked_key = super().prepare_key(checked_key)

    def prepare_key(self, key: str | bytes) -> bytes:
        if key is self._checked_key:
            return self._checked_key
        return super().prepare_key(key)


class TokenService:
    def __init__(self, key_ring: KeyRing, ttl_seconds: int) -> None:
        self._key_ring = key_ring
        self.ttl_seconds = ttl_seconds
        self._verified: dict[str, Claims] = {}
        self._signing_key = key_ring.active_key
        self._signer = PyJWS()
        self._signer.unregister_algorithm(ALGORITHM)
        self._signer.register_algorithm(ALGORITHM, _CheckedKeyHMAC(self._signing_key))

    def issue(self, *, subject: str, role: str, client_id: str | None) -> str:
        now = int(time.time())
        payload: dict[str, object] = {
            "iss": ISSUER,
            "sub": subject,
            "role": role,
            "iat": now,
            "exp": now + self.ttl_seconds,
            "jti": secrets.token_urlsafe(12),
        }
        if client_id is not None:
            payload["cid"] = client_id
        return self._signer.encode(
            orjson.dumps(payload),
            self._signing_key,
            algorithm=ALGORITHM,
            headers={"kid": self._key_ring.active_kid, "typ": "JWT"},
        )

    def verify(self, token: str) -> Claims:
        claims = self._verified.get(token)
        if claims is None:
            claims = self._decode(token)
            if len(self._verified) >= VERIFIED_CACHE_ENTRIES:
                self._verified.clear()
            self._verified[token] = claims
        if claims.expires_at <= time.time():
            self._verified.pop(token, None)
            raise InvalidTokenError("token expired")
        return claims

    def seconds_left(self, token: str) -> float:
        """Return how long a verified token stays valid, in seconds."""
        claims = self._verified.get(token)
        if claims is None:
            return 0.0
        return max(0.0, claims.expires_at - time.time())

    def _decode(self, token: str) -> Claims:
        if len(token) > MAX_TOKEN_LENGTH:
            raise InvalidTokenError("token too long")
        try:
            header = jwt.get_unverified_header(token)
        except jwt.PyJWTError as exc:
            raise InvalidTokenError("malformed token") from exc

        if header.get("alg") != ALGORITHM:
            raise InvalidTokenError("unexpected algorithm")
        kid = header.get("kid")
        key = self._key_ring.get(kid) if isinstance(kid, str) else None
        if key is None:
            raise InvalidTokenError("unknown signing key")

        try:
            payload = jwt.decode(
                token,
                key,
                algorithms=[ALGORITHM],
                issuer=ISSUER,
                options={"require": ["exp", "iat", "sub", "jti", "iss"]},
            )
        except jwt.PyJWTError as exc:
            raise InvalidTokenError(str(exc)) from exc
        return _claims_from(payload)


def _claims_from(payload: dict[str, object]) -> Claims:
    subject = payload.get("sub")
    role = payload.get("role")
    client_id = payload.get("cid")
    expires_at = payload.get("exp")
    token_id = payload.get("jti")
    if not isinstance(subject, str) or not isinstance(role, str):
        raise InvalidTokenError("missing subject or role")
    if client_id is not None and not isinstance(client_id, str):
        raise InvalidTokenError("invalid client id claim")
    if not isinstance(expires_at, int) or not isinstance(token_id, str):
        raise InvalidTokenError("invalid expiry or token id")
    return Claims(subject, role, client_id, expires_at, token_id)
