"""Bearer tokens the server must reject: forged, tampered, expired, orphaned.

Tests without the signing key run against both servers. Tests that forge
tokens with the right key read it from the real server process's SQLite file,
which is what an attacker with a copy of the database could do. A control
test shows such a forged token is accepted when nothing is wrong with it, so
every rejection below is caused by the one thing each test changes.
"""

from __future__ import annotations

import secrets
from typing import Any

import httpx
import jwt
import pytest

from ..utils.api import assert_error, bearer, client_token, create_user
from ..utils.server import ServerProcess
from ..utils.tokens import (
    b64url_encode,
    forge,
    join_token,
    read_signing_keys,
    sign_hmac,
    split_token,
    valid_claims,
)

USERS_URL = "/v2/users"
BEARER_CHALLENGE = 'Bearer realm="techcorp"'
INVALID_TOKEN_CHALLENGE = 'Bearer realm="techcorp", error="invalid_token"'


def admin_probe_url() -> str:
    """Return a URL where an admin gets 404 and anyone else 403, creating nothing."""
    return f"{USERS_URL}/usr_00000000000000000000000000"


def assert_token_rejected(response: httpx.Response) -> None:
    assert_error(response, 401, "unauthorized")
    assert response.headers["www-authenticate"].startswith(INVALID_TOKEN_CHALLENGE)


async def get_users(api: httpx.AsyncClient, token: str) -> httpx.Response:
    return await api.get(USERS_URL, headers=bearer(token))


@pytest.fixture
async def member(api: httpx.AsyncClient, admin_token: str) -> dict[str, Any]:
    return await create_user(api, admin_token)


async def test_missing_header(api: httpx.AsyncClient) -> None:
    response = await api.get(USERS_URL)

    assert_error(response, 401, "unauthorized")
    assert response.headers["www-authenticate"] == BEARER_CHALLENGE


@pytest.mark.parametrize(
    "scheme_and_token",
    ["Basic dGVzdDp0ZXN0", "Token abc", "Bearer", "bearer"],
)
async def test_not_a_bearer_token(
    api: httpx.AsyncClient, scheme_and_token: str
) -> None:
    response = await api.get(USERS_URL, headers={"Authorization": scheme_and_token})

    assert_error(response, 401, "unauthorized")
    assert response.headers["www-authenticate"].startswith(BEARER_CHALLENGE)


async def test_bearer_scheme_any_case(api: httpx.AsyncClient, admin_token: str) -> None:
    # The auth scheme is case-insensitive (RFC 7235 2.1).
    for scheme in ("bearer", "BEARER"):
        response = await api.get(
            USERS_URL, headers={"Authorization": f"{scheme} {admin_token}"}
        )

        assert response.status_code == 200, (scheme, response.text)


@pytest.mark.parametrize(
    "token",
    [
        "abc",
        "a.b.c",
        "a.b",
        "a.b.c.d",
        "....",
        "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ4In0",
        b64url_encode(b"not json") + ".e30.c2ln",
        b64url_encode(b"[1, 2]") + ".e30.c2ln",
        "eyJhbGciOiJIUzI1NiJ9." + b64url_encode(b"not json") + ".c2ln",
        "x" * 5000,
    ],
    ids=[
        "one-part",
        "junk-parts",
        "two-parts",
        "four-parts",
        "empty-parts",
        "no-signature",
        "header-not-json",
        "header-not-object",
        "payload-not-json",
        "very-long",
    ],
)
async def test_malformed_token(api: httpx.AsyncClient, token: str) -> None:
    assert_token_rejected(await get_users(api, token))


@pytest.mark.parametrize("algorithm", ["none", "None", "NONE", "nOnE"])
async def test_alg_none_unsigned(
    api: httpx.AsyncClient, admin_token: str, algorithm: str
) -> None:
    header, claims, _signature = split_token(admin_token)
    header["alg"] = algorithm

    assert_token_rejected(await get_users(api, join_token(header, claims, "")))


async def test_alg_none_with_signature(
    api: httpx.AsyncClient, admin_token: str
) -> None:
    header, claims, signature = split_token(admin_token)
    header["alg"] = "none"

    assert_token_rejected(await get_users(api, join_token(header, claims, signature)))


@pytest.mark.parametrize("algorithm", ["HS384", "HS512", "RS256", "ES256", "PS256"])
async def test_other_algorithm_header(
    api: httpx.AsyncClient, admin_token: str, algorithm: str
) -> None:
    header, claims, signature = split_token(admin_token)
    header["alg"] = algorithm

    assert_token_rejected(await get_users(api, join_token(header, claims, signature)))


