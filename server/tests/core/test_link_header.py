"""The `Link` header of lists: odd Host headers, unknown and long queries."""

from __future__ import annotations

import httpx
import pytest

from techcorp_server.core.pagination import _cached_link_header
from techcorp_server.products.routes import cached_list_query

from ..utils.api import bearer, client_token


@pytest.mark.parametrize("host", ["[", "[x]", "a]", "exa mple.com"])
async def test_odd_host_gives_relative_links(
    inprocess_client: httpx.AsyncClient, host: str
) -> None:
    admin_token = await client_token(inprocess_client)
    for path in ("/v2/products", "/v2/users", "/v2/clients"):
        response = await inprocess_client.get(
            path, headers={**bearer(admin_token), "Host": host}
        )

        assert response.status_code == 200, response.text
        assert response.headers["link"].startswith(f"<{path}?page=1")


async def test_unknown_parameters_left_out(
    api: httpx.AsyncClient, admin_token: str
) -> None:
    response = await api.get(
        "/v2/products?category=books&utm_source=mail&limit=5",
        headers=bearer(admin_token),
    )

    assert response.status_code == 200
    assert "category=books" in response.headers["link"]
    assert "utm_source" not in response.headers["link"]


async def test_long_query_skips_caches(inprocess_client: httpx.AsyncClient) -> None:
    # The caches live in this process, so only the in-process app shows them.
    api = inprocess_client
    admin_token = await client_token(api)
    links_before = _cached_link_header.cache_info().currsize
    queries_before = cached_list_query.cache_info().currsize
    for number in range(5):
        padding = "a" * 5000
        response = await api.get(
            f"/v2/products?n={number}&x={padding}", headers=bearer(admin_token)
        )
        assert response.status_code == 200
        assert len(response.headers["link"]) < 1000

    assert cached_list_query.cache_info().currsize == queries_before
    assert _cached_link_header.cache_info().currsize == links_before


async def test_long_hosts_share_one_cache_entry(
    inprocess_client: httpx.AsyncClient,
) -> None:
    # Granian accepts Host headers of hundreds of kilobytes (one of 400 KB
    # was served in a trial). In the cache keys, a few thousand would fill memory.
    api = inprocess_client
    admin_token = await client_token(api)
    await api.get("/v2/products?limit=3", headers=bearer(admin_token))
    links_before = _cached_link_header.cache_info().currsize
    for number in range(5):
        host = f"{number}-" + "a" * 5000
        response = await api.get(
            "/v2/products?limit=3", headers={**bearer(admin_token), "Host": host}
        )
        assert response.status_code == 200
        assert response.headers["link"].startswith("</v2/products?page=1&limit=3>")

    assert _cached_link_header.cache_info().currsize <= links_before + 1
