"""Loading a generated catalog and demo users into a real SQLite file."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from decimal import Decimal
from pathlib import Path

import pytest

from techcorp_server.app import Services, build_services
from techcorp_server.demo.catalog import generate_products
from techcorp_server.demo.loader import (
    CHUNK_ROWS,
    DEMO_PASSWORD,
    count_products,
    create_demo_users,
    demo_emails,
    load_products,
)
from techcorp_server.settings import Settings

LOAD_ROWS = 25_000
# The load takes about 1 s on a shared 2-core machine. Committing row by row
# would take tens of seconds (an estimate), which this bound catches.
LOAD_BOUND_SECONDS = 20.0


@pytest.fixture
async def services(tmp_path: Path) -> AsyncIterator[Services]:
    settings = Settings(database_url=f"sqlite:///{tmp_path / 'demo.db'}")
    services = build_services(settings)
    await services.start()
    yield services
    await services.stop()


async def test_load_products_in_chunks(services: Services) -> None:
    chunks: list[int] = []
    started = time.perf_counter()

    added = await load_products(
        services.database,
        generate_products(LOAD_ROWS, seed=1),
        on_progress=chunks.append,
    )

    elapsed = time.perf_counter() - started
    assert added == LOAD_ROWS
    assert await count_products(services.database) == LOAD_ROWS
    assert chunks == [CHUNK_ROWS, CHUNK_ROWS, LOAD_ROWS - 2 * CHUNK_ROWS]
    assert elapsed < LOAD_BOUND_SECONDS


async def test_loaded_products_served_exactly(services: Services) -> None:
    products = list(generate_products(30, seed=2))
    await load_products(services.database, products)

    first = await services.catalog.get(products[0]["id"])

    assert first["name"] == products[0]["name"]
    assert first["category"] == products[0]["category"]
    assert Decimal(str(first["price"])) * 100 == products[0]["price_cents"]


async def test_demo_users_created_once(services: Services) -> None:
    first = await create_demo_users(services.users, 3, seed=5)
    second = await create_demo_users(services.users, 3, seed=5)

    assert [user.email for user in first] == [user.email for user in second]
    assert [user.created for user in first] == [True, True, True]
    assert [user.created for user in second] == [False, False, False]
    token = await services.auth.token_for_user("member@example.com", DEMO_PASSWORD)
    assert token["token_type"] == "Bearer"


def test_demo_emails_start_with_fixed_accounts() -> None:
    accounts = demo_emails(50, seed=9)

    assert accounts[:2] == [
        ("admin@example.com", "admin"),
        ("member@example.com", "member"),
    ]
    emails = [email for email, _ in accounts]
    assert len(set(emails)) == 50
    assert all(email.endswith("@example.com") for email in emails)
    assert {role for _, role in accounts[2:]} == {"member"}
    assert demo_emails(1, seed=9) == [("admin@example.com", "admin")]
