"""`client.clients`: API clients, the credentials programs log in with."""

from __future__ import annotations

from typing import Unpack

from .._base import NOT_GIVEN, NotGiven, RequestOptions, RequestSpec, compact
from .._resource import AsyncResource, SyncResource, path
from ..models import APIClient, APIClientWithSecret
from ..pagination import AsyncPageRequest, SyncPage


def _create(name: str | NotGiven, user_id: str | NotGiven) -> RequestSpec:
    return RequestSpec("POST", "/v2/clients", json=compact(name=name, user_id=user_id))


class Clients(SyncResource):
    def create(
        self,
        *,
        name: str | NotGiven = NOT_GIVEN,
        user_id: str | NotGiven = NOT_GIVEN,
        **options: Unpack[RequestOptions],
    ) -> APIClientWithSecret:
        """Create a client for yourself (or, as an admin, for `user_id`).

        The response is the only time `client_secret` is shown. The route
        takes no `Idempotency-Key`, so a failed create is not retried.
        """
        return self._request(APIClientWithSecret, _create(name, user_id), options)

    def list(
        self,
        *,
        page: int | NotGiven = NOT_GIVEN,
        limit: int | NotGiven = NOT_GIVEN,
        **options: Unpack[RequestOptions],
    ) -> SyncPage[APIClient]:
        """Admins see every client; members see their own."""
        return self._list(
            APIClient, "/v2/clients", compact(page=page, limit=limit), options
        )

    def delete(self, client_id: str, **options: Unpack[RequestOptions]) -> None:
        """Delete a client; its tokens stop working at once."""
        self._empty(RequestSpec("DELETE", path("/v2/clients/{}", client_id)), options)


class AsyncClients(AsyncResource):
    async def create(
        self,
        *,
        name: str | NotGiven = NOT_GIVEN,
        user_id: str | NotGiven = NOT_GIVEN,
        **options: Unpack[RequestOptions],
    ) -> APIClientWithSecret:
        """Create a client; the response is the only time its secret is shown."""
        return await self._request(APIClientWithSecret, _create(name, user_id), options)

    def list(
        self,
        *,
        page: int | NotGiven = NOT_GIVEN,
        limit: int | NotGiven = NOT_GIVEN,
        **options: Unpack[RequestOptions],
    ) -> AsyncPageRequest[APIClient]:
        """Admins see every client; members see their own."""
        return self._list(
            APIClient, "/v2/clients", compact(page=page, limit=limit), options
        )

    async def delete(self, client_id: str, **options: Unpack[RequestOptions]) -> None:
        """Delete a client; its tokens stop working at once."""
        spec = RequestSpec("DELETE", path("/v2/clients/{}", client_id))
        await self._empty(spec, options)
