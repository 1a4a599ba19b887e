"""Changes recorded by the services reach listeners in and after the transaction."""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from decimal import Decimal
from pathlib import Path

import pytest
from sqlalchemy import func, select, text
from sqlalchemy.ext.asyncio import AsyncSession

from techcorp_server.auth.principal import Principal
from techcorp_server.auth.service import AuthService
from techcorp_server.core.changes import Change, ChangeListener, ChangeLog
from techcorp_server.core.db import Database
from techcorp_server.core.migrate import upgrade_to_head
from techcorp_server.products.models import Product
from techcorp_server.products.schemas import ProductCreate, ProductUpdate
from techcorp_server.products.service import ProductCatalog
from techcorp_server.settings import Settings
from techcorp_server.users.schemas import UserUpdate
from techcorp_server.users.service import UserService


class Recorder(ChangeListener):
    def __init__(self) -> None:
        self.seen_in_transaction: list[Change] = []
        self.committed_changes: list[Change] = []
        self.rows_seen_in_transaction: list[int] = []

    async def in_transaction(
        self, session: AsyncSession, changes: Sequence[Change]
    ) -> None:
        self.seen_in_transaction.extend(changes)
        count = select(func.count()).select_from(Product)
        self.rows_seen_in_transaction.append(await session.scalar(count) or 0)

    def committed(self, changes: Sequence[Change]) -> None:
        self.committed_changes.extend(changes)


class Rejecting(ChangeListener):
    async def in_transaction(
        self, session: AsyncSession, changes: Sequence[Change]
    ) -> None:
        raise RuntimeError("rejected")


class Broken(ChangeListener):
    def committed(self, changes: Sequence[Change]) -> None:
        raise RuntimeError("broken after commit")


@pytest.fixture
async def database(tmp_path: Path) -> AsyncIterator[Database]:
    database = Database(f"sqlite+aiosqlite:///{tmp_path / 'changes.db'}")
    await upgrade_to_head(database)
    yield database
    await database.dispose()


def lamp(price: str = "19.99") -> ProductCreate:
    return ProductCreate.model_validate(
        {"name": "Desk Lamp", "price": Decimal(price), "category": "Home"}
    )


async def product_count(database: Database) -> int:
    async with database.read() as session:
        return await session.scalar(text("SELECT count(*) FROM products")) or 0


async def test_product_writes_reach_listeners_in_order(database: Database) -> None:
    changes = ChangeLog(database)
    recorder = Recorder()
    changes.subscribe(recorder)
    catalog = ProductCatalog(database, cache_entries=8, changes=changes)

    product = await catalog.create(lamp())
    await catalog.update(
        product["id"], ProductUpdate.model_validate({"price": Decimal("24.50")})
    )
    await catalog.delete(product["id"])

    types = [change.type for change in recorder.committed_changes]
    assert types == ["product.created", "product.updated", "product.deleted"]
    assert recorder.seen_in_transaction == recorder.committed_changes
    # The listener ran inside each transaction, so it saw the row it follows.
    assert recorder.rows_seen_in_transaction == [1, 1, 0]

    updated = recorder.committed_changes[1]
    assert updated.previous is not None
    assert updated.previous["price"] == 19.99
    assert updated.data["price"] == 24.5
    assert updated.resource == "product"
    assert updated.action == "updated"


async def test_listener_error_rolls_back_change(
    database: Database,
) -> None:
    changes = ChangeLog(database)
    recorder = Recorder()
    changes.subscribe(Rejecting())
    changes.subscribe(recorder)
    catalog = ProductCatalog(database, cache_entries=8, changes=changes)

    with pytest.raises(RuntimeError, match="rejected"):
        await catalog.create(lamp())

    assert await product_count(database) == 0
    assert recorder.committed_changes == []


async def test_error_after_commit_keeps_change(
    database: Database, caplog: pytest.LogCaptureFixture
) -> None:
    changes = ChangeLog(database)
    recorder = Recorder()
    changes.subscribe(Broken())
    changes.subscribe(recorder)
    catalog = ProductCatalog(database, cache_entries=8, changes=changes)

    await catalog.create(lamp())

    assert await product_count(database) == 1
    assert [change.type for change in recorder.committed_changes] == ["product.created"]
    assert "a change listener failed" in caplog.text


async def test_failed_write_records_nothing(database: Database) -> None:
    changes = ChangeLog(database)
    recorder = Recorder()
    changes.subscribe(recorder)
    catalog = ProductCatalog(database, cache_entries=8, changes=changes)

    with pytest.raises(Exception, match="No product"):
        await catalog.delete("prd_missing")

    assert recorder.seen_in_transaction == []
    assert recorder.committed_changes == []


async def test_user_writes_reach_listeners(database: Database) -> None:
    auth = AuthService(Settings(database_url=database.url), database)
    await auth.start()
    changes = ChangeLog(database)
    recorder = Recorder()
    changes.subscribe(recorder)
    users = UserService(database, auth, changes)

    user = await users.create(
        email="ada@example.com", password="pw-12345678", role="member"
    )
    admin = Principal(user_id="usr_admin", role="admin")
    unchanged = UserUpdate.model_validate({"role": "member"})
    await users.update(admin, user["id"], unchanged)
    renamed = UserUpdate.model_validate({"email": "ada@example.org"})
    await users.update(admin, user["id"], renamed)
    await users.delete(admin, user["id"])

    types = [change.type for change in recorder.committed_changes]
    # Sending back an unchanged role is no change.
    assert types == ["user.created", "user.updated", "user.deleted"]
    updated = recorder.committed_changes[1]
    assert updated.previous is not None
    assert updated.previous["email"] == "ada@example.com"
    assert updated.data["email"] == "ada@example.org"
    assert "password_hash" not in updated.data
