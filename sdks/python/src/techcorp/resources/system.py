"""`client.system`: health checks and the system status the stream announces."""

from __future__ import annotations

from datetime import datetime
from typing import Literal, Unpack

from .._base import NOT_GIVEN, NotGiven, RequestOptions, RequestSpec, compact
from .._resource import AsyncResource, SyncResource
from ..models import Health, SystemStatus

Status = Literal["operational", "maintenance", "degraded"]

HEALTH = RequestSpec("GET", "/healthz", auth=False)
READINESS = RequestSpec("GET", "/readyz", auth=False)
STATUS = RequestSpec("GET", "/v2/system/status")


def _set_status(
    status: Status,
    message: str,
    starts_at: datetime | NotGiven | None,
    ends_at: datetime | NotGiven | None,
) -> RequestSpec:
    body = compact(
        status=status,
        message=message,
        starts_at=starts_at.isoformat()
        if isinstance(starts_at, datetime)
        else starts_at,
        ends_at=ends_at.isoformat() if isinstance(ends_at, datetime) else ends_at,
    )
    return RequestSpec("POST", "/v2/system/status", json=body)


class System(SyncResource):
    def health(self, **options: Unpack[RequestOptions]) -> Health:
        """Check that the server process is up (`/healthz`), with no token."""
        return self._request(Health, HEALTH, options)

    def readiness(self, **options: Unpack[RequestOptions]) -> Health:
        """Check that the server can serve, its database included (`/readyz`).

        A server that is not ready returns 503, raised as
        `InternalServerError` once the retries are spent.
        """
        return self._request(Health, READINESS, options)

    def status(self, **options: Unpack[RequestOptions]) -> SystemStatus:
        return self._request(SystemStatus, STATUS, options)

    def set_status(
        self,
        *,
        status: Status,
        message: str,
        starts_at: datetime | NotGiven | None = NOT_GIVEN,
        ends_at: datetime | NotGiven | None = NOT_GIVEN,
        **options: Unpack[RequestOptions],
    ) -> SystemStatus:
        """Announce a status to every stream client (admins only)."""
        spec = _set_status(status, message, starts_at, ends_at)
        return self._request(SystemStatus, spec, options)


class AsyncSystem(AsyncResource):
    async def health(self, **options: Unpack[RequestOptions]) -> Health:
        """Check that the server process is up (`/healthz`), with no token."""
        return await self._request(Health, HEALTH, options)

    async def readiness(self, **options: Unpack[RequestOptions]) -> Health:
        """Check that the server can serve, its database included (`/readyz`)."""
        return await self._request(Health, READINESS, options)

    async def status(self, **options: Unpack[RequestOptions]) -> SystemStatus:
        return await self._request(SystemStatus, STATUS, options)

    async def set_status(
        self,
        *,
        status: Status,
        message: str,
        starts_at: datetime | NotGiven | None = NOT_GIVEN,
        ends_at: datetime | NotGiven | None = NOT_GIVEN,
        **options: Unpack[RequestOptions],
    ) -> SystemStatus:
        """Announce a status to every stream client (admins only)."""
        spec = _set_status(status, message, starts_at, ends_at)
        return await self._request(SystemStatus, spec, options)
