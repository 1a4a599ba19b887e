"""`POST /v2/auth/token`: JSON credentials, OAuth 2.0 forms and their errors."""

from __future__ import annotations

import base64
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any
from urllib.parse import quote_plus

import httpx
import pytest
from asgi_lifespan import LifespanManager

from techcorp_server.app import create_app

from ..conftest import app_settings
from ..utils.api import (
    ADMIN_CLIENT_ID,
    ADMIN_CLIENT_SECRET,
    DEFAULT_PASSWORD,
    assert_error,
    bearer,
    create_user,
    unique_email,
)
from ..utils.tokens import split_token

TOKEN_URL = "/v2/auth/token"
JWT_PREFIX = "eyJhbGciOiJIUz"
TOKEN_TTL_SECONDS = 3600
CLOCK_SKEW_SECONDS = 60

# A client id and secret that only survive Basic if both are form-encoded
# before base64 (RFC 6749 2.3.1). The id has a colon, and the secret has the
# characters that form encoding changes.
AWKWARD_CLIENT_ID = "ops:reporting+1"
AWKWARD_CLIENT_SECRET = "pa:ss w%rd&=+/é-7f3a9c1e5b2d4086"


def basic(client_id: str, client_secret: str) -> dict[str, str]:
    """Build HTTP Basic credentials as RFC 6749 2.3.1 requires: form-encoded parts."""
    credentials = f"{quote_plus(client_id)}:{quote_plus(client_secret)}"
    encoded = base64.b64encode(credentials.encode()).decode("ascii")
    return {"Authorization": f"Basic {encoded}"}


def percent_encode_all(text: str) -> str:
    return "".join(f"%{byte:02X}" for byte in text.encode())


def assert_oauth_error(
    response: httpx.Response, status: int, code: str
) -> dict[str, Any]:
    """Check an error of the token endpoint, which OAuth libraries also parse."""
    body = assert_error(response, status, code)
    assert body["error_description"] == body["message"]
    return body


def assert_token_response(response: httpx.Response) -> dict[str, Any]:
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("application/json")
    assert response.headers["cache-control"] == "no-store"
    body: dict[str, Any] = response.json()
    assert body["access_token"].startswith(JWT_PREFIX)
    assert body["token_type"] == "Bearer"
    assert body["expires_in"] == TOKEN_TTL_SECONDS
    return body


def client_form(**fields: str) -> dict[str, str]:
    return {"grant_type": "client_credentials", **fields}


async def test_client_credentials_as_json(api: httpx.AsyncClient) -> None:
    response = await api.post(
        TOKEN_URL,
        json={"client_id": ADMIN_CLIENT_ID, "client_secret": ADMIN_CLIENT_SECRET},
    )

    body = assert_token_response(response)
    assert "scope" not in body
    assert "refresh_token" not in body


async def test_token_is_hs256_jwt_with_claims(api: httpx.AsyncClient) -> None:
    response = await api.post(
        TOKEN_URL,
        json={"client_id": ADMIN_CLIENT_ID, "client_secret": ADMIN_CLIENT_SECRET},
    )
    token = assert_token_response(response)["access_token"]

    header, claims, _signature = split_token(token)
    assert header["alg"] == "HS256"
    assert header["typ"] == "JWT"
    assert isinstance(header["kid"], str)
    assert header["kid"]
    assert claims["iss"] == "techcorp"
    assert claims["sub"].startswith("usr_")
    assert claims["role"] == "admin"
    assert claims["cid"] == ADMIN_CLIENT_ID
    assert claims["exp"] - claims["iat"] == TOKEN_TTL_SECONDS
    assert abs(claims["iat"] - time.time()) < CLOCK_SKEW_SECONDS
    assert isinstance(claims["jti"], str)
    assert claims["jti"]


async def test_each_token_has_own_jti(api: httpx.AsyncClient) -> None:
    credentials = {"client_id": ADMIN_CLIENT_ID, "client_secret": ADMIN_CLIENT_SECRET}
    first = (await api.post(TOKEN_URL, json=credentials)).json()["access_token"]
    second = (await api.post(TOKEN_URL, json=credentials)).json()["access_token"]

    assert split_token(first)[1]["jti"] != split_token(second)[1]["jti"]


