"""The `techcorp-server` command: serve, migrate, demo data and API clients.

Flags are turned into `TECHCORP_` environment variables before the settings
are read, so a flag and its variable mean the same thing, and the server's
worker processes, which inherit the environment, see the same values.
"""

from __future__ import annotations

import asyncio
import json
import os
import secrets
import sys
from collections.abc import AsyncIterator, Coroutine
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING, Annotated, Any, NoReturn, TypeVar

import typer
from pydantic import ValidationError
from rich.console import Console
from rich.markup import escape
from rich.table import Table
from sqlalchemy import func, select
from sqlalchemy.exc import OperationalError

from .auth.models import ApiClient
from .auth.principal import Principal, Role
from .core.db import Database, isoformat
from .core.errors import APIError
from .core.logging import configure_logging
from .core.migrate import upgrade_to_head
from .demo.catalog import generate_products
from .demo.loader import (
    DEMO_PASSWORD,
    count_products,
    create_demo_users,
    load_products,
)
from .demo.progress import LoadProgress
from .settings import Settings, get_settings
from .users.models import User
from .users.service import email_key

if TYPE_CHECKING:
    from .app import Services

T = TypeVar("T")


CONSOLE_OPERATOR = Principal(user_id="console", role="admin")
"""The CLI works on the database directly, so it acts with admin rights."""

NO_CLIENT_HINT = """\
No API client exists yet, so nobody can get a token. Either create one:

    techcorp-server clients create --email you@example.com --role admin

or restart with both TECHCORP_BOOTSTRAP_CLIENT_ID and
TECHCORP_BOOTSTRAP_CLIENT_SECRET set, and the server creates that client.
"""

app = typer.Typer(
    name="techcorp-server",
    help="The TechCorp API v2 server.",
    no_args_is_help=True,
    add_completion=False,
    # Tracebacks with local variables could print secrets.
    pretty_exceptions_enable=False,
)
clients_app = typer.Typer(
    help="Create, list and delete API clients.", no_args_is_help=True
)
app.add_typer(clients_app, name="clients")

stderr = Console(stderr=True, highlight=False, soft_wrap=True)


def main() -> None:
    app()


# Shared steps


def fail(message: str, code: int = 1) -> NoReturn:
    stderr.print(f"[bold red]Error:[/] {escape(message)}")
    raise typer.Exit(code)


def load_settings(**flags: object) -> Settings:
    """Export the given flags as `TECHCORP_` variables, then read the settings."""
    for name, value in flags.items():
        if value is not None:
            os.environ[f"TECHCORP_{name.upper()}"] = str(value)
    get_settings.cache_clear()
    try:
        return get_settings()
    except ValidationError as exc:
        problems = [
            f"TECHCORP_{'_'.join(str(part) for part in error['loc']).upper()}: "
            f"{error['msg']}"
            for error in exc.errors(include_url=False)
        ]
        fail("Invalid settings.\n  " + "\n  ".join(problems), code=2)


def run(command: Coroutine[Any, Any, T]) -> T:
    """Run a command's coroutine, turning expected failures into messages."""
    try:
        return asyncio.run(command)
    except APIError as exc:
        fail(exc.message)
    except OperationalError as exc:
        fail(f"The database cannot be used: {exc.orig}")
    except (ConnectionError, TimeoutError) as exc:
        # asyncpg raises these unwrapped when it cannot open a connection.
        fail(f"The database cannot be used: {exc}")


@asynccontextmanager
async def started_services(settings: Settings) -> AsyncIterator[Services]:
    """Build and start the services as the server does, migrating first."""
    # Imported here so `techcorp-server --help` stays fast.
    from .app import build_services

    services = build_services(settings)
    try:
        await services.start(background=False)
        yield services
    finally:
        await services.stop()


async def count_clients(database: Database) -> int:
    async with database.read() as session:
        total = await session.scalar(select(func.count()).select_from(ApiClient))
    return total or 0


# serve and migrate


