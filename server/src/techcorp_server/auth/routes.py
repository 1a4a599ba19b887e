"""`POST /v2/auth/token` and the API client endpoints."""

from __future__ import annotations

import base64
import binascii
from typing import Any
from urllib.parse import parse_qsl, unquote_plus

import orjson
from starlette.requests import Request
from starlette.responses import Response

from ..core.db import isoformat
from ..core.errors import BadRequestError, ForbiddenError, UnsupportedMediaTypeError
from ..core.http import (
    EncodedJSONResponse,
    header_value,
    json_response,
    media_type_of,
    parse_json,
    read_model,
)
from ..core.pagination import envelope, page_request, request_link_header
from ..core.routing import OperationRouter
from ..core.text import shorten
from .models import ApiClient
from .principal import principal_of
from .schemas import (
    ClientCreate,
    ClientCreated,
    ClientPublic,
    TokenRequest,
    TokenResponse,
)
from .service import AuthService

router = OperationRouter("/v2/auth", "Authentication")
clients_router = OperationRouter("/v2/clients", "API clients")

FORM_MEDIA_TYPE = "application/x-www-form-urlencoded"
MAX_FIELD_LENGTH = 1024
NO_STORE = {"Cache-Control": "no-store", "Pragma": "no-cache"}
NO_STORE_HEADERS = tuple(
    (name.lower().encode("ascii"), value.encode("ascii"))
    for name, value in NO_STORE.items()
)
TOKEN_FIELDS = (
    "grant_type",
    "client_id",
    "client_secret",
    "email",
    "username",
    "password",
    "scope",
)


def _auth(request: Request) -> AuthService:
    service: AuthService = request.app.state.auth
    return service


def oauth_error(code: str, message: str) -> BadRequestError:
    return BadRequestError(message, code=code, extra={"error_description": message})


@router.post(
    "/token",
    summary="Get an access token",
    description=(
        "Exchange a client id and secret (JSON, or RFC 6749 client credentials "
        "as a form with the credentials in the body or in HTTP Basic), or a "
        "user's email and password, for a bearer token valid for an hour."
    ),
    operation_id="create_token",
    auth=False,
    request_model=TokenRequest,
    request_form=True,
    response_model=TokenResponse,
    errors=(400, 401, 415),
)
async def create_token(request: Request) -> Response:
    media_type = media_type_of(request)
    fields, basic = await _token_request_fields(request, media_type)
    grant = await _issue(
        _auth(request), fields, basic, form=media_type == FORM_MEDIA_TYPE
    )
    return EncodedJSONResponse(orjson.dumps(grant), NO_STORE_HEADERS)


async def _token_request_fields(
    request: Request, media_type: str
) -> tuple[dict[str, str], tuple[str, str] | None]:
    """Read the token request's fields and any HTTP Basic credentials."""
    body = await request.body()
    if media_type == FORM_MEDIA_TYPE:
        fields = _form_fields(body)
    elif media_type == "application/json":
        fields = _json_fields(body)
    else:
        raise UnsupportedMediaTypeError(
            "Send the token request as JSON or as application/x-www-form-urlencoded."
        )
    return fields, _basic_credentials(header_value(request.scope, b"authorization"))


def _form_fields(body: bytes) -> dict[str, str]:
    try:
        pairs = parse_qsl(body.decode("utf-8"), keep_blank_values=True)
    except (UnicodeDecodeError, ValueError) as exc:
        raise oauth_error("invalid_request", "The form body is malformed.") from exc
    seen: set[str] = set()
    fields: dict[str, str] = {}
    for name, value in pairs:
        # RFC 6749 section 3.2: parameters must not be sent more than once.
        if name in seen:
            raise oauth_error(
                "invalid_request", f"Parameter '{shorten(name)}' is repeated."
            )
        seen.add(name)
        fields[name] = value
    return _known_fields(fields)


def _json_fields(body: bytes) -> dict[str, str]:
    document = parse_json(body) if body.strip() else None
    if not isinstance(document, dict):
        raise oauth_error("invalid_request", "The request body must be a JSON object.")
    for name in TOKEN_FIELDS:
        value = document.get(name)
        if value is not None and not isinstance(value, str):
            raise oauth_error("invalid_request", f"Field '{name}' must be a string.")
    return _known_fields(document)


def _known_fields(fields: dict[str, Any]) -> dict[str, str]:
    # RFC 6749 section 3.2: unrecognized parameters are ignored, and a
    # parameter sent without a value counts as omitted.
    return {name: fields[name] for name in TOKEN_FIELDS if fields.get(name)}


def _basic_credentials(header: str | None) -> tuple[str, str] | None:
    if not header:
        return None
    scheme, _, encoded = header.partition(" ")
    if scheme.lower() != "basic":
        return None
    try:
        decoded = base64.b64decode(encoded.strip(), validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError) as exc:
        raise oauth_error(
            "invalid_request", "The Basic credentials are not valid base64."
        ) from exc
    client_id, separator, client_secret = decoded.partition(":")
    if not separator:
        raise oauth_error("invalid_request", "The Basic credentials lack a ':'.")
    # RFC 6749 section 2.3.1: both parts are form-urlencoded before encoding.
    return unquote_plus(client_id), unquote_plus(client_secret)