async def test_client_credentials_form_body(api: httpx.AsyncClient) -> None:
    response = await api.post(
        TOKEN_URL,
        data=client_form(client_id=ADMIN_CLIENT_ID, client_secret=ADMIN_CLIENT_SECRET),
    )

    body = assert_token_response(response)
    assert "scope" not in body
    assert split_token(body["access_token"])[1]["cid"] == ADMIN_CLIENT_ID


async def test_client_credentials_scope_returned(api: httpx.AsyncClient) -> None:
    response = await api.post(
        TOKEN_URL,
        data=client_form(
            client_id=ADMIN_CLIENT_ID, client_secret=ADMIN_CLIENT_SECRET, scope="api"
        ),
    )

    body = assert_token_response(response)
    assert isinstance(body["scope"], str)


async def test_client_credentials_basic(api: httpx.AsyncClient) -> None:
    response = await api.post(
        TOKEN_URL,
        data=client_form(),
        headers=basic(ADMIN_CLIENT_ID, ADMIN_CLIENT_SECRET),
    )

    body = assert_token_response(response)
    assert split_token(body["access_token"])[1]["cid"] == ADMIN_CLIENT_ID


async def test_basic_every_character_percent_encoded(api: httpx.AsyncClient) -> None:
    # Escaping characters that need no escaping is still valid form encoding,
    # so the server has to decode the credentials, not compare the raw text.
    client_id = percent_encode_all(ADMIN_CLIENT_ID)
    client_secret = percent_encode_all(ADMIN_CLIENT_SECRET)
    credentials = f"{client_id}:{client_secret}"
    encoded = base64.b64encode(credentials.encode()).decode("ascii")

    response = await api.post(
        TOKEN_URL, data=client_form(), headers={"Authorization": f"Basic {encoded}"}
    )

    assert_token_response(response)


async def test_basic_wrong_secret(api: httpx.AsyncClient) -> None:
    response = await api.post(
        TOKEN_URL, data=client_form(), headers=basic(ADMIN_CLIENT_ID, "wrong-secret")
    )

    assert_oauth_error(response, 401, "invalid_client")
    assert response.headers["www-authenticate"] == 'Basic realm="techcorp"'
    assert "wrong-secret" not in response.text


async def test_basic_malformed_header(api: httpx.AsyncClient) -> None:
    for value in ("Basic !!!", "Basic " + base64.b64encode(b"no-colon").decode()):
        response = await api.post(
            TOKEN_URL, data=client_form(), headers={"Authorization": value}
        )

        assert response.status_code in (400, 401), (value, response.text)
        assert response.json()["error"] in ("invalid_request", "invalid_client")


async def test_basic_and_body_credentials_rejected(api: httpx.AsyncClient) -> None:
    # RFC 6749 2.3: a client must not use more than one authentication method.
    response = await api.post(
        TOKEN_URL,
        data=client_form(client_id=ADMIN_CLIENT_ID, client_secret=ADMIN_CLIENT_SECRET),
        headers=basic(ADMIN_CLIENT_ID, ADMIN_CLIENT_SECRET),
    )

    assert_oauth_error(response, 400, "invalid_request")


async def test_unknown_client_same_as_wrong_secret(api: httpx.AsyncClient) -> None:
    wrong_secret = await api.post(
        TOKEN_URL, json={"client_id": ADMIN_CLIENT_ID, "client_secret": "nope"}
    )
    unknown_client = await api.post(
        TOKEN_URL, json={"client_id": "cli_does_not_exist", "client_secret": "nope"}
    )

    first = assert_oauth_error(wrong_secret, 401, "invalid_client")
    second = assert_oauth_error(unknown_client, 401, "invalid_client")
    assert first["message"] == second["message"]
    assert first["error_description"] == second["error_description"]


async def test_unknown_client_same_over_basic(api: httpx.AsyncClient) -> None:
    wrong_secret = await api.post(
        TOKEN_URL, data=client_form(), headers=basic(ADMIN_CLIENT_ID, "nope")
    )
    unknown_client = await api.post(
        TOKEN_URL, data=client_form(), headers=basic("cli_does_not_exist", "nope")
    )

    first = assert_oauth_error(wrong_secret, 401, "invalid_client")
    second = assert_oauth_error(unknown_client, 401, "invalid_client")
    assert first["message"] == second["message"]
    assert wrong_secret.headers["www-authenticate"] == 'Basic realm="techcorp"'
    assert unknown_client.headers["www-authenticate"] == 'Basic realm="techcorp"'


