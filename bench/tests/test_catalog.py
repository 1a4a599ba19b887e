import json
import sqlite3
from pathlib import Path

import pytest

import catalog
from catalog import CatalogError, parse_client, plain_env, server_env


def test_parse_client_reads_json() -> None:
    output = '{"client_id": "cli_01JD", "client_secret": "cs_abc"}\n'

    assert parse_client(output) == ("cli_01JD", "cs_abc")


@pytest.mark.parametrize(
    "output",
    ["client_id: cli_01JD\n", '{"client_id": "cli_01JD"}', "[]"],
)
def test_parse_client_rejects_other_output(output: str) -> None:
    with pytest.raises(CatalogError, match="Expected a JSON client"):
        parse_client(output)


def test_plain_env_drops_techcorp_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TECHCORP_LIST_CACHE_ENTRIES", "7")
    monkeypatch.setenv("BENCH_UNRELATED", "kept")

    env = plain_env(EXTRA="added")

    assert "TECHCORP_LIST_CACHE_ENTRIES" not in env
    assert env["BENCH_UNRELATED"] == "kept"
    assert env["EXTRA"] == "added"


def test_server_env_turns_cache_off(tmp_path: Path) -> None:
    env = server_env(tmp_path, list_cache_entries=0)

    assert env["TECHCORP_LIST_CACHE_ENTRIES"] == "0"
    assert env["TECHCORP_LOG_LEVEL"] == "warning"
    assert env["TECHCORP_DATABASE_URL"] == f"sqlite:///{tmp_path}/techcorp.db"


def test_reused_catalog_is_migrated(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(catalog, "RESULTS", tmp_path)
    folder = tmp_path / "catalog-3"
    folder.mkdir()
    credentials = {"client_id": "cli_old", "client_secret": "cs_old"}
    (folder / "client.json").write_text(json.dumps(credentials))
    sqlite3.connect(folder / "techcorp.db").close()

    reused = catalog.prepare_catalog(3)

    with sqlite3.connect(folder / "techcorp.db") as connection:
        rows = connection.execute("SELECT name FROM sqlite_master WHERE type='table'")
        tables = {name for (name,) in rows}
    assert reused.client_id == "cli_old"
    assert "webhook_endpoints" in tables
