"""The setting that chooses where searches run."""

from __future__ import annotations

from pathlib import Path

import pytest

from techcorp_server.settings import Settings

from ..cli.conftest import CommandLine

POSTGRES_URL = "postgresql://techcorp@127.0.0.1:5432/techcorp"


@pytest.mark.parametrize(
    ("database_url", "chosen", "expected"),
    [
        ("sqlite:///./techcorp.db", None, "memory"),
        (POSTGRES_URL, None, "postgresql"),
        (POSTGRES_URL, "memory", "memory"),
    ],
)
def test_default_backend_follows_database(
    database_url: str, chosen: str | None, expected: str
) -> None:
    settings = Settings.model_validate(
        {"database_url": database_url, "search_backend": chosen}
    )

    assert settings.search_engine == expected


def test_postgresql_backend_on_sqlite_rejected(tmp_path: Path) -> None:
    cli = CommandLine(tmp_path)

    result = cli.run("serve", env={"TECHCORP_SEARCH_BACKEND": "postgresql"})

    assert result.returncode == 2
    assert "TECHCORP_SEARCH_BACKEND" in result.stderr
    assert "needs a PostgreSQL TECHCORP_DATABASE_URL" in result.stderr
    assert not cli.database_path.exists()