async def test_password_grant_json(api: httpx.AsyncClient, admin_token: str) -> None:
    user = await create_user(api, admin_token)

    response = await api.post(
        TOKEN_URL, json={"email": user["email"], "password": DEFAULT_PASSWORD}
    )

    body = assert_token_response(response)
    claims = split_token(body["access_token"])[1]
    assert claims["sub"] == user["id"]
    assert claims["role"] == "member"
    assert "cid" not in claims


async def test_password_grant_form(api: httpx.AsyncClient, admin_token: str) -> None:
    user = await create_user(api, admin_token)

    response = await api.post(
        TOKEN_URL,
        data={
            "grant_type": "password",
            "username": user["email"],
            "password": DEFAULT_PASSWORD,
        },
    )

    body = assert_token_response(response)
    assert split_token(body["access_token"])[1]["sub"] == user["id"]
    users = await api.get("/v2/users", headers=bearer(body["access_token"]))
    assert users.status_code == 200, users.text


async def test_password_grant_email_any_case(
    api: httpx.AsyncClient, admin_token: str
) -> None:
    user = await create_user(api, admin_token, email=unique_email("MixedCase"))

    response = await api.post(
        TOKEN_URL, json={"email": user["email"].upper(), "password": DEFAULT_PASSWORD}
    )

    assert (
        split_token(assert_token_response(response)["access_token"])[1]["sub"]
        == (user["id"])
    )


async def test_wrong_password_same_as_unknown_email(
    api: httpx.AsyncClient, admin_token: str
) -> None:
    user = await create_user(api, admin_token)

    wrong_password = await api.post(
        TOKEN_URL, json={"email": user["email"], "password": "Wrong-password-1"}
    )
    unknown_email = await api.post(
        TOKEN_URL,
        json={"email": unique_email("nobody"), "password": "Wrong-password-1"},
    )

    first = assert_oauth_error(wrong_password, 401, "invalid_grant")
    second = assert_oauth_error(unknown_email, 401, "invalid_grant")
    assert first["message"] == second["message"]
    assert "Wrong-password-1" not in wrong_password.text


@pytest.mark.parametrize(
    "document",
    [
        {},
        {"client_id": ADMIN_CLIENT_ID},
        {"client_secret": ADMIN_CLIENT_SECRET},
        {"email": "someone@example.com"},
        {"password": DEFAULT_PASSWORD},
        {"client_id": ADMIN_CLIENT_ID, "password": DEFAULT_PASSWORD},
        {"client_id": ADMIN_CLIENT_ID, "client_secret": 12345},
        {"client_id": ["a"], "client_secret": ADMIN_CLIENT_SECRET},
        {"email": None, "password": DEFAULT_PASSWORD},
        {
            "client_id": ADMIN_CLIENT_ID,
            "client_secret": ADMIN_CLIENT_SECRET,
            "email": "someone@example.com",
            "password": DEFAULT_PASSWORD,
        },
    ],
    ids=[
        "empty",
        "id-only",
        "secret-only",
        "email-only",
        "password-only",
        "id-with-password",
        "secret-not-string",
        "id-not-string",
        "email-null",
        "client-and-user-mixed",
    ],
)
async def test_json_invalid_request(
    api: httpx.AsyncClient, document: dict[str, Any]
) -> None:
    response = await api.post(TOKEN_URL, json=document)

    assert_oauth_error(response, 400, "invalid_request")


async def test_json_not_an_object(api: httpx.AsyncClient) -> None:
    for body in (b"[]", b'"client"', b"{not json"):
        response = await api.post(
            TOKEN_URL, content=body, headers={"Content-Type": "application/json"}
        )

        assert response.status_code == 400, (body, response.text)
        assert response.json()["error"] in ("invalid_request", "bad_request")
        assert response.json()["message"]


@pytest.mark.parametrize(
    "form",
    [
        {"client_id": ADMIN_CLIENT_ID, "client_secret": ADMIN_CLIENT_SECRET},
        {"grant_type": "password", "username": "someone@example.com"},
        {"grant_type": "password", "password": DEFAULT_PASSWORD},
    ],
    ids=["no-grant-type", "no-password", "no-username"],
)
async def test_form_invalid_request(
    api: httpx.AsyncClient, form: dict[str, str]
) -> None:
    response = await api.post(TOKEN_URL, data=form)

    assert_oauth_error(response, 400, "invalid_request")


