"""search terms and postings on PostgreSQL

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-04

On PostgreSQL only: the `pg_trgm` extension, the tables that
`search/postgres.py` searches, and their rows for every product and user
already stored. SQLite searches an index in memory and gets nothing here.

`CREATE EXTENSION` needs a superuser (or a role trusted to create it). A
deployment whose role is not one has a superuser run
`CREATE EXTENSION pg_trgm;` once in the database before the upgrade.
"""

from collections.abc import Iterable, Sequence
from typing import Any

from alembic import op
from sqlalchemy import text

from techcorp_server.search.documents import product_row_document, user_document
from techcorp_server.search.index import Document
from techcorp_server.search.postgres import document_postings, posting_statements

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

BATCH_ROWS = 5_000
"""Rows read and indexed at a time while existing rows are backfilled."""

SCHEMA = (
    "CREATE EXTENSION IF NOT EXISTS pg_trgm",
    """
    CREATE TABLE search_terms (
      document_type varchar(16) NOT NULL,
      term varchar(40) NOT NULL,
      postings integer NOT NULL,
      CONSTRAINT pk_search_terms PRIMARY KEY (document_type, term)
    )
    """,
    # Prefixes of the last query word are byte ranges of this index.
    "CREATE INDEX ix_search_terms_prefix "
    "ON search_terms (document_type, term text_pattern_ops)",
    "CREATE INDEX ix_search_terms_trigrams ON search_terms USING gin "
    "(term gin_trgm_ops)",
    """
    CREATE TABLE search_postings (
      document_type varchar(16) NOT NULL,
      term varchar(40) NOT NULL,
      field smallint NOT NULL,
      document_id varchar(40) NOT NULL,
      CONSTRAINT pk_search_postings
        PRIMARY KEY (document_type, term, document_id, field)
    )
    """,
)


def upgrade() -> None:
    connection = op.get_bind()
    if connection.dialect.name != "postgresql":
        return
    for statement in SCHEMA:
        op.execute(statement)
    _backfill(
        "product",
        "SELECT id, name, category, description, price_cents FROM products",
        product_row_document,
    )
    _backfill("user", "SELECT id, email FROM users", user_document)
    op.execute("ANALYZE search_terms")
    op.execute("ANALYZE search_postings")


def _backfill(document_type: str, query: str, document: Any) -> None:
    # Batches by id, so that no cursor stays open while postings are written.
    connection = op.get_bind()
    batch_query = text(f"{query} WHERE id > :after ORDER BY id LIMIT {BATCH_ROWS}")
    after = ""
    while batch := connection.execute(batch_query, {"after": after}).mappings().all():
        _index(document_type, map(document, batch))
        after = batch[-1]["id"]


def _index(document_type: str, documents: Iterable[Document]) -> None:
    connection = op.get_bind()
    added = set().union(*map(document_postings, documents))
    for statement, parameters in posting_statements(document_type, added, ()):
        connection.execute(statement, parameters)


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute("DROP TABLE search_postings")
    op.execute("DROP TABLE search_terms")
