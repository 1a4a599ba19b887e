"""The parts both clients share: settings, request building, and the
decision that follows each attempt.

The clients only send requests and wait. Every choice (which headers, which
error, whether to retry and for how long) is made here, once.
"""

from __future__ import annotations

import logging
import os
import time
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, TypedDict, TypeVar

import httpx
from pydantic import BaseModel, ValidationError

from ._errors import (
    APIError,
    error_for_exception,
    error_for_invalid_body,
    error_for_response,
)
from ._retries import Failure, RetryPolicy, is_replayable
from ._retries import retry_wait as policy_wait
from ._version import __version__

logger = logging.getLogger("techcorp")

DEFAULT_BASE_URL = "http://127.0.0.1:8000"
DEFAULT_TIMEOUT = httpx.Timeout(30.0, connect=5.0)
"""30 seconds for each read, write and pool wait, and 5 to connect."""

REDACTED = "[redacted]"
SECRET_HEADERS = frozenset(
    {"authorization", "cookie", "set-cookie", "proxy-authorization"}
)
# Custom headers such as `X-Api-Key` or `X-Auth-Token` carry credentials too.
SECRET_HEADER_WORDS = ("key", "token", "secret", "password", "auth")
PUBLIC_HEADERS = frozenset({"idempotency-key"})

ModelT = TypeVar("ModelT", bound=BaseModel)


class RequestOptions(TypedDict, total=False):
    """Options every method takes as keyword arguments, for that call only."""

    timeout: float | httpx.Timeout | None
    """Seconds, or an `httpx.Timeout`; None waits forever."""
    max_retries: int
    extra_headers: Mapping[str, str]
    idempotency_key: str
    """The `Idempotency-Key` to send instead of a generated one."""


@dataclass(frozen=True)
class Credentials:
    """An API client's id and secret, or a user's email and password."""

    client_id: str | None = None
    client_secret: str | None = field(default=None, repr=False)
    email: str | None = None
    password: str | None = field(default=None, repr=False)

    @classmethod
    def resolve(
        cls,
        client_id: str | None,
        client_secret: str | None,
        email: str | None,
        password: str | None,
    ) -> Credentials:
        """Take the credentials from the arguments, else from
        `TECHCORP_CLIENT_ID` and `TECHCORP_CLIENT_SECRET`."""
        if email is not None or password is not None:
            if not (email and password):
                raise ValueError("Pass both email and password, or neither.")
            if client_id is not None or client_secret is not None:
                raise ValueError(
                    "Pass either client_id and client_secret, or email and "
                    "password, not both."
                )
            return cls(email=email, password=password)
        client_id = client_id or os.environ.get("TECHCORP_CLIENT_ID")
        client_secret = client_secret or os.environ.get("TECHCORP_CLIENT_SECRET")
        if not (client_id and client_secret):
            raise ValueError(
                "No credentials: pass client_id and client_secret (or email and "
                "password), or set TECHCORP_CLIENT_ID and TECHCORP_CLIENT_SECRET."
            )
        return cls(client_id=client_id, client_secret=client_secret)

    def token_request(self) -> RequestSpec:
        if self.email is not None:
            body = {"email": self.email, "password": self.password}
        else:
            body = {"client_id": self.client_id, "client_secret": self.client_secret}
        # Asking for a token changes nothing on the server, so it is retried
        # like a GET although it is a POST.
        return RequestSpec(
            "POST", "/v2/auth/token", json=body, auth=False, replayable=True
        )


@dataclass(frozen=True)
class ClientConfig:
    """The settings both clients are built from."""

    base_url: str
    timeout: float | httpx.Timeout | None
    max_retries: int
    retry_policy: RetryPolicy
    headers: Mapping[str, str]

    @classmethod
    def resolve(
        cls,
        base_url: str | None,
        timeout: float | httpx.Timeout | None,
        max_retries: int,
        retry_policy: RetryPolicy | None,
        default_headers: Mapping[str, str] | None,
    ) -> ClientConfig:
        base_url = base_url or os.environ.get("TECHCORP_BASE_URL") or DEFAULT_BASE_URL
        if httpx.URL(base_url).scheme not in ("http", "https"):
            raise ValueError(
                f"base_url {base_url!r} must start with http:// or https://, "
                "such as http://127.0.0.1:8000."
            )
        headers = {"User-Agent": f"techcorp-sdk-python/{__version__}"}
        return cls(
            base_url=base_url.rstrip("/"),
            timeout=timeout,
            max_retries=max_retries,
            retry_policy=retry_policy or RetryPolicy(),
            headers={**headers, **(default_headers or {})},
        )


@dataclass(frozen=True)
class RequestSpec:
    """One API operation's request, before options and credentials.

    `idempotent` marks a route that honours `Idempotency-Key`: the client
    sends one and reuses it on every attempt. `replayable` marks a POST that
    is safe to repeat without one.
    """

    method: str
    path: str
    params: Mapping[str, Any] | None = None
    json: Any = None
    auth: bool = True
    idempotent: bool = False
    replayable: bool = False


