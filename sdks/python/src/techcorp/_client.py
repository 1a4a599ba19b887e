"""`TechCorp` and `AsyncTechCorp`: the same client, sync and async.

Each sends a request, waits, and calls `_base.next_step` to decide what
follows. The two differ only in `await`.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Mapping
from types import TracebackType
from typing import Any, Generic, Self, TypeVar

import httpx

from ._base import (
    DEFAULT_TIMEOUT,
    Call,
    ClientConfig,
    Credentials,
    Done,
    ModelT,
    Raise,
    Reauthorize,
    RequestOptions,
    RequestSpec,
    next_step,
    parse,
)
from ._resource import parse_envelope, with_page
from ._retries import DEFAULT_MAX_RETRIES, RetryPolicy
from ._tokens import AsyncTokenSource, TokenSource
from .models import Token
from .pagination import AsyncPage, SyncPage
from .resources import (
    AsyncAuth,
    AsyncClients,
    AsyncEvents,
    AsyncPayments,
    AsyncProducts,
    AsyncSearch,
    AsyncSystem,
    AsyncUsers,
    AsyncWebhooks,
    Auth,
    Clients,
    Events,
    Payments,
    Products,
    Search,
    System,
    Users,
    Webhooks,
)

__all__ = ["AsyncTechCorp", "TechCorp"]


HTTPClientT = TypeVar("HTTPClientT", httpx.Client, httpx.AsyncClient)


class _ClientBase(Generic[HTTPClientT]):
    """The constructor both clients share; each adds its token source and
    resources in `_attach`."""

    def __init__(
        self,
        *,
        client_id: str | None = None,
        client_secret: str | None = None,
        email: str | None = None,
        password: str | None = None,
        base_url: str | None = None,
        timeout: float | httpx.Timeout | None = DEFAULT_TIMEOUT,
        max_retries: int = DEFAULT_MAX_RETRIES,
        retry_policy: RetryPolicy | None = None,
        default_headers: Mapping[str, str] | None = None,
        http_client: HTTPClientT | None = None,
    ) -> None:
        self._config = ClientConfig.resolve(
            base_url, timeout, max_retries, retry_policy, default_headers
        )
        self._credentials = Credentials.resolve(
            client_id, client_secret, email, password
        )
        self._http: HTTPClientT = http_client or self._new_http_client()
        self._owns_http = http_client is None
        self._attach()

    def _new_http_client(self) -> HTTPClientT:
        raise NotImplementedError

    def _attach(self) -> None:
        raise NotImplementedError

    @property
    def base_url(self) -> str:
        """The API root without a trailing slash, such as `http://127.0.0.1:8000`."""
        return self._config.base_url

    def __repr__(self) -> str:
        return f"{type(self).__name__}(base_url={self.base_url!r})"


class TechCorp(_ClientBase[httpx.Client]):
    """The sync client.

    Credentials come from the arguments (`client_id` and `client_secret`, or
    `email` and `password`), else from `TECHCORP_CLIENT_ID` and
    `TECHCORP_CLIENT_SECRET`; `base_url` from the argument, else
    `TECHCORP_BASE_URL`, else `http://127.0.0.1:8000`. The default timeout
    is 30 seconds to read, write or wait for a pooled connection, and 5 to
    connect. Failed requests are retried twice (see the README). Pass
    `http_client` to use your own `httpx.Client` (proxies, certificates,
    event hooks); the client then leaves closing it to you.

    `base_url` is the API root, such as `http://127.0.0.1:8000`. `tokens` is
    the token source: `tokens.get()` returns a valid access token (cached,
    or fetched when none is), `tokens.invalidate()` drops the cached one so
    the next `get()` fetches a new one.
    """

    def _new_http_client(self) -> httpx.Client:
        return httpx.Client()

    def _attach(self) -> None:
        self._sleep: Callable[[float], None] = time.sleep
        self.tokens = TokenSource(self._fetch_token)
        self.auth = Auth(self)
        self.users = Users(self)
        self.products = Products(self)
        self.search = Search(self)
        self.payments = Payments(self)
        self.webhooks = Webhooks(self)
        self.clients = Clients(self)
        self.system = System(self)
        self.events = Events(self)

    def close(self) -> None:
        if self._owns_http:
            self._http.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def _fetch_token(self, credentials: Credentials | None = None) -> Token:
        spec = (credentials or self._credentials).token_request()
        return self._request(Token, spec, {})

    def _request(
        self, model: type[ModelT], spec: RequestSpec, options: RequestOptions
    ) -> ModelT:
        return parse(model, self._send(spec, options))

    def _page(
        self,
        model: type[ModelT],
        spec: RequestSpec,
        options: RequestOptions,
        reachable: int | None = None,
    ) -> SyncPage[ModelT]:
        envelope = parse_envelope(model, self._send(spec, options))
        return SyncPage(
            **dict(envelope),
            reachable=reachable,
            fetch_page=lambda page: self._page(
                model, with_page(spec, page), options, reachable
            ),
        )

    def _send(self, spec: RequestSpec, options: RequestOptions) -> httpx.Response:
        call = Call.prepare(spec, self._config, options)
        attempt, reauthorized = 1, False
        while True:
            token = self.tokens.get() if spec.auth else None
            outcome: httpx.Response | httpx.TransportError
            try:
                outcome = self._http.send(call.build(self._http, token))
            except httpx.TransportError as exc:
                outcome = exc
            step = next_step(
                call,
                outcome,
                attempt=attempt,
                reauthorized=reauthorized,
                policy=self._config.retry_policy,
            )
            if isinstance(step, Done):
                return step.response
            if isinstance(step, Raise):
                raise step.error from _cause(outcome)
            if isinstance(step, Reauthorize):
                self.tokens.invalidate(token)
                reauthorized = True
                continue
            self._sleep(step.wait_seconds)
            attempt += 1


class AsyncTechCorp(_ClientBase[httpx.AsyncClient]):
    """The async client: `TechCorp` with `await`.

    Its arguments are `TechCorp`'s, with an `httpx.AsyncClient` as
    `http_client`. `base_url` is the API root; `tokens` is the token source:
    `await tokens.get()` and `tokens.invalidate()`.
    """

    def _new_http_client(self) -> httpx.AsyncClient:
        return httpx.AsyncClient()

    def _attach(self) -> None:
        self._sleep: Callable[[float], Awaitable[None]] = asyncio.sleep
        self.tokens = AsyncTokenSource(self._fetch_token)
        self.auth = AsyncAuth(self)
        self.users = AsyncUsers(self)
        self.products = AsyncProducts(self)
        self.search = AsyncSearch(self)
        self.payments = AsyncPayments(self)
        self.webhooks = AsyncWebhooks(self)
        self.clients = AsyncClients(self)
        self.system = AsyncSystem(self)
        self.events = AsyncEvents(self)

    async def aclose(self) -> None:
        if self._owns_http:
            await self._http.aclose()

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()

    async def _fetch_token(self, credentials: Credentials | None = None) -> Token:
        spec = (credentials or self._credentials).token_request()
        return await self._request(Token, spec, {})

    async def _request(
        self, model: type[ModelT], spec: RequestSpec, options: RequestOptions
    ) -> ModelT:
        return parse(model, await self._send(spec, options))

    async def _page(
        self,
        model: type[ModelT],
        spec: RequestSpec,
        options: RequestOptions,
        reachable: int | None = None,
    ) -> AsyncPage[ModelT]:
        envelope = parse_envelope(model, await self._send(spec, options))
        return AsyncPage(
            **dict(envelope),
            reachable=reachable,
            fetch_page=lambda page: self._page(
                model, with_page(spec, page), options, reachable
            ),
        )

    async def _send(self, spec: RequestSpec, options: RequestOptions) -> httpx.Response:
        call = Call.prepare(spec, self._config, options)
        attempt, reauthorized = 1, False
        while True:
            token = await self.tokens.get() if spec.auth else None
            outcome: httpx.Response | httpx.TransportError
            try:
                outcome = await self._http.send(call.build(self._http, token))
            except httpx.TransportError as exc:
                outcome = exc
            step = next_step(
                call,
                outcome,
                attempt=attempt,
                reauthorized=reauthorized,
                policy=self._config.retry_policy,
            )
            if isinstance(step, Done):
                return step.response
            if isinstance(step, Raise):
                raise step.error from _cause(outcome)
            if isinstance(step, Reauthorize):
                self.tokens.invalidate(token)
                reauthorized = True
                continue
            await self._sleep(step.wait_seconds)
            attempt += 1


def _cause(outcome: httpx.Response | httpx.TransportError) -> Any:
    return outcome if isinstance(outcome, Exception) else None