async def test_form_repeated_parameter(api: httpx.AsyncClient) -> None:
    # RFC 6749 3.2: request parameters must not be included more than once.
    body = (
        "grant_type=client_credentials&grant_type=client_credentials"
        f"&client_id={ADMIN_CLIENT_ID}&client_secret={ADMIN_CLIENT_SECRET}"
    )
    response = await api.post(
        TOKEN_URL,
        content=body,
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )

    assert_oauth_error(response, 400, "invalid_request")


@pytest.mark.parametrize(
    "grant_type", ["authorization_code", "refresh_token", "implicit", "CLIENT"]
)
async def test_unsupported_grant_type(api: httpx.AsyncClient, grant_type: str) -> None:
    response = await api.post(
        TOKEN_URL,
        data={
            "grant_type": grant_type,
            "client_id": ADMIN_CLIENT_ID,
            "client_secret": ADMIN_CLIENT_SECRET,
        },
    )

    assert_oauth_error(response, 400, "unsupported_grant_type")


@pytest.mark.parametrize(
    "content_type", ["text/plain", "application/xml", "multipart/form-data; boundary=x"]
)
async def test_other_media_type(api: httpx.AsyncClient, content_type: str) -> None:
    response = await api.post(
        TOKEN_URL,
        content=f"client_id={ADMIN_CLIENT_ID}&client_secret={ADMIN_CLIENT_SECRET}",
        headers={"Content-Type": content_type},
    )

    assert_error(response, 415, "unsupported_media_type")


async def test_no_media_type(api: httpx.AsyncClient) -> None:
    response = await api.post(TOKEN_URL, content=b'{"client_id": "x"}')

    assert_error(response, 415, "unsupported_media_type")


async def test_get_not_allowed(api: httpx.AsyncClient) -> None:
    response = await api.get(TOKEN_URL)

    assert_error(response, 405, "method_not_allowed")
    assert "POST" in response.headers["allow"]


async def test_token_response_never_shows_secret(api: httpx.AsyncClient) -> None:
    response = await api.post(
        TOKEN_URL,
        json={"client_id": ADMIN_CLIENT_ID, "client_secret": ADMIN_CLIENT_SECRET},
    )

    assert ADMIN_CLIENT_SECRET not in response.text


@pytest.fixture(scope="module")
async def awkward_api(
    tmp_path_factory: pytest.TempPathFactory,
) -> AsyncIterator[httpx.AsyncClient]:
    """An in-process server whose bootstrap client has awkward credentials."""
    data_dir: Path = tmp_path_factory.mktemp("awkward")
    settings = app_settings(
        data_dir,
        bootstrap_client_id=AWKWARD_CLIENT_ID,
        bootstrap_client_secret=AWKWARD_CLIENT_SECRET,
    )
    app = create_app(settings)
    async with LifespanManager(app) as manager:
        transport = httpx.ASGITransport(app=manager.app, client=("127.0.0.1", 50001))
        async with httpx.AsyncClient(
            transport=transport, base_url="http://testserver"
        ) as client:
            yield client


async def test_basic_form_encoded_credentials(awkward_api: httpx.AsyncClient) -> None:
    response = await awkward_api.post(
        TOKEN_URL,
        data=client_form(),
        headers=basic(AWKWARD_CLIENT_ID, AWKWARD_CLIENT_SECRET),
    )

    body = assert_token_response(response)
    assert split_token(body["access_token"])[1]["cid"] == AWKWARD_CLIENT_ID


async def test_awkward_credentials_in_body(awkward_api: httpx.AsyncClient) -> None:
    form = await awkward_api.post(
        TOKEN_URL,
        data=client_form(
            client_id=AWKWARD_CLIENT_ID, client_secret=AWKWARD_CLIENT_SECRET
        ),
    )
    document = await awkward_api.post(
        TOKEN_URL,
        json={"client_id": AWKWARD_CLIENT_ID, "client_secret": AWKWARD_CLIENT_SECRET},
    )

    assert_token_response(form)
    assert_token_response(document)
