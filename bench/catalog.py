"""The benchmark's SQLite catalog: built once per product count, then reused.

A catalog is a folder under bench/results/ holding the database and the
credentials of an admin API client. `client.json` is written last, so a
folder without it is an interrupted build and is built again.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

RESULTS = Path(__file__).resolve().parent / "results"
CLI = Path(sys.executable).parent / "techcorp-server"
CLIENT_EMAIL = "bench@example.com"
DEMO_SEED = 0

RATE_LIMIT_PER_MINUTE = 1_000_000_000
"""High enough that no run is limited, so each request pays for the limiter's
bookkeeping but none is rejected."""


class CatalogError(RuntimeError):
    """The catalog could not be built with the `techcorp-server` CLI."""


@dataclass(frozen=True)
class Catalog:
    folder: Path
    products: int
    client_id: str
    client_secret: str


def database_url(folder: Path) -> str:
    return f"sqlite:///{folder / 'techcorp.db'}"


def plain_env(**extra: str) -> dict[str, str]:
    """Copy this process's environment without TECHCORP_ settings, plus `extra`.

    Settings left in the caller's shell would otherwise change what is measured.
    """
    env = {
        name: value
        for name, value in os.environ.items()
        if not name.startswith("TECHCORP_")
    }
    env.update(extra)
    return env


def server_env(
    folder: Path, list_cache_entries: int | None = None, log_level: str = "warning"
) -> dict[str, str]:
    """Build the environment of an API server or CLI command on a catalog.

    At the default `warning` level the access log is off; `info` turns it on.
    """
    env = plain_env(
        TECHCORP_DATABASE_URL=database_url(folder),
        TECHCORP_LOG_LEVEL=log_level,
        TECHCORP_RATE_LIMIT_PER_MINUTE=str(RATE_LIMIT_PER_MINUTE),
        TECHCORP_WORKERS="1",
    )
    if list_cache_entries is not None:
        env["TECHCORP_LIST_CACHE_ENTRIES"] = str(list_cache_entries)
    return env


def _run_cli(arguments: list[str], folder: Path) -> str:
    command = [str(CLI), *arguments]
    completed = subprocess.run(  # noqa: S603
        command, env=server_env(folder), capture_output=True, text=True, check=False
    )
    if completed.returncode != 0:
        raise CatalogError(
            f"'{' '.join(command[1:])}' exited with status {completed.returncode}:"
            f"\n{completed.stderr or completed.stdout}"
        )
    return completed.stdout


def parse_client(output: str) -> tuple[str, str]:
    """Read the id and secret from `techcorp-server clients create --json`."""
    try:
        created = json.loads(output)
        return str(created["client_id"]), str(created["client_secret"])
    except (ValueError, TypeError, KeyError) as exc:
        raise CatalogError(
            f"Expected a JSON client, got this output:\n{output}"
        ) from exc


def _build(folder: Path, products: int) -> Catalog:
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    print(f"Building a catalog of {products:,} products in {folder}")
    _run_cli(["demo-data", f"--products={products}", f"--seed={DEMO_SEED}"], folder)
    output = _run_cli(
        ["clients", "create", f"--email={CLIENT_EMAIL}", "--role=admin", "--json"],
        folder,
    )
    client_id, client_secret = parse_client(output)

    credentials = {"client_id": client_id, "client_secret": client_secret}
    (folder / "client.json").write_text(json.dumps(credentials))
    return Catalog(folder, products, client_id, client_secret)


def prepare_catalog(products: int, *, rebuild: bool = False) -> Catalog:
    """Return the catalog of `products` products, building it if needed."""
    folder = RESULTS / f"catalog-{products}"
    credentials_file = folder / "client.json"
    if rebuild or not credentials_file.exists():
        return _build(folder, products)

    print(f"Reusing the catalog in {folder}")
    # A catalog built by an older checkout lacks the tables added since.
    _run_cli(["migrate"], folder)
    credentials = json.loads(credentials_file.read_text())
    return Catalog(
        folder, products, credentials["client_id"], credentials["client_secret"]
    )
