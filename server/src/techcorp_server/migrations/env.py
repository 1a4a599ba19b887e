"""Alembic environment: migrations run on a connection the server provides."""

from __future__ import annotations

from alembic import context

from techcorp_server.models import metadata

connection = context.config.attributes.get("connection")
if connection is None:
    raise RuntimeError(
        "Run migrations with 'techcorp-server migrate'; it supplies the "
        "database connection."
    )

context.configure(
    connection=connection,
    target_metadata=metadata,
    render_as_batch=connection.dialect.name == "sqlite",
    compare_type=True,
)
with context.begin_transaction():
    context.run_migrations()
