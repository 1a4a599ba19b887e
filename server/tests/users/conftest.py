"""Fixtures of the users tests: a member, and an app with a database of its own."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from asgi_lifespan import LifespanManager

from techcorp_server.app import create_app

from ..conftest import app_settings
from ..utils.api import create_user


@pytest.fixture
async def member(api: httpx.AsyncClient, admin_token: str) -> dict[str, Any]:
    """A member with a password token of its own in `token`."""
    return await create_user(api, admin_token)


@pytest.fixture
async def fresh_api(tmp_path: Path) -> AsyncIterator[httpx.AsyncClient]:
    """The app in-process on a new database whose only user is the bootstrap admin.

    The shared servers collect admins from every test, so only a database of
    its own can show what happens to the last admin.
    """
    app = create_app(app_settings(tmp_path))
    async with LifespanManager(app) as manager:
        transport = httpx.ASGITransport(app=manager.app, client=("127.0.0.1", 50001))
        async with httpx.AsyncClient(
            transport=transport, base_url="http://testserver"
        ) as client:
            yield client
