"""Writing a demo catalog and demo users into a database.

Products go in with SQLAlchemy Core `executemany`, a chunk of rows per write
transaction, so a million rows load in minutes without holding the SQLite
write lock for the whole load.
"""

from __future__ import annotations

import itertools
import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from faker import Faker
from sqlalchemy import func, insert, select

from ..core.db import Database
from ..core.errors import ConflictError
from ..products.models import Product
from ..search.documents import product_row_document
from ..search.postgres import add_documents
from ..users.service import UserService
from .catalog import ProductRow

logger = logging.getLogger(__name__)

CHUNK_ROWS = 10_000
"""Rows per `executemany` and per write transaction."""

DEMO_PASSWORD = "SecurePassword123!"  # noqa: S105
"""The password of every demo user; demo data is for trying the API only."""

DEMO_ADMIN_EMAIL = "admin@example.com"
DEMO_MEMBER_EMAIL = "member@example.com"

ProgressCallback = Callable[[int], None]
"""Called after each committed chunk with the number of rows it added."""


@dataclass(frozen=True)
class DemoUser:
    email: str
    role: str
    created: bool
    """Whether this run created the user, rather than finding it already there."""


async def count_products(database: Database) -> int:
    async with database.read() as session:
        total = await session.scalar(select(func.count()).select_from(Product))
    return total or 0


async def load_products(
    database: Database,
    products: Iterable[ProductRow],
    *,
    on_progress: ProgressCallback | None = None,
) -> int:
    """Insert products in chunks of `CHUNK_ROWS`; return how many were added."""
    added = 0
    rows = iter(products)
    while chunk := list(itertools.islice(rows, CHUNK_ROWS)):
        async with database.transaction() as session:
            connection = await session.connection()
            await connection.execute(insert(Product), chunk)
            if not database.is_sqlite:
                # On PostgreSQL the search reads postings, written with their rows.
                documents = map(product_row_document, chunk)
                await add_documents(session, "product", documents)
        added += len(chunk)
        if on_progress is not None:
            on_progress(len(chunk))
    logger.info("demo products loaded", extra={"products": added})
    return added


def demo_emails(count: int, seed: int) -> list[tuple[str, str]]:
    """Return `count` (email, role) pairs: the demo admin, the demo member, then
    members with generated names at example.com."""
    accounts = [(DEMO_ADMIN_EMAIL, "admin"), (DEMO_MEMBER_EMAIL, "member")]
    faker = Faker("en_US")
    faker.seed_instance(seed)
    taken = {email for email, _ in accounts}
    while len(accounts) < count:
        name = f"{faker.first_name()}.{faker.last_name()}".lower()
        email = "".join(char for char in name if char.isalnum() or char == ".")
        email += "@example.com"
        if email not in taken:
            taken.add(email)
            accounts.append((email, "member"))
    return accounts[:count]


async def create_demo_users(
    users: UserService, count: int, seed: int = 0
) -> list[DemoUser]:
    """Create the demo users, keeping any that already exist."""
    created = []
    for email, role in demo_emails(count, seed):
        try:
            await users.create(email=email, password=DEMO_PASSWORD, role=role)
        except ConflictError:
            created.append(DemoUser(email=email, role=role, created=False))
        else:
            created.append(DemoUser(email=email, role=role, created=True))
    return created
