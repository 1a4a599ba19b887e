"""Concurrent requests with one token share the lookup of its caller."""

from __future__ import annotations

import asyncio
from pathlib import Path

from starlette.requests import Request

from techcorp_server.app import build_services
from techcorp_server.auth.principal import Principal
from techcorp_server.auth.service import AuthService

from ..conftest import app_settings
from ..utils.api import ADMIN_CLIENT_ID, ADMIN_CLIENT_SECRET


def request_with(token: str) -> Request:
    header = (b"authorization", f"Bearer {token}".encode())
    return Request({"type": "http", "headers": [header]})


class LookupCounter:
    """Counts caller lookups, each slowed so that requests overlap it."""

    def __init__(self, auth: AuthService) -> None:
        self.count = 0
        self._verified_principal = auth._verified_principal

    async def __call__(self, token: str) -> Principal:
        self.count += 1
        await asyncio.sleep(0.05)
        return await self._verified_principal(token)


def count_lookups(auth: AuthService) -> LookupCounter:
    counter = LookupCounter(auth)
    auth._verified_principal = counter  # type: ignore[method-assign]
    return counter


async def test_concurrent_requests_share_lookup(tmp_path: Path) -> None:
    services = build_services(app_settings(tmp_path))
    await services.start()
    auth = services.auth
    grant = await auth.token_for_client(ADMIN_CLIENT_ID, ADMIN_CLIENT_SECRET)
    lookups = count_lookups(auth)
    try:
        principals = await asyncio.gather(
            *(
                auth.authenticate_request(request_with(grant["access_token"]))
                for _ in range(20)
            )
        )
    finally:
        await services.stop()

    assert lookups.count == 1
    assert {principal.client_id for principal in principals} == {ADMIN_CLIENT_ID}
    assert all(principal.is_admin for principal in principals)


async def test_lookup_after_change_not_shared(tmp_path: Path) -> None:
    services = build_services(app_settings(tmp_path))
    await services.start()
    auth = services.auth
    grant = await auth.token_for_client(ADMIN_CLIENT_ID, ADMIN_CLIENT_SECRET)
    lookups = count_lookups(auth)
    try:
        first = asyncio.create_task(
            auth.authenticate_request(request_with(grant["access_token"]))
        )
        await asyncio.sleep(0.01)
        auth.invalidate_client(ADMIN_CLIENT_ID)
        second = await auth.authenticate_request(request_with(grant["access_token"]))
        await first
    finally:
        await services.stop()

    assert lookups.count == 2
    assert second.client_id == ADMIN_CLIENT_ID
