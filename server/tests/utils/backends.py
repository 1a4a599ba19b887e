"""The database and Redis that the servers under test use.

By default every server gets a SQLite file of its own and counts its rate
limit in memory. With `TECHCORP_TEST_BACKENDS=postgresql,redis` the same
tests run against a PostgreSQL and a Redis server started here on loopback:
each server under test gets an empty database of its own and a Redis
database number of its own, so no two servers share data or counts.
"""

from __future__ import annotations

import atexit
import os
from pathlib import Path

from .postgres_server import PostgresServer
from .redis_server import RedisServer

NAMES = frozenset(
    name.strip()
    for name in os.environ.get("TECHCORP_TEST_BACKENDS", "").split(",")
    if name.strip()
)
UNKNOWN = NAMES - {"postgresql", "redis"}
if UNKNOWN:
    raise RuntimeError(
        f"TECHCORP_TEST_BACKENDS names unknown backends {sorted(UNKNOWN)}; "
        "use postgresql, redis or both."
    )

USES_POSTGRESQL = "postgresql" in NAMES
USES_REDIS = "redis" in NAMES

_postgres: PostgresServer | None = None
_redis: RedisServer | None = None
_redis_databases = 0


def _postgres_server() -> PostgresServer:
    global _postgres
    if _postgres is None:
        _postgres = PostgresServer()
        _postgres.start()
        atexit.register(_postgres.stop)
    return _postgres


def _redis_server(data_dir: Path) -> RedisServer:
    global _redis
    if _redis is None:
        _redis = RedisServer(data_dir, databases=10_000)
        _redis.start()
        atexit.register(_redis.stop)
    return _redis


def database_url(data_dir: Path) -> str:
    """Return a fresh database for one server under test."""
    if USES_POSTGRESQL:
        return postgresql_database_url()
    return f"sqlite:///{data_dir / 'techcorp.db'}"


def postgresql_database_url() -> str:
    """Return a fresh PostgreSQL database, whichever backends the run selected."""
    return _postgres_server().create_database()


def redis_url(data_dir: Path) -> str | None:
    """Return an empty Redis database for one server, or None to count in memory."""
    global _redis_databases
    if not USES_REDIS:
        return None
    server = _redis_server(data_dir)
    _redis_databases += 1
    return f"redis://127.0.0.1:{server.port}/{_redis_databases}"


def backend_env(data_dir: Path) -> dict[str, str]:
    """Return the environment variables that select the backends."""
    env = {"TECHCORP_DATABASE_URL": database_url(data_dir)}
    url = redis_url(data_dir)
    if url is not None:
        env["TECHCORP_REDIS_URL"] = url
    return env