async def test_signature_removed(api: httpx.AsyncClient, admin_token: str) -> None:
    signing_input = admin_token.rsplit(".", 1)[0]

    assert_token_rejected(await get_users(api, signing_input + "."))


async def test_signature_altered(api: httpx.AsyncClient, admin_token: str) -> None:
    signing_input, signature = admin_token.rsplit(".", 1)
    flipped = ("A" if signature[0] != "A" else "B") + signature[1:]

    assert_token_rejected(await get_users(api, f"{signing_input}.{flipped}"))


async def test_payload_role_raised(
    api: httpx.AsyncClient, member: dict[str, Any]
) -> None:
    header, claims, signature = split_token(member["token"])
    claims["role"] = "admin"
    tampered = join_token(header, claims, signature)

    assert_token_rejected(await api.delete(admin_probe_url(), headers=bearer(tampered)))


@pytest.mark.parametrize(
    "change",
    [
        {"sub": "usr_00000000000000000000000000"},
        {"exp": 4102444800},
        {"cid": "test-admin-client"},
        {"iss": "someone-else"},
    ],
    ids=["sub", "exp", "cid", "iss"],
)
async def test_payload_claim_altered(
    api: httpx.AsyncClient, member: dict[str, Any], change: dict[str, Any]
) -> None:
    header, claims, signature = split_token(member["token"])
    claims.update(change)

    assert_token_rejected(await get_users(api, join_token(header, claims, signature)))


@pytest.mark.parametrize(
    "change",
    [{"kid": "another-key"}, {"typ": "at+jwt"}, {"jku": "http://127.0.0.1:9/keys"}],
    ids=["kid", "typ", "jku"],
)
async def test_header_altered(
    api: httpx.AsyncClient, admin_token: str, change: dict[str, str]
) -> None:
    header, claims, signature = split_token(admin_token)
    header.update(change)

    assert_token_rejected(await get_users(api, join_token(header, claims, signature)))


async def test_wrong_key(api: httpx.AsyncClient, admin_token: str) -> None:
    header, claims, _signature = split_token(admin_token)
    token = forge(claims, secrets.token_bytes(32), kid=header["kid"])

    assert_token_rejected(await get_users(api, token))


async def test_deleted_user_token(
    api: httpx.AsyncClient, admin_token: str, member: dict[str, Any]
) -> None:
    assert (await get_users(api, member["token"])).status_code == 200

    deleted = await api.delete(
        f"{USERS_URL}/{member['id']}", headers=bearer(admin_token)
    )

    assert deleted.status_code == 204, deleted.text
    assert_token_rejected(await get_users(api, member["token"]))


# The tests below forge tokens with the real signing key of the server process.


@pytest.fixture
def signing_key(
    server_process: ServerProcess, http_client: httpx.AsyncClient
) -> tuple[str, bytes]:
    """Return the `kid` and key the server process signs tokens with."""
    keys = read_signing_keys(server_process.database_url)
    assert keys, "the server stored no token signing key"
    kid = sorted(keys)[-1]
    return kid, keys[kid]


@pytest.fixture
async def http_admin_token(http_client: httpx.AsyncClient) -> str:
    return await client_token(http_client)


@pytest.fixture
async def http_member(
    http_client: httpx.AsyncClient, http_admin_token: str
) -> dict[str, Any]:
    return await create_user(http_client, http_admin_token)


async def test_forged_valid_token_accepted(
    http_client: httpx.AsyncClient,
    signing_key: tuple[str, bytes],
    http_member: dict[str, Any],
) -> None:
    kid, key = signing_key
    token = forge(valid_claims(http_member["id"], "member"), key, kid)

    response = await get_users(http_client, token)

    assert response.status_code == 200, response.text


async def test_key_matches_issued_tokens(
    signing_key: tuple[str, bytes], http_admin_token: str
) -> None:
    kid, key = signing_key
    header = split_token(http_admin_token)[0]

    assert header["kid"] == kid
    assert jwt.decode(http_admin_token, key, algorithms=["HS256"], issuer="techcorp")


async def test_role_claim_not_trusted(
    http_client: httpx.AsyncClient,
    signing_key: tuple[str, bytes],
    http_member: dict[str, Any],
) -> None:
    kid, key = signing_key
    token = forge(valid_claims(http_member["id"], "admin"), key, kid)

    response = await http_client.delete(admin_probe_url(), headers=bearer(token))

    assert_error(response, 403, "forbidden")


