"""JWTs taken apart and built by hand, for tests of the bearer token check."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
from typing import Any

import jwt

from .stored import fetch_all

JWT_KEY_PURPOSE = "jwt"


def b64url_encode(raw: bytes) -> str:
    """Encode without padding, as JWS compact serialization does (RFC 7515 2)."""
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")


def b64url_decode(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def encode_segment(document: dict[str, Any]) -> str:
    return b64url_encode(json.dumps(document, separators=(",", ":")).encode())


def split_token(token: str) -> tuple[dict[str, Any], dict[str, Any], str]:
    """Return the header, the claims and the raw signature segment of a JWT."""
    header_segment, claims_segment, signature = token.split(".")
    header: dict[str, Any] = json.loads(b64url_decode(header_segment))
    claims: dict[str, Any] = json.loads(b64url_decode(claims_segment))
    return header, claims, signature


def join_token(header: dict[str, Any], claims: dict[str, Any], signature: str) -> str:
    """Serialize a header and claims with a signature segment given as is."""
    return f"{encode_segment(header)}.{encode_segment(claims)}.{signature}"


def sign_hmac(
    header: dict[str, Any],
    claims: dict[str, Any],
    key: bytes,
    digest: str = "sha256",
) -> str:
    """Build a token signed with HMAC over exactly the segments given."""
    signing_input = f"{encode_segment(header)}.{encode_segment(claims)}"
    mac = hmac.new(key, signing_input.encode("ascii"), getattr(hashlib, digest))
    return f"{signing_input}.{b64url_encode(mac.digest())}"


def read_signing_keys(database_url: str) -> dict[str, bytes]:
    """Read the server's token signing keys by `kid` from its database.

    The server uses the stored text, UTF-8 encoded, as the HMAC key.
    """
    rows = fetch_all(
        database_url,
        "SELECT kid, secret FROM server_keys WHERE purpose = ?",
        JWT_KEY_PURPOSE,
    )
    return {kid: secret.encode() for kid, secret in rows}


def valid_claims(user_id: str, role: str, **overrides: Any) -> dict[str, Any]:
    """Return the claims of a fresh token, as the server would issue them."""
    now = int(time.time())
    claims: dict[str, Any] = {
        "iss": "techcorp",
        "sub": user_id,
        "role": role,
        "iat": now,
        "exp": now + 3600,
        "jti": f"forged-{time.monotonic_ns()}",
    }
    claims.update(overrides)
    return claims


def forge(
    claims: dict[str, Any], key: bytes, kid: str, algorithm: str = "HS256"
) -> str:
    """Sign claims with PyJWT, as anyone holding the key could."""
    return jwt.encode(claims, key, algorithm=algorithm, headers={"kid": kid})
