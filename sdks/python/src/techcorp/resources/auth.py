"""`client.auth`: access tokens.

The client fetches and refreshes its own token; call `token()` only to get
one for another program, or with other credentials.
"""

from __future__ import annotations

from .._base import Credentials
from .._resource import AsyncResource, SyncResource
from ..models import Token


class Auth(SyncResource):
    def token(self, *, email: str | None = None, password: str | None = None) -> Token:
        """Fetch a new token for the client's credentials, or for `email` and
        `password` when given. The client's cached token is not changed."""
        credentials = Credentials(email=email, password=password) if email else None
        return self._client._fetch_token(credentials)


class AsyncAuth(AsyncResource):
    async def token(
        self, *, email: str | None = None, password: str | None = None
    ) -> Token:
        """Fetch a new token for the client's credentials, or for `email` and
        `password` when given. The client's cached token is not changed."""
        credentials = Credentials(email=email, password=password) if email else None
        return await self._client._fetch_token(credentials)
