"""A product saved before a restart is found after it."""

from __future__ import annotations

from pathlib import Path

import httpx

from ..conftest import server_env
from ..utils.api import bearer, client_token
from ..utils.backends import USES_POSTGRESQL
from ..utils.server import ServerProcess
from .helpers import SEARCH_URL, unique_word


async def test_search_after_restart(tmp_path: Path) -> None:
    word = unique_word()
    server = ServerProcess(tmp_path, server_env())
    server.start()
    try:
        async with httpx.AsyncClient(base_url=server.base_url) as api:
            headers = bearer(await client_token(api))
            response = await api.post(
                "/v2/products",
                json={"name": f"{word} Lamp", "price": 10, "category": "home"},
                headers=headers,
            )
            assert response.status_code == 201, response.text
            product_id = response.json()["id"]
    finally:
        server.stop()

    server.start()
    try:
        async with httpx.AsyncClient(base_url=server.base_url) as api:
            headers = bearer(await client_token(api))
            response = await api.get(SEARCH_URL, params={"q": word}, headers=headers)
    finally:
        server.stop()

    assert response.status_code == 200, response.text
    assert [hit["item"]["id"] for hit in response.json()["data"]] == [product_id]
    # On PostgreSQL the index is in the database, so nothing is rebuilt.
    started = "search runs in PostgreSQL" if USES_POSTGRESQL else "search index built"
    assert f'"message":"{started}"' in server.logs()