@app.command()
def serve(
    host: Annotated[
        str | None,
        typer.Option(
            help="Address to listen on (env TECHCORP_HOST; default 127.0.0.1)."
        ),
    ] = None,
    port: Annotated[
        int | None, typer.Option(help="TCP port (env TECHCORP_PORT; default 8000).")
    ] = None,
    workers: Annotated[
        int | None,
        typer.Option(
            help="Server processes; more than 1 needs PostgreSQL, and Redis "
            "to share the rate limit and the stream (env TECHCORP_WORKERS; "
            "default 1)."
        ),
    ] = None,
    simulate_market: Annotated[
        bool | None,
        typer.Option(
            "--simulate-market",
            help="Move a few demo prices every second, so the event stream "
            "has live market updates (env TECHCORP_SIMULATE_MARKET).",
        ),
    ] = None,
) -> None:
    """Migrate the database, then serve the API until SIGTERM or Ctrl-C."""
    settings = load_settings(
        host=host, port=port, workers=workers, simulate_market=simulate_market
    )
    if settings.workers > 1 and settings.is_sqlite:
        fail(
            f"--workers {settings.workers} needs PostgreSQL: SQLite takes one "
            "writer, so several processes would fail with 'database is locked'. "
            "Run one worker, or set TECHCORP_DATABASE_URL to a PostgreSQL "
            "database.",
            code=2,
        )
    if settings.workers > 1 and settings.redis_url is None:
        stderr.print(
            f"Warning: without TECHCORP_REDIS_URL each of the {settings.workers} "
            "workers counts its own rate limit, so a client may make "
            f"{settings.workers} times TECHCORP_RATE_LIMIT_PER_MINUTE requests, "
            "and each numbers its own stream events and keeps its own system "
            "status. Set TECHCORP_REDIS_URL to share them."
        )
    configure_logging(settings)
    run(prepare_database(settings))
    exec_supervisor(settings)


async def prepare_database(settings: Settings) -> None:
    """Migrate once before the workers start, and print how to get a first token."""
    async with started_services(settings) as services:
        bootstrap = (settings.bootstrap_client_id, settings.bootstrap_client_secret)
        if all(value is None for value in bootstrap):
            if await count_clients(services.database) == 0:
                print(NO_CLIENT_HINT, file=sys.stderr, flush=True)
        elif any(value is None for value in bootstrap):
            stderr.print(
                "Warning: set both TECHCORP_BOOTSTRAP_CLIENT_ID and "
                "TECHCORP_BOOTSTRAP_CLIENT_SECRET; with only one of them no "
                "bootstrap client is created."
            )


def exec_supervisor(settings: Settings) -> NoReturn:
    """Replace this process with the light one that runs the workers.

    The options given on the command line reach it as `TECHCORP_` variables.
    """
    os.environ.update(
        TECHCORP_HOST=settings.host,
        TECHCORP_PORT=str(settings.port),
        TECHCORP_WORKERS=str(settings.workers),
        TECHCORP_SIMULATE_MARKET=str(settings.simulate_market).lower(),
    )
    # exec discards anything still in this process's output buffers.
    sys.stdout.flush()
    sys.stderr.flush()
    command = [sys.executable, "-m", "techcorp_server.supervisor"]
    os.execv(sys.executable, command)  # noqa: S606


@app.command()
def migrate() -> None:
    """Apply database migrations and exit."""
    settings = load_settings()
    configure_logging(settings)
    run(migrate_database(settings.database_url))
    print("The database schema is up to date.")


async def migrate_database(url: str) -> None:
    database = Database(url)
    try:
        await upgrade_to_head(database)
    finally:
        await database.dispose()


# demo-data


@app.command("demo-data")
def demo_data(
    products: Annotated[
        int, typer.Option(min=0, help="Number of products to generate.")
    ] = 5000,
    users: Annotated[
        int,
        typer.Option(
            min=0,
            help="Number of users, starting with admin@example.com and "
            "member@example.com.",
        ),
    ] = 10,
    seed: Annotated[
        int, typer.Option(help="Seed of the generator; equal seeds, equal data.")
    ] = 0,
    if_empty: Annotated[
        bool,
        typer.Option(
            "--if-empty", help="Do nothing when the database already has products."
        ),
    ] = False,
) -> None:
    """Fill the database with a generated product catalog and demo users."""
    settings = load_settings()
    configure_logging(settings)
    run(load_demo_data(settings, products, users, seed, if_empty=if_empty))


