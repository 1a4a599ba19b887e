"""The Alembic migrations build exactly the schema the models describe."""

from __future__ import annotations

from pathlib import Path

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from techcorp_server.core.db import Database
from techcorp_server.core.migrate import upgrade_to_head
from techcorp_server.models import metadata


async def test_migrations_match_models(tmp_path: Path) -> None:
    database = Database(f"sqlite+aiosqlite:///{tmp_path / 'schema.db'}")
    await upgrade_to_head(database)

    async with database.engine.connect() as connection:
        differences = await connection.run_sync(
            lambda sync: compare_metadata(MigrationContext.configure(sync), metadata)
        )
    await database.dispose()

    assert differences == []
