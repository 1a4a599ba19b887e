"""Health checks for process supervisors and load balancers.

`/healthz` returns 200 while the process can serve at all (liveness).
`/readyz` returns 200 only when the database responds too, and Redis when
the server uses it (readiness), so a load balancer stops sending traffic to
a server that cannot complete it.
"""

from __future__ import annotations

import logging
from weakref import WeakKeyDictionary

import anyio
from sqlalchemy import text
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from ..core.db import Database
from ..core.errors import ServiceUnavailableError
from ..core.http import json_response
from ..ratelimit.limiter import RateLimiter

READINESS_TIMEOUT_SECONDS = 2.0
"""Seconds the database may take to complete `SELECT 1` before /readyz fails."""

logger = logging.getLogger(__name__)


class _ReadinessLog:
    """Logs changes of readiness only, since probes repeat every few seconds."""

    def __init__(self) -> None:
        self.ready = True

    def failed(self, exc: Exception, dependency: str) -> None:
        if self.ready:
            logger.warning(
                "Readiness check failed: %s did not respond: %s: %s",
                dependency,
                type(exc).__name__,
                exc,
            )
        self.ready = False

    def passed(self) -> None:
        if not self.ready:
            logger.info("Readiness check passed again: every dependency responds.")
        self.ready = True


# One per database, so each app (and each test) tracks its own state.
_readiness_logs: WeakKeyDictionary[Database, _ReadinessLog] = WeakKeyDictionary()


async def healthz(request: Request) -> Response:
    return json_response({"status": "ok"})


async def readyz(request: Request) -> Response:
    database: Database = request.app.state.database
    readiness_log = _readiness_logs.setdefault(database, _ReadinessLog())
    try:
        with anyio.fail_after(READINESS_TIMEOUT_SECONDS):
            async with database.read() as session:
                await session.execute(text("SELECT 1"))
    except Exception as exc:
        readiness_log.failed(exc, "the database")
        raise ServiceUnavailableError(
            "The server cannot reach its database. Retry in a few seconds."
        ) from exc

    limiter: RateLimiter = request.app.state.rate_limiter
    try:
        with anyio.fail_after(READINESS_TIMEOUT_SECONDS):
            await limiter.ping()
    except Exception as exc:
        readiness_log.failed(exc, "Redis")
        raise ServiceUnavailableError(
            "The server cannot reach Redis. Retry in a few seconds."
        ) from exc

    readiness_log.passed()
    return json_response({"status": "ok"})


routes = [
    Route("/healthz", healthz, methods=["GET"]),
    Route("/readyz", readyz, methods=["GET"]),
]
