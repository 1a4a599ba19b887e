"""What the application does when it starts and stops."""

from __future__ import annotations

import gc
from pathlib import Path

from asgi_lifespan import LifespanManager

from techcorp_server.app import create_app

from .conftest import app_settings


async def test_served_app_freezes_startup_objects(tmp_path: Path) -> None:
    app = create_app(app_settings(tmp_path), freeze_after_start=True)
    try:
        async with LifespanManager(app):
            frozen = gc.get_freeze_count()
    finally:
        gc.unfreeze()

    assert frozen > 1000


async def test_app_freezes_nothing_by_default(tmp_path: Path) -> None:
    app = create_app(app_settings(tmp_path))
    async with LifespanManager(app):
        frozen = gc.get_freeze_count()

    assert frozen == 0