async def _issue(
    auth: AuthService,
    fields: dict[str, str],
    basic: tuple[str, str] | None,
    *,
    form: bool,
) -> dict[str, Any]:
    for name, value in fields.items():
        if len(value) > MAX_FIELD_LENGTH:
            raise oauth_error("invalid_request", f"Field '{name}' is too long.")

    grant_type = fields.get("grant_type")
    if grant_type is None:
        # RFC 6749 requires grant_type in a form; the published JSON request
        # has none, and its fields tell which credentials it carries.
        if form:
            raise oauth_error("invalid_request", "Parameter 'grant_type' is missing.")
        grant_type = "password" if "email" in fields else "client_credentials"

    if grant_type == "client_credentials":
        client_id, client_secret = _client_credentials(fields, basic)
        grant = await auth.token_for_client(
            client_id, client_secret, basic=basic is not None
        )
    elif grant_type == "password":
        email, password = _user_credentials(fields, basic)
        grant = await auth.token_for_user(email, password)
    else:
        raise oauth_error(
            "unsupported_grant_type",
            "grant_type must be 'client_credentials' or 'password'.",
        )

    # Scopes are not used to narrow access; a requested scope is granted as
    # is and returned, as RFC 6749 section 5.1 allows.
    if fields.get("scope"):
        grant["scope"] = fields["scope"]
    return grant


def _user_credentials(
    fields: dict[str, str], basic: tuple[str, str] | None
) -> tuple[str, str]:
    if basic is not None or "client_id" in fields or "client_secret" in fields:
        raise oauth_error(
            "invalid_request",
            "Send either client credentials or an email and password, not both.",
        )
    email = fields.get("email", fields.get("username"))
    password = fields.get("password")
    if not email or not password:
        raise oauth_error(
            "invalid_request", "Send both 'email' and 'password' to log in."
        )
    return email, password


def _client_credentials(
    fields: dict[str, str], basic: tuple[str, str] | None
) -> tuple[str, str]:
    in_body = "client_id" in fields or "client_secret" in fields
    if basic is not None and in_body:
        # RFC 6749 section 2.3: one authentication method per request.
        raise oauth_error(
            "invalid_request",
            "Send the client credentials either in HTTP Basic or in the body, "
            "not both.",
        )
    if "email" in fields or "password" in fields:
        raise oauth_error(
            "invalid_request",
            "Send either client credentials or an email and password, not both.",
        )
    if basic is not None:
        return basic
    client_id = fields.get("client_id")
    client_secret = fields.get("client_secret")
    if not client_id or not client_secret:
        raise oauth_error(
            "invalid_request", "Send both 'client_id' and 'client_secret'."
        )
    return client_id, client_secret


def _client_json(client: ApiClient) -> dict[str, Any]:
    return {
        "id": client.id,
        "name": client.name,
        "user_id": client.user_id,
        "secret_hint": client.secret_hint,
        "created_at": isoformat(client.created_at),
    }


@clients_router.post(
    "",
    summary="Create an API client",
    description="The response carries the client secret; it is never shown again.",
    operation_id="create_client",
    request_model=ClientCreate,
    response_model=ClientCreated,
    status_code=201,
    errors=(400, 401, 403, 415),
)
async def create_client(request: Request) -> Response:
    principal = principal_of(request)
    payload = await read_model(request, ClientCreate)
    user_id = payload.user_id or principal.user_id
    if user_id != principal.user_id and not principal.is_admin:
        raise ForbiddenError("Members can create API clients only for themselves.")
    client, secret = await _auth(request).create_client(
        user_id=user_id, name=payload.name
    )
    body = {**_client_json(client), "client_secret": secret}
    headers = {"Location": f"/v2/clients/{client.id}", **NO_STORE}
    return json_response(body, status_code=201, headers=headers)


@clients_router.get(
    "",
    summary="List API clients",
    description="Admins see every client; members see their own.",
    operation_id="list_clients",
    response_model=ClientPublic,
    paginated=True,
    errors=(400, 401),
)
async def list_clients(request: Request) -> Response:
    page = page_request(request.query_params)
    clients, total = await _auth(request).list_clients(principal_of(request), page)
    body = envelope([_client_json(client) for client in clients], page, total)
    headers = {"Link": request_link_header(request, page, total)}
    return json_response(body, headers=headers)


@clients_router.delete(
    "/{client_id}",
    summary="Delete an API client",
    description="Tokens issued to the client stop working at once.",
    operation_id="delete_client",
    status_code=204,
    errors=(401, 403, 404),
)
async def delete_client(request: Request) -> Response:
    client_id = request.path_params["client_id"]
    await _auth(request).delete_client(principal_of(request), client_id)
    return Response(status_code=204)
