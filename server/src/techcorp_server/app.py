"""The application assembly: services, routes and middleware in one place.

A request passes, outermost first, through: request context (request id,
access log, metrics, last-resort 500), CORS when configured, the rate limiter,
the body size limit, the table of fixed-path operations (`/v2/products`,
`/v2/auth/token` and the like), and otherwise Starlette's router. Both turn
every `APIError` and framework error into the JSON error shape with the same
exception handlers.
"""

from __future__ import annotations

import gc
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
from .core.feed import ChangeFeed
from .core.handlers import EXCEPTION_HANDLERS
from .core.idempotency import IdempotencyStore
from .core.logging import configure_logging
from .core.migrate import upgrade_to_head
from .core.request_context import RequestContextMiddleware
from .core.routing import FixedPathRoutes, Operation, build_routes
from .events.outbox import EventOutbox
from .observability import health, metrics
from .openapi import routes as openapi_routes
from .payments import routes as payment_routes
from .payments.service import PaymentService
from .products import routes as product_routes
from .products.service import ProductCatalog
from .ratelimit.limiter import RateLimiter, create_rate_limiter
from .ratelimit.middleware import RateLimitMiddleware
from .search import routes as search_routes
from .search.service import SearchService
from .settings import Settings, get_settings
from .stream import routes as stream_routes
from .stream.access import StreamAccess
from .stream.bus import create_event_bus
from .stream.connection import ConnectionLimits
from .stream.hub import StreamHub
from .stream.market import MarketSimulator, MarketUpdates
from .stream.shutdown import close_streams_on_sigterm
from .stream.status import SystemStatusService
from .users import routes as user_routes
from .users.service import UserService
from .webhooks import routes as webhook_routes
from .webhooks.service import WebhookService
from .webhooks.worker import DeliveryWorker

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
        *search_routes.router.operations,
        *payment_routes.router.operations,
        *webhook_routes.router.operations,
        *stream_routes.router.operations,
    ]


@dataclass
class Services:
    """The long-lived objects of one server process (or one CLI command)."""

    settings: Settings
    database: Database
    changes: ChangeLog
    feed: ChangeFeed
    rate_limiter: RateLimiter
    auth: AuthService
    users: UserService
    catalog: ProductCatalog
    search: SearchService
    payments: PaymentService
    webhooks: WebhookService
    deliveries: DeliveryWorker
    idempotency: IdempotencyStore
    stream: StreamHub
    system_status: SystemStatusService
    market: MarketSimulator

    async def start(self, *, background: bool = True) -> None:
        """Migrate the database, load the keys and start the background work.

        A CLI command passes `background=False`: it sends no webhooks, builds
        no search index and follows no other process's changes, and what it
        records is sent by the server.
        """
        await upgrade_to_head(self.database)
        await self.auth.start()
        if background:
            # The feed starts before the index is built, so a change saved
            # by another process during the build is applied, not lost.
            await self.feed.start()
            await self.search.start()
            await self.deliveries.start()
            self.idempotency.start()
            await self.stream.start()
            await self.system_status.start()

    async def stop(self) -> None:
        await self.market.stop()
        await self.stream.stop()
        await self.idempotency.stop()
        await self.deliveries.stop()
        await self.feed.stop()
        await self.rate_limiter.aclose()
        await self.database.dispose()


def build_services(settings: Settings) -> Services:
    database = Database(settings.database_url)
    changes = ChangeLog(database)
    feed = ChangeFeed(database, changes)
    auth = AuthService(settings, database)
    deliveries = DeliveryWorker(database, settings)
    changes.subscribe(EventOutbox(on_commit=deliveries.wake))
    search = SearchService(database, settings.search_engine)
    catalog = ProductCatalog(
        database,
        cache_entries=settings.list_cache_entries,
        cache_max_age_seconds=settings.list_cache_seconds,
        changes=changes,
    )
    stream = StreamHub(
        create_event_bus(settings),
        auth,
        close_timeout_seconds=settings.stream_close_timeout_seconds,
    )
    for listener in (
        feed,
        auth,
        catalog,
        search,
        MarketUpdates(stream),
        StreamAccess(stream),
    ):
        changes.subscribe(listener)
    return Services(
        settings=settings,
        database=database,
        changes=changes,
        feed=feed,
        rate_limiter=create_rate_limiter(settings),
        auth=auth,
        users=UserService(database, auth, changes),
        catalog=catalog,
        search=search,
        payments=PaymentService(database, changes),
        webhooks=WebhookService(
            database,
            allow_private=settings.webhook_allow_private,
            wake_worker=deliveries.wake,
        ),
        deliveries=deliveries,
        idempotency=IdempotencyStore(
            database, key_seconds=settings.idempotency_key_seconds
        ),
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
        max_per_user=settings.stream_max_connections_per_user,
    )


def create_served_app() -> ASGIApp:
    """Build the application that `techcorp-server serve` runs in each worker."""
    return create_app(freeze_after_start=True, close_streams_first=True)


def create_app(
    settings: Settings | None = None,
    *,
    freeze_after_start: bool = False,
    close_streams_first: bool = False,
) -> ASGIApp:
    """Build the ASGI application; the database opens in the lifespan.

    With `freeze_after_start`, the objects alive once the services have
    started, the search index included, are moved out of the garbage
    collector's reach (`gc.freeze`). They live as long as the process, and
    without this every full collection walks all of them again: about 120 ms
    per collection against 0.5 ms once frozen, measured with 111,000 tracked
    objects, and about 30 ms more for the index of 1M products.

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
        if freeze_after_start:
            gc.collect()
            gc.freeze()
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
    app.state.rate_limiter = services.rate_limiter
    app.state.auth = services.auth
    app.state.users = services.users
    app.state.catalog = services.catalog
    app.state.search = services.search
    app.state.payments = services.payments
    app.state.webhooks = services.webhooks
    app.state.idempotency = services.idempotency
    app.state.authenticator = services.auth.authenticate_request
    app.state.stream = stream_routes.StreamServices(
        services.stream, services.system_status, stream_limits(settings)
    )

    stack: ASGIApp = BodyLimitMiddleware(
        FixedPathRoutes(app, EXCEPTION_HANDLERS),
        max_body_bytes=settings.max_body_bytes,
        read_timeout_seconds=settings.body_read_timeout_seconds,
    )
    stack = RateLimitMiddleware(
        stack,
        limiter=services.rate_limiter,
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
