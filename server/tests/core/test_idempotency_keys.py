"""Every idempotent POST stores its response in the transaction of its effect."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from asgi_lifespan import LifespanManager
from sqlalchemy import event, text
from sqlalchemy.engine import Connection
from starlette.types import ASGIApp

from techcorp_server.app import create_app
from techcorp_server.core import idempotency
from techcorp_server.core.db import Database
from techcorp_server.core.idempotency import IdempotencyStore

from ..conftest import app_settings
from ..utils.api import bearer, client_token, create_user, unique_email

CONCURRENT_REQUESTS = 20


@dataclass
class Call:
    """One idempotent request, and how to count the objects it creates."""

    path: str
    body: dict[str, Any] | None
    token: str
    count_sql: str
    count_params: dict[str, str]


Prepare = Callable[[httpx.AsyncClient, str], Awaitable[Call]]


async def user_call(api: httpx.AsyncClient, admin_token: str) -> Call:
    email = unique_email("idempotent")
    return Call(
        "/v2/users",
        {"email": email, "password": "correct-horse-battery", "role": "member"},
        admin_token,
        "SELECT count(*) FROM users WHERE email = :email",
        {"email": email},
    )


async def product_call(api: httpx.AsyncClient, admin_token: str) -> Call:
    category = f"idempotent-{uuid.uuid4().hex[:8]}"
    return Call(
        "/v2/products",
        {"name": "Once Only", "price": 2.5, "category": category},
        admin_token,
        "SELECT count(*) FROM products WHERE category = :category",
        {"category": category},
    )


async def payment_call(api: httpx.AsyncClient, admin_token: str) -> Call:
    product = await api.post(
        "/v2/products",
        json={"name": "Paid Once", "price": 4, "category": "idempotent"},
        headers=bearer(admin_token),
    )
    member = await create_user(api, admin_token)
    return Call(
        "/v2/payments",
        {"product_id": product.json()["id"], "payment_method": "pm_card_visa"},
        member["token"],
        "SELECT count(*) FROM payments WHERE user_id = :user_id",
        {"user_id": member["id"]},
    )


async def webhook_call(api: httpx.AsyncClient, admin_token: str) -> Call:
    url = f"http://127.0.0.1:9/hooks/{uuid.uuid4().hex}"
    return Call(
        "/v2/webhooks",
        {"url": url, "events": ["*"]},
        admin_token,
        "SELECT count(*) FROM webhook_endpoints WHERE url = :url",
        {"url": url},
    )


async def new_webhook(api: httpx.AsyncClient, admin_token: str) -> str:
    call = await webhook_call(api, admin_token)
    response = await api.post(call.path, json=call.body, headers=bearer(admin_token))
    assert response.status_code == 201, response.text
    webhook_id: str = response.json()["id"]
    return webhook_id


async def webhook_test_call(api: httpx.AsyncClient, admin_token: str) -> Call:
    webhook_id = await new_webhook(api, admin_token)
    return Call(
        f"/v2/webhooks/{webhook_id}/test",
        None,
        admin_token,
        "SELECT count(*) FROM webhook_deliveries WHERE endpoint_id = :webhook_id",
        {"webhook_id": webhook_id},
    )


async def redeliver_call(api: httpx.AsyncClient, admin_token: str) -> Call:
    webhook_id = await new_webhook(api, admin_token)
    sent = await api.post(
        f"/v2/webhooks/{webhook_id}/test", headers=bearer(admin_token)
    )
    assert sent.status_code == 202, sent.text
    return Call(
        f"/v2/webhooks/{webhook_id}/deliveries/{sent.json()['id']}/redeliver",
        None,
        admin_token,
        "SELECT count(*) FROM webhook_deliveries WHERE endpoint_id = :webhook_id",
        {"webhook_id": webhook_id},
    )


OPERATIONS: dict[str, Prepare] = {
    "users": user_call,
    "products": product_call,
    "payments": payment_call,
    "webhooks": webhook_call,
    "webhook_test": webhook_test_call,
    "redeliver": redeliver_call,
}


class ProcessCrashed(Exception):
    """Stands in for the server process dying at the point it is raised."""


@dataclass
class InProcess:
    api: httpx.AsyncClient
    database: Database
    admin_token: str

    async def count(self, call: Call) -> int:
        async with self.database.read() as session:
            count = await session.scalar(text(call.count_sql), call.count_params)
        return int(count or 0)

    async def post(self, call: Call, key: str) -> httpx.Response:
        headers = {**bearer(call.token), "Idempotency-Key": key}
        return await self.api.post(call.path, json=call.body, headers=headers)


@pytest.fixture
async def server(tmp_path: Path) -> AsyncIterator[InProcess]:
    """An in-process server whose unhandled errors become 500 responses."""
    app: ASGIApp = create_app(app_settings(tmp_path, webhook_allow_private=True))
    async with LifespanManager(app) as manager:
        transport = httpx.ASGITransport(
            app=manager.app, client=("127.0.0.1", 50003), raise_app_exceptions=False
        )
        async with httpx.AsyncClient(
            transport=transport, base_url="http://testserver"
        ) as api:
            database = app_database(app)
            yield InProcess(api, database, await client_token(api))


def app_database(app: ASGIApp) -> Database:
    """Return the server's `Database`, from the Starlette app inside the
    middleware."""
    while not hasattr(app, "state"):
        app = app.app  # type: ignore[attr-defined]
    database: Database = app.state.database
    return database


@pytest.mark.parametrize("operation", OPERATIONS)
async def test_crash_after_commit_replays_response(
    server: InProcess, operation: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    call = await OPERATIONS[operation](server.api, server.admin_token)
    key = str(uuid.uuid4())
    before = await server.count(call)

    async def crash(self: IdempotencyStore, *args: object) -> None:
        raise ProcessCrashed

    # The process dies once the effect has committed, before the request
    # finishes with its key, and the key's lock has run out when the client
    # retries.
    monkeypatch.setattr(IdempotencyStore, "complete", crash)
    monkeypatch.setattr(idempotency, "LOCK_SECONDS", 0.0)
    crashed = await server.post(call, key)
    monkeypatch.undo()
    retried = await server.post(call, key)

    assert crashed.status_code == 500
    assert retried.status_code in (201, 202), retried.text
    assert retried.headers.get("idempotent-replayed") == "true"
    assert await server.count(call) == before + 1


@pytest.mark.parametrize("operation", OPERATIONS)
async def test_concurrent_posts_create_one(server: InProcess, operation: str) -> None:
    call = await OPERATIONS[operation](server.api, server.admin_token)
    key = str(uuid.uuid4())
    before = await server.count(call)

    responses = await asyncio.gather(
        *(server.post(call, key) for _ in range(CONCURRENT_REQUESTS))
    )

    statuses = {response.status_code for response in responses}
    assert len(statuses) == 1, [response.text for response in responses]
    assert statuses <= {201, 202}
    assert len({response.content for response in responses}) == 1
    replayed = [r for r in responses if r.headers.get("idempotent-replayed")]
    assert len(replayed) == CONCURRENT_REQUESTS - 1
    assert await server.count(call) == before + 1


@pytest.mark.parametrize("operation", OPERATIONS)
async def test_response_commits_with_effect(server: InProcess, operation: str) -> None:
    """Inspect every commit: the first that contains the new object also
    contains the key's response."""
    call = await OPERATIONS[operation](server.api, server.admin_token)
    key = str(uuid.uuid4())
    before = await server.count(call)
    commits: list[tuple[int, int]] = []

    def before_commit(connection: Connection) -> None:
        objects = connection.execute(text(call.count_sql), call.count_params)
        stored = connection.execute(
            text(
                "SELECT count(*) FROM idempotency_keys "
                "WHERE key = :key AND status_code IS NOT NULL"
            ),
            {"key": key},
        )
        commits.append((objects.scalar_one(), stored.scalar_one()))

    engine = server.database.write_engine.sync_engine
    event.listen(engine, "commit", before_commit)
    try:
        response = await server.post(call, key)
    finally:
        event.remove(engine, "commit", before_commit)

    assert response.status_code in (201, 202), response.text
    stored_with_effect = [stored for count, stored in commits if count > before]
    assert stored_with_effect, commits
    assert stored_with_effect[0] == 1
