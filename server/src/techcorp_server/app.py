"""The application assembly: services, routes and middleware in one place.

A request passes, outermost first, through: request context (request id,
access log, metrics, last-resort 500), CORS when configured, the rate limiter,
the body size limit, and then Starlette's router, whose exception handlers
turn every `APIError` and framework error into the JSON error shape.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass

from starlette.applications import Starlette
from starlette.middleware.cors import CORSMiddleware
from starlette.types import ASGIApp

from .auth import routes as auth_routes
from .auth.service import AuthService
from .core.body_limit import BodyLimitMiddleware
from .core.changes import ChangeLog
from .core.db import Database
from .core.handlers import EXCEPTION_HANDLERS
from .core.logging import configure_logging
from .core.migrate import upgrade_to_head
from .core.request_context import RequestContextMiddleware
from .core.routing import Operation, build_routes
from .observability import health, metrics
from .openapi import routes as openapi_routes
from .products import routes as product_routes
from .products.service import ProductCatalog
from .ratelimit.limiter import create_rate_limiter
from .ratelimit.middleware import RateLimitMiddleware
from .settings import Settings, get_settings
from .stream import routes as stream_routes
from .stream.access import StreamAccess
from .stream.bus import InProcessEventBus
from .stream.connection import ConnectionLimits
from .stream.hub import StreamHub
from .stream.market import MarketSimulator, MarketUpdates
from .stream.shutdown import close_streams_on_sigterm
from .stream.status import SystemStatusService
from .users import routes as user_routes
from .users.service import UserService

logger = logging.getLogger(__name__)

HOT_PATHS = ("/v2/products", "/v2/products/{product_id}", "/v2/users")
"""The paths matched first, because most requests go to them."""

EXPOSED_HEADERS = [
    "X-Request-Id",
    "X-RateLimit-Limit",
    "X-RateLimit-Remaining",
    "X-RateLimit-Reset",
    "RateLimit",
    "RateLimit-Policy",
    "Retry-After",
    "Link",
    "Location",
]


def api_operations() -> list[Operation]:
    """Return every `/v2` operation, in the order the docs list them."""
    return [
        *auth_routes.router.operations,
        *auth_routes.clients_router.operations,
        *user_routes.router.operations,
        *product_routes.router.operations,
        *stream_routes.router.operations,
    ]


@dataclass
class Services:
    """The long-lived objects of one server process (or one CLI command)."""

    settings: Settings
    database: Database
    changes: ChangeLog
    auth: AuthService
    users: UserService
    catalog: ProductCatalog
    stream: StreamHub
    system_status: SystemStatusService
    market: MarketSimulator

    async def start(self) -> None:
        """Migrate the database to the latest schema and load the keys."""
        await upgrade_to_head(self.database)
        await self.auth.start()
        await self.stream.start()

    async def stop(self) -> None:
        await self.market.stop()
        await self.stream.stop()
        await self.database.dispose()


def build_services(settings: Settings) -> Services:
    database = Database(settings.database_url)
    changes = ChangeLog(database)
    auth = AuthService(settings, database)
    catalog = ProductCatalog(
        database,
        cache_entries=settings.list_cache_entries,
        cache_max_age_seconds=settings.list_cache_seconds,
        changes=changes,
    )
    stream = StreamHub(
        InProcessEventBus(settings.stream_history_size),
        auth,
        close_timeout_seconds=settings.stream_close_timeout_seconds,
    )
    changes.subscribe(MarketUpdates(stream))
    changes.subscribe(StreamAccess(stream))
    return Services(
        settings=settings,
        database=database,
        changes=changes,
        auth=auth,
        users=UserService(database, auth, changes),
        catalog=catalog,
        stream=stream,
        system_status=SystemStatusService(stream),
        market=MarketSimulator(
            catalog,
            interval_seconds=settings.market_simulator_interval_seconds,
            products_per_tick=settings.market_simulator_products,
        ),
    )


def stream_limits(settings: Settings) -> ConnectionLimits:
    return ConnectionLimits(
        ping_interval_seconds=settings.stream_ping_interval_seconds,
        ping_timeout_seconds=settings.stream_ping_timeout_seconds,
        queue_size=settings.stream_queue_size,
        close_timeout_seconds=settings.stream_close_timeout_seconds,
    )


def create_server_app() -> ASGIApp:
    """Build the application that `techcorp-server serve` runs in each worker."""
    return create_app(close_streams_first=True)


def create_app(
    settings: Settings | None = None, *, close_streams_first: bool = False
) -> ASGIApp:
    """Build the ASGI application; the database opens in the lifespan.

    With `close_streams_first`, SIGTERM closes the stream connections with a
    notice before the server stops; only a server worker should ask for it.
    """
    settings = settings or get_settings()
    configure_logging(settings)
    services = build_services(settings)

    @asynccontextmanager
    async def lifespan(_app: Starlette) -> AsyncIterator[None]:
        await services.start()
        if settings.simulate_market:
            await services.market.start()
        if close_streams_first:
            close_streams_on_sigterm(services.stream)
        logger.info(
            "server started",
            extra={"database": services.database.url.split(":", 1)[0]},
        )
        try:
            yield
        finally:
            await services.stop()
            logger.info("server stopped")

    operations = api_operations()
    routes = [
        *build_routes(operations, first=HOT_PATHS),
        *openapi_routes.build_routes(operations, settings),
        *stream_routes.build_routes(settings),
        *health.routes,
        *metrics.routes,
    ]
    app = Starlette(
        routes=routes, exception_handlers=EXCEPTION_HANDLERS, lifespan=lifespan
    )
    # A path with a trailing slash is a 404, not a redirect built from the
    # caller's Host header to the path without it.
    app.router.redirect_slashes = False
    app.state.services = services
    app.state.settings = settings
    app.state.database = services.database
    app.state.auth = services.auth
    app.state.users = services.users
    app.state.catalog = services.catalog
    app.state.authenticator = services.auth.authenticate_request
    app.state.stream = stream_routes.StreamServices(
        services.stream, services.system_status, stream_limits(settings)
    )

    stack: ASGIApp = BodyLimitMiddleware(
        app,
        max_body_bytes=settings.max_body_bytes,
        read_timeout_seconds=settings.body_read_timeout_seconds,
    )
    stack = RateLimitMiddleware(
        stack,
        limiter=create_rate_limiter(settings),
        trusted_proxies=settings.trusted_proxies,
    )
    if settings.cors_origins:
        stack = CORSMiddleware(
            stack,
            allow_origins=settings.cors_origins,
            allow_methods=["GET", "POST", "PUT", "PATCH", "DELETE"],
            allow_headers=["Authorization", "Content-Type", "Idempotency-Key"],
            expose_headers=EXPOSED_HEADERS,
            max_age=600,
        )
    return RequestContextMiddleware(stack, access_log=settings.access_log)