@dataclass(frozen=True)
class Call:
    """A request with this call's options applied, the same on every attempt."""

    spec: RequestSpec
    url: str
    headers: Mapping[str, str]
    timeout: float | httpx.Timeout | None
    max_retries: int
    replayable: bool

    @classmethod
    def prepare(
        cls, spec: RequestSpec, config: ClientConfig, options: RequestOptions
    ) -> Call:
        headers = {**config.headers, **options.get("extra_headers", {})}
        has_key = any(name.lower() == "idempotency-key" for name in headers)
        if "idempotency_key" in options:
            headers = {
                n: v for n, v in headers.items() if n.lower() != "idempotency-key"
            }
            headers["Idempotency-Key"] = options["idempotency_key"]
            has_key = True
        elif spec.idempotent and not has_key:
            headers["Idempotency-Key"] = str(uuid.uuid4())
            has_key = True
        return cls(
            spec=spec,
            url=config.base_url + spec.path,
            headers=headers,
            timeout=options.get("timeout", config.timeout),
            max_retries=options.get("max_retries", config.max_retries),
            replayable=spec.replayable or is_replayable(spec.method, has_key),
        )

    def build(
        self, http: httpx.Client | httpx.AsyncClient, token: str | None
    ) -> httpx.Request:
        headers = dict(self.headers)
        if token is not None:
            # The client's token replaces one in `extra_headers` in any
            # letter case; two Authorization headers get a 401.
            headers = {n: v for n, v in headers.items() if n.lower() != "authorization"}
            headers["Authorization"] = f"Bearer {token}"
        return http.build_request(
            self.spec.method,
            self.url,
            params=_query(self.spec.params),
            json=_jsonable(self.spec.json),
            headers=headers,
            timeout=self.timeout,
        )


@dataclass(frozen=True)
class Done:
    response: httpx.Response


@dataclass(frozen=True)
class Reauthorize:
    """The token was refused: fetch a new one and send the request again."""


@dataclass(frozen=True)
class Retry:
    wait_seconds: float


@dataclass(frozen=True)
class Raise:
    error: APIError


Step = Done | Reauthorize | Retry | Raise


def next_step(
    call: Call,
    outcome: httpx.Response | httpx.TransportError,
    *,
    attempt: int,
    reauthorized: bool,
    policy: RetryPolicy,
) -> Step:
    """Decide what follows attempt number `attempt` (from 1) of `call`."""
    if isinstance(outcome, httpx.Response):
        _log_response(call, outcome)
        if outcome.is_success:
            return Done(outcome)
        # A token can be revoked or expire early (a restarted server with a
        # new key): one fresh token and one replay, not counted as a retry.
        if outcome.status_code == 401 and call.spec.auth and not reauthorized:
            return Reauthorize()
        failure = Failure(outcome.status_code, outcome.headers)
        error: APIError = error_for_response(outcome)
    else:
        failure = Failure(sent=not isinstance(outcome, _NOT_SENT))
        error = error_for_exception(outcome)

    wait = policy_wait(
        failure,
        attempt=attempt,
        max_retries=call.max_retries,
        replayable=call.replayable,
        now=time.time(),
        policy=policy,
    )
    if wait is None:
        return Raise(error)
    logger.info(
        "Retrying %s %s in %.2f s (retry %d of %d) after %s",
        call.spec.method,
        call.spec.path,
        wait,
        attempt,
        call.max_retries,
        failure.status or type(outcome).__name__,
    )
    return Retry(wait)


# Connections that failed before the request was written: the server never
# saw it, so even a POST without an idempotency key may be sent again.
_NOT_SENT = (httpx.ConnectError, httpx.ConnectTimeout)


def parse(model: type[ModelT], response: httpx.Response) -> ModelT:
    try:
        return model.model_validate_json(response.content)
    except ValidationError as exc:
        raise error_for_invalid_body(response, model.__name__, exc) from exc


def redact_headers(headers: Mapping[str, str]) -> dict[str, str]:
    """Replace credentials in `headers`, so that they can be logged."""
    return {
        name: REDACTED if is_secret_header(name) else value
        for name, value in headers.items()
    }


def is_secret_header(name: str) -> bool:
    lowered = name.lower()
    if lowered in SECRET_HEADERS:
        return True
    if lowered in PUBLIC_HEADERS:
        return False
    return any(word in lowered for word in SECRET_HEADER_WORDS)


def _log_response(call: Call, response: httpx.Response) -> None:
    if not logger.isEnabledFor(logging.DEBUG):
        return
    logger.debug(
        "%s %s -> %d (request id %s) request headers %s",
        call.spec.method,
        call.spec.path,
        response.status_code,
        response.headers.get("x-request-id"),
        redact_headers(response.request.headers),
    )


class NotGiven:
    """The default of an optional argument the caller left out. It differs
    from an explicit None, which clears a field."""

    def __repr__(self) -> str:
        return "NOT_GIVEN"


NOT_GIVEN = NotGiven()


def compact(**fields: Any) -> dict[str, Any]:
    """Drop the fields the caller left out, for a request body or query."""
    return {name: value for name, value in fields.items() if value is not NOT_GIVEN}


def _query(params: Mapping[str, Any] | None) -> dict[str, Any] | None:
    if not params:
        return None
    return {
        name: _jsonable(value) for name, value in params.items() if value is not None
    }


def _jsonable(value: Any) -> Any:
    """Request values as JSON: amounts as numbers, models as their fields."""
    if isinstance(value, BaseModel):
        return value.model_dump(mode="json", exclude_unset=True)
    if isinstance(value, dict):
        return {name: _jsonable(item) for name, item in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(item) for item in value]
    if isinstance(value, Decimal):
        # At most two decimals, so the float prints back as the same digits.
        return float(value)
    return value
