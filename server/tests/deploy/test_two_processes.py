"""Two server processes on one database see each other's writes.

The caches are set to keep entries for a minute, so only the change feed
can bring the second process up to date within the few seconds allowed.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator

import httpx
import pytest

from ..conftest import server_env
from ..utils.api import ADMIN_CLIENT_ID, ADMIN_CLIENT_SECRET, bearer, unique_email
from ..utils.backends import database_url
from ..utils.server import ServerProcess

DEADLINE_SECONDS = 3.0


@pytest.fixture(scope="module")
def processes(
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[list[ServerProcess]]:
    folder = tmp_path_factory.mktemp("two-processes")
    env = {
        **server_env(),
        "TECHCORP_DATABASE_URL": database_url(folder),
        "TECHCORP_AUTH_CACHE_SECONDS": "60",
        "TECHCORP_LIST_CACHE_SECONDS": "60",
    }
    started = []
    try:
        for number in range(2):
            process_folder = folder / f"process-{number}"
            process_folder.mkdir()
            process = ServerProcess(process_folder, env)
            process.start()
            started.append(process)
        yield started
    finally:
        for process in started:
            process.stop()


def admin_token(client: httpx.Client) -> str:
    response = client.post(
        "/v2/auth/token",
        json={"client_id": ADMIN_CLIENT_ID, "client_secret": ADMIN_CLIENT_SECRET},
    )
    token: str = response.json()["access_token"]
    return token


def eventually(check: Callable[[], bool]) -> float:
    """Return the seconds until `check` passed; fail after the deadline."""
    started = time.monotonic()
    while not check():
        if time.monotonic() - started > DEADLINE_SECONDS:
            pytest.fail(f"not true within {DEADLINE_SECONDS} s")
        time.sleep(0.05)
    return time.monotonic() - started


def test_product_written_on_one_listed_on_other(
    processes: list[ServerProcess],
) -> None:
    first, second = (httpx.Client(base_url=p.base_url) for p in processes)
    with first, second:
        token = admin_token(first)
        # Fill the second process's list cache before the write.
        before = second.get("/v2/products", headers=bearer(token)).json()["total"]
        product = {"name": "Quartz Harmonica", "price": 42.5, "category": "music"}
        created = first.post("/v2/products", json=product, headers=bearer(token))
        product_id = created.json()["id"]

        def listed() -> bool:
            page = second.get("/v2/products", headers=bearer(token)).json()
            return page["total"] == before + 1 and page["data"][0]["id"] == product_id

        def found() -> bool:
            hits = second.get(
                "/v2/search", params={"q": "quartz harmonica"}, headers=bearer(token)
            ).json()["data"]
            return any(hit["item"]["id"] == product_id for hit in hits)

        eventually(listed)
        eventually(found)


def test_role_change_on_one_applies_on_other(
    processes: list[ServerProcess],
) -> None:
    first, second = (httpx.Client(base_url=p.base_url) for p in processes)
    with first, second:
        token = admin_token(first)
        email = unique_email("promoted")
        user = first.post(
            "/v2/users",
            json={"email": email, "password": "Promoted-123456", "role": "member"},
            headers=bearer(token),
        ).json()
        member_token = second.post(
            "/v2/auth/token", json={"email": email, "password": "Promoted-123456"}
        ).json()["access_token"]
        product = {"name": "Tin Whistle", "price": 9.5, "category": "music"}
        refused = second.post(
            "/v2/products", json=product, headers=bearer(member_token)
        )

        first.put(
            f"/v2/users/{user['id']}",
            json={"email": email, "role": "admin"},
            headers=bearer(token),
        )

        def allowed() -> bool:
            response = second.post(
                "/v2/products", json=product, headers=bearer(member_token)
            )
            return response.status_code == 201

        assert refused.status_code == 403
        eventually(allowed)
