"""Health checks for process supervisors and load balancers.

`/healthz` returns 200 while the process can serve at all (liveness).
`/readyz` returns 200 only when the database responds too (readiness), so a
load balancer stops sending traffic to a server that cannot complete it.
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

READINESS_TIMEOUT_SECONDS = 2.0
"""Seconds the database may take to complete `SELECT 1` before /readyz fails."""

logger = logging.getLogger(__name__)


class _ReadinessLog:
    """Logs changes of readiness only, since probes repeat every few seconds."""

    def __init__(self) -> None:
        self.ready = True

    def failed(self, exc: Exception) -> None:
        if self.ready:
            logger.warning(
                "Readiness check failed: the database did not respond to "
                "SELECT 1: %s: %s",
                type(exc).__name__,
                exc,
            )
        self.ready = False

    def passed(self) -> None:
        if not self.ready:
            logger.info(
                "Readiness check passed again: the database responds to SELECT 1."
            )
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
        readiness_log.failed(exc)
        raise ServiceUnavailableError(
            "The server cannot reach its database. Retry in a few seconds."
        ) from exc

    readiness_log.passed()
    return json_response({"status": "ok"})


routes = [
    Route("/healthz", healthz, methods=["GET"]),
    Route("/readyz", readyz, methods=["GET"]),
]
