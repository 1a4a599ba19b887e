"""`client.users`: list, get, create, update and delete users."""

from __future__ import annotations

from typing import Literal, Unpack

from .._base import NOT_GIVEN, NotGiven, RequestOptions, RequestSpec, compact
from .._resource import AsyncResource, SyncResource, path
from ..models import User
from ..pagination import AsyncPageRequest, SyncPage

Role = Literal["admin", "member"]


def _create(email: str, password: str, role: Role) -> RequestSpec:
    body = {"email": email, "password": password, "role": role}
    return RequestSpec("POST", "/v2/users", json=body, idempotent=True)


def _update(user_id: str, email: str | NotGiven, role: Role | NotGiven) -> RequestSpec:
    body = compact(email=email, role=role)
    return RequestSpec("PATCH", path("/v2/users/{}", user_id), json=body)


class Users(SyncResource):
    def list(
        self,
        *,
        page: int | NotGiven = NOT_GIVEN,
        limit: int | NotGiven = NOT_GIVEN,
        **options: Unpack[RequestOptions],
    ) -> SyncPage[User]:
        """Users newest first; iterate the page for every user."""
        return self._list(User, "/v2/users", compact(page=page, limit=limit), options)

    def get(self, user_id: str, **options: Unpack[RequestOptions]) -> User:
        return self._request(
            User, RequestSpec("GET", path("/v2/users/{}", user_id)), options
        )

    def create(
        self,
        *,
        email: str,
        password: str,
        role: Role,
        **options: Unpack[RequestOptions],
    ) -> User:
        """Create a user (admins only); sent with an `Idempotency-Key`."""
        return self._request(User, _create(email, password, role), options)

    def update(
        self,
        user_id: str,
        *,
        email: str | NotGiven = NOT_GIVEN,
        role: Role | NotGiven = NOT_GIVEN,
        **options: Unpack[RequestOptions],
    ) -> User:
        """Change the email, the role or both; what is left out stays."""
        return self._request(User, _update(user_id, email, role), options)

    def delete(self, user_id: str, **options: Unpack[RequestOptions]) -> None:
        self._empty(RequestSpec("DELETE", path("/v2/users/{}", user_id)), options)


class AsyncUsers(AsyncResource):
    def list(
        self,
        *,
        page: int | NotGiven = NOT_GIVEN,
        limit: int | NotGiven = NOT_GIVEN,
        **options: Unpack[RequestOptions],
    ) -> AsyncPageRequest[User]:
        """Users newest first; `async for` over the result for every user."""
        return self._list(User, "/v2/users", compact(page=page, limit=limit), options)

    async def get(self, user_id: str, **options: Unpack[RequestOptions]) -> User:
        spec = RequestSpec("GET", path("/v2/users/{}", user_id))
        return await self._request(User, spec, options)

    async def create(
        self,
        *,
        email: str,
        password: str,
        role: Role,
        **options: Unpack[RequestOptions],
    ) -> User:
        """Create a user (admins only); sent with an `Idempotency-Key`."""
        return await self._request(User, _create(email, password, role), options)

    async def update(
        self,
        user_id: str,
        *,
        email: str | NotGiven = NOT_GIVEN,
        role: Role | NotGiven = NOT_GIVEN,
        **options: Unpack[RequestOptions],
    ) -> User:
        """Change the email, the role or both; what is left out stays."""
        return await self._request(User, _update(user_id, email, role), options)

    async def delete(self, user_id: str, **options: Unpack[RequestOptions]) -> None:
        await self._empty(RequestSpec("DELETE", path("/v2/users/{}", user_id)), options)
