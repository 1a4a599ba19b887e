"""Server settings, read from `TECHCORP_` environment variables.

This is the only module that reads the environment. The CLI turns its flags
into the same variables before the server starts, so a flag and a variable
always mean the same thing.
"""

from __future__ import annotations

import ipaddress
from functools import lru_cache
from typing import Annotated, Literal

from pydantic import Field, SecretStr, ValidationInfo, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network

MIN_JWT_SECRET_LENGTH = 32
"""HS256 keys shorter than the hash output (RFC 7518 section 3.2) are rejected."""


class Settings(BaseSettings):
    """Every tunable of the server, with its unit in the name."""

    model_config = SettingsConfigDict(env_prefix="TECHCORP_", extra="ignore")

    database_url: str = "sqlite+aiosqlite:///./techcorp.db"
    redis_url: str | None = None
    search_backend: Literal["memory", "postgresql"] | None = None
    """The search engine: `memory`, an index each process builds at start-up,
    or `postgresql`, tables that all processes share. Unset: `postgresql` on
    PostgreSQL, `memory` on SQLite."""

    jwt_secret: SecretStr | None = None
    token_ttl_seconds: int = Field(default=3600, ge=60, le=86400)
    auth_cache_seconds: float = Field(default=2.0, ge=0, le=60)
    """How long a user's role and a client's owner are cached in memory.

    Changes made through this process apply at once; changes made by another
    process (the CLI, a second server) apply within this many seconds.
    """

    rate_limit_per_minute: int = Field(default=100, ge=1)
    rate_limit_window_seconds: int = Field(default=60, ge=1, le=3600)
    trusted_proxies: Annotated[list[IPNetwork], NoDecode] = []

    webhook_allow_private: bool = False
    """Allow `http` and loopback webhook URLs, for local development and tests."""
    webhook_timeout_seconds: float = Field(default=10.0, gt=0, le=60)
    webhook_concurrency: int = Field(default=64, ge=1, le=1024)
    """Deliveries in flight at once in one server process."""
    webhook_connections_per_endpoint: int = Field(default=4, ge=1, le=64)
    """Open connections to one endpoint at most, so one slow receiver cannot
    hold every connection."""
    webhook_retry_base_seconds: float = Field(default=5.0, gt=0)
    """Delay before the first retry; each later retry waits twice as long."""
    webhook_retry_max_delay_seconds: float = Field(default=6 * 3600, gt=0)
    webhook_retry_window_seconds: float = Field(default=3 * 86400, gt=0)
    """How long a delivery is retried after its event, before it is given up."""
    webhook_disable_after_seconds: float = Field(default=5 * 86400, gt=0)
    """An endpoint that has failed every attempt for this long is disabled."""
    webhook_lease_seconds: float = Field(default=60.0, gt=0)
    """How long a claimed delivery is reserved for the process that claimed it.

    A process killed mid-delivery leaves its claims; they are retried once
    this lease runs out. It must exceed `webhook_timeout_seconds`.
    """
    webhook_poll_seconds: float = Field(default=1.0, gt=0)
    """How often the worker looks for due work when nothing woke it."""
    webhook_retention_seconds: float = Field(default=30 * 86400, gt=0)
    """How long events, finished deliveries and their attempts are kept."""
    idempotency_key_seconds: int = Field(default=86400, ge=60)
    """How long an `Idempotency-Key` and its stored response are kept."""

    bootstrap_client_id: str | None = None
    bootstrap_client_secret: SecretStr | None = None

    max_body_bytes: int = Field(default=1024 * 1024, ge=1024)
    body_read_timeout_seconds: float = Field(default=10.0, gt=0)

    cors_origins: Annotated[list[str], NoDecode] = []

    host: str = "127.0.0.1"
    port: int = Field(default=8000, ge=0, le=65535)
    workers: int = Field(default=1, ge=1)
    shutdown_timeout_seconds: int = Field(default=10, ge=1)

    log_level: Literal["debug", "info", "warning", "error"] = "info"
    log_format: Literal["auto", "json", "console"] = "auto"
    access_log: bool = True

    list_cache_entries: int = Field(default=2048, ge=0)
    """Product list pages kept in memory; 0 turns the cache off."""
    list_cache_seconds: float = Field(default=2.0, gt=0)
    """How long a cached list page is served before it is read again.

    Writes through this process clear the cache at once. Writes by another
    process (the CLI, a second server) show within twice this many seconds,
    because an expired page is still served while one request reads it again.
    """

    stream_ping_interval_seconds: float = Field(default=25.0, gt=0)
    """Seconds from the end of one `ping`'s reply window to the next `ping`."""
    stream_ping_timeout_seconds: float = Field(default=20.0, gt=0)
    """Seconds a stream client has to send any message after a `ping`."""
    stream_queue_size: int = Field(default=256, ge=1)
    """Messages waiting to be sent to one stream connection, at most; a
    connection that falls further behind is closed."""
    stream_history_size: int = Field(default=1000, ge=0)
    """Recent stream events kept in memory for clients that resume."""
    stream_close_timeout_seconds: float = Field(default=5.0, gt=0)
    """Seconds a closing stream connection may take to send its last messages."""
    stream_max_connections_per_user: int = Field(default=100, ge=1)
    """Stream connections one user may have open in this process at once."""
    simulate_market: bool = False
    """Move demo prices on a timer, so the stream has live market updates."""
    market_simulator_interval_seconds: float = Field(default=1.0, gt=0)
    market_simulator_products: int = Field(default=3, ge=1, le=1000)
    """Products whose price the simulator changes on each tick."""

    @field_validator("trusted_proxies", mode="before")
    @classmethod
    def _parse_networks(cls, value: object) -> object:
        if isinstance(value, str):
            items = [part.strip() for part in value.split(",") if part.strip()]
            return [ipaddress.ip_network(item, strict=False) for item in items]
        return value

    @field_validator("cors_origins", mode="before")
    @classmethod
    def _parse_origins(cls, value: object) -> object:
        if isinstance(value, str):
            return [part.strip() for part in value.split(",") if part.strip()]
        return value

    @field_validator("jwt_secret")
    @classmethod
    def _reject_weak_secret(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None and len(value.get_secret_value()) < MIN_JWT_SECRET_LENGTH:
            raise ValueError(
                f"TECHCORP_JWT_SECRET must be at least {MIN_JWT_SECRET_LENGTH} "
                "characters; generate one with "
                "`python -c 'import secrets; print(secrets.token_urlsafe(32))'`, "
                "or unset it to let the server generate and store one"
            )
        return value

    @field_validator("database_url")
    @classmethod
    def _use_async_driver(cls, value: str) -> str:
        # Operators write the URL their other tools understand; the server
        # talks to the database through an asyncio driver either way.
        if value.startswith("sqlite:"):
            return "sqlite+aiosqlite:" + value.removeprefix("sqlite:")
        for prefix in ("postgresql:", "postgres:"):
            if value.startswith(prefix):
                return "postgresql+asyncpg:" + value.removeprefix(prefix)
        return value

    @field_validator("search_backend")
    @classmethod
    def _search_backend_fits_database(
        cls, value: str | None, info: ValidationInfo
    ) -> str | None:
        database_url = info.data.get("database_url", "")
        if value == "postgresql" and database_url.startswith("sqlite"):
            raise ValueError(
                "'postgresql' needs a PostgreSQL TECHCORP_DATABASE_URL; "
                "use 'memory' on SQLite, or leave it unset"
            )
        return value

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")

    @property
    def search_engine(self) -> Literal["memory", "postgresql"]:
        """The search backend in use: `search_backend`, else the database's default."""
        if self.search_backend is not None:
            return self.search_backend
        return "memory" if self.is_sqlite else "postgresql"


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings()
