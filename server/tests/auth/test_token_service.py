"""TokenService signing: standard HS256 tokens, and keys checked at start-up."""

from __future__ import annotations

import jwt
import pytest

from techcorp_server.auth.keys import KeyRing
from techcorp_server.auth.tokens import TokenService

KEY = b"k" * 43
PUBLIC_KEY_PEM = (
    b"-----BEGIN PUBLIC KEY-----\n"
    b"MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAEEVs/o5+uQbTjL3chynL4wXgUg2R9\n"
    b"q9UU8I5mEovUf86QZ7kOBIjJwqnzD1omageEHWwHdBO6B+dFabmdT9POxg==\n"
    b"-----END PUBLIC KEY-----\n"
)


def test_issued_token_verifies_with_pyjwt() -> None:
    service = TokenService(KeyRing({"key-1": KEY}, "key-1"), ttl_seconds=3600)

    token = service.issue(subject="usr_1", role="admin", client_id="cli_1")

    header = jwt.get_unverified_header(token)
    assert header == {"alg": "HS256", "kid": "key-1", "typ": "JWT"}
    claims = jwt.decode(token, KEY, algorithms=["HS256"], issuer="techcorp")
    assert claims["sub"] == "usr_1"
    assert claims["cid"] == "cli_1"
    assert claims["exp"] - claims["iat"] == 3600
    assert service.verify(token).subject == "usr_1"


def test_public_key_rejected_as_secret() -> None:
    with pytest.raises(jwt.InvalidKeyError):
        TokenService(KeyRing({"pem": PUBLIC_KEY_PEM}, "pem"), ttl_seconds=3600)


def test_issued_token_is_what_pyjwt_would_sign() -> None:
    service = TokenService(KeyRing({"key-1": KEY}, "key-1"), ttl_seconds=3600)

    token = service.issue(subject="usr_1", role="member", client_id=None)

    claims = jwt.decode(token, KEY, algorithms=["HS256"], issuer="techcorp")
    expected = jwt.encode(
        claims, KEY, algorithm="HS256", headers={"kid": "key-1", "typ": "JWT"}
    )
    assert token == expected
    assert "cid" not in claims