@pytest.mark.parametrize("digest", ["sha384", "sha512"])
async def test_right_key_other_algorithm(
    http_client: httpx.AsyncClient,
    signing_key: tuple[str, bytes],
    http_member: dict[str, Any],
    digest: str,
) -> None:
    kid, key = signing_key
    header = {"alg": "HS" + digest.removeprefix("sha"), "kid": kid, "typ": "JWT"}
    # Signed by hand, because PyJWT warns that the key is short for SHA-384
    # and SHA-512, and warnings fail this suite.
    token = sign_hmac(header, valid_claims(http_member["id"], "member"), key, digest)

    assert_token_rejected(await get_users(http_client, token))


async def test_expired_token(
    http_client: httpx.AsyncClient,
    signing_key: tuple[str, bytes],
    http_member: dict[str, Any],
) -> None:
    kid, key = signing_key
    claims = valid_claims(http_member["id"], "member")
    claims["iat"] -= 7200
    claims["exp"] = claims["iat"] + 3600

    assert_token_rejected(await get_users(http_client, forge(claims, key, kid)))


@pytest.mark.parametrize("claim", ["exp", "sub", "iat"])
async def test_required_claim_missing(
    http_client: httpx.AsyncClient,
    signing_key: tuple[str, bytes],
    http_member: dict[str, Any],
    claim: str,
) -> None:
    kid, key = signing_key
    claims = valid_claims(http_member["id"], "member")
    del claims[claim]

    assert_token_rejected(await get_users(http_client, forge(claims, key, kid)))


@pytest.mark.parametrize(
    "change",
    [{"sub": 12345}, {"sub": ""}, {"exp": "4102444800"}, {"iat": "now"}],
    ids=["sub-number", "sub-empty", "exp-string", "iat-string"],
)
async def test_claim_wrong_type(
    http_client: httpx.AsyncClient,
    signing_key: tuple[str, bytes],
    http_member: dict[str, Any],
    change: dict[str, Any],
) -> None:
    kid, key = signing_key
    claims = valid_claims(http_member["id"], "member", **change)
    token = forge(claims, key, kid)

    assert_token_rejected(await get_users(http_client, token))


async def test_unknown_kid_right_key(
    http_client: httpx.AsyncClient,
    signing_key: tuple[str, bytes],
    http_member: dict[str, Any],
) -> None:
    _kid, key = signing_key
    claims = valid_claims(http_member["id"], "member")

    for header in (
        {"alg": "HS256", "typ": "JWT", "kid": "unknown-key"},
        {"alg": "HS256", "typ": "JWT"},
        {"alg": "HS256", "typ": "JWT", "kid": 1},
    ):
        token = sign_hmac(header, claims, key)

        assert_token_rejected(await get_users(http_client, token))


async def test_deleted_user_forged_token(
    http_client: httpx.AsyncClient,
    signing_key: tuple[str, bytes],
    http_admin_token: str,
    http_member: dict[str, Any],
) -> None:
    kid, key = signing_key
    deleted = await http_client.delete(
        f"{USERS_URL}/{http_member['id']}", headers=bearer(http_admin_token)
    )
    assert deleted.status_code == 204, deleted.text

    for role in ("member", "admin"):
        token = forge(valid_claims(http_member["id"], role), key, kid)

        assert_token_rejected(await get_users(http_client, token))


async def test_deleted_client_forged_token(
    http_client: httpx.AsyncClient,
    signing_key: tuple[str, bytes],
    http_member: dict[str, Any],
) -> None:
    kid, key = signing_key
    member_auth = bearer(http_member["token"])
    created = await http_client.post("/v2/clients", json={}, headers=member_auth)
    assert created.status_code == 201, created.text
    client_id = created.json()["id"]
    deleted = await http_client.delete(f"/v2/clients/{client_id}", headers=member_auth)
    assert deleted.status_code == 204, deleted.text

    claims = valid_claims(http_member["id"], "member", cid=client_id)
    token = forge(claims, key, kid)

    assert_token_rejected(await get_users(http_client, token))


async def test_unknown_client_forged_token(
    http_client: httpx.AsyncClient,
    signing_key: tuple[str, bytes],
    http_member: dict[str, Any],
) -> None:
    kid, key = signing_key
    claims = valid_claims(
        http_member["id"], "member", cid="cli_00000000000000000000000000"
    )

    assert_token_rejected(await get_users(http_client, forge(claims, key, kid)))