async def load_demo_data(
    settings: Settings, products: int, users: int, seed: int, *, if_empty: bool
) -> None:
    async with started_services(settings) as services:
        existing = await count_products(services.database)
        if if_empty and existing:
            print(
                f"The database already has {existing:,} products; "
                "nothing loaded (--if-empty)."
            )
            return

        with LoadProgress("Loading products", products) as progress:
            added = await load_products(
                services.database,
                generate_products(products, seed),
                on_progress=progress,
            )
        accounts = await create_demo_users(services.users, users, seed)

    print(f"Loaded {added:,} products.")
    if accounts:
        new = sum(account.created for account in accounts)
        print(f"Demo users ({new} new), all with the password {DEMO_PASSWORD}:")
        for account in accounts[:2]:
            print(f"  {account.email} ({account.role})")
        if len(accounts) > 2:
            print(f"  and {len(accounts) - 2} more members at example.com")


# clients


@clients_app.command("create")
def create_client(
    email: Annotated[
        str,
        typer.Option(
            help="Email of the user the client acts for; a missing user is "
            "created with a random password."
        ),
    ],
    role: Annotated[
        Role, typer.Option(help="Role of the user, which the client acts with.")
    ],
    name: Annotated[str, typer.Option(help="A label for the client.")] = "",
    as_json: Annotated[
        bool, typer.Option("--json", help="Print the client as one JSON object.")
    ] = False,
) -> None:
    """Create an API client and print its id and secret, shown only once."""
    settings = load_settings()
    configure_logging(settings)
    client_id, secret = run(create_client_for(settings, email, role, name))

    if as_json:
        print(json.dumps({"client_id": client_id, "client_secret": secret}))
    else:
        print(f"client_id:     {client_id}")
        print(f"client_secret: {secret}")
    stderr.print(
        "Store the secret now: it is not shown again, and only its hash is kept. "
        f"Get a token with POST http://{settings.host}:{settings.port}/v2/auth/token."
    )


async def create_client_for(
    settings: Settings, email: str, role: Role, name: str
) -> tuple[str, str]:
    async with started_services(settings) as services:
        async with services.database.read() as session:
            user = await session.scalar(
                select(User).where(User.email_key == email_key(email.strip()))
            )
        if user is None:
            # The password is random and never printed: the user acts through
            # its clients.
            created = await services.users.create(
                email=email, password=secrets.token_urlsafe(32), role=role
            )
            user_id = created["id"]
        elif user.role != role:
            fail(
                f"{user.email} already exists with the role {user.role!r}, and "
                f"the client would act as {user.role!r}. Pass --role {user.role}, "
                "or change the role with PUT /v2/users/{id} first."
            )
        else:
            user_id = user.id

        client, secret = await services.auth.create_client(user_id=user_id, name=name)
        return client.id, secret


@clients_app.command("list")
def list_clients() -> None:
    """List API clients with their owners; secrets are never shown."""
    settings = load_settings()
    configure_logging(settings)
    rows = run(client_rows(settings))
    headers = ("id", "name", "user", "role", "secret starts", "created")

    # Scripts read tab-separated lines; a person at a terminal gets a table.
    if not sys.stdout.isatty():
        for row in (headers, *rows):
            print("\t".join(row))
        return
    table = Table(*headers)
    for row in rows:
        table.add_row(*row)
    Console().print(table)


async def client_rows(settings: Settings) -> list[tuple[str, ...]]:
    query = (
        select(ApiClient, User.email, User.role)
        .join(User, ApiClient.user_id == User.id)
        .order_by(ApiClient.created_at, ApiClient.id)
    )
    async with (
        started_services(settings) as services,
        services.database.read() as session,
    ):
        result = await session.execute(query)
        return [
            (
                client.id,
                client.name,
                email,
                role,
                client.secret_hint,
                isoformat(client.created_at),
            )
            for client, email, role in result.all()
        ]


@clients_app.command("delete")
def delete_client(
    client_id: Annotated[str, typer.Argument(help="Id of the client to delete.")],
) -> None:
    """Delete an API client, so it can no longer get or use tokens."""
    settings = load_settings()
    configure_logging(settings)
    run(delete_client_by_id(settings, client_id))
    print(f"Deleted API client {client_id}.")
    stderr.print(
        "Running servers stop accepting this client within "
        f"{settings.auth_cache_seconds:g} s (TECHCORP_AUTH_CACHE_SECONDS)."
    )


async def delete_client_by_id(settings: Settings, client_id: str) -> None:
    async with started_services(settings) as services:
        await services.auth.delete_client(CONSOLE_OPERATOR, client_id)
