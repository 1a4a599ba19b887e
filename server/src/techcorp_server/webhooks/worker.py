"""The delivery worker: sends due deliveries and records every attempt.

The worker claims due deliveries in batches by setting a lease on them, so
several server processes can share the work (on PostgreSQL the claim also
uses `FOR UPDATE SKIP LOCKED`). It keeps up to twice `webhook_concurrency`
claimed, sends at most `webhook_concurrency` at once, and writes the
outcomes of many attempts in one transaction. Batching matters on SQLite,
where every write transaction takes the single write connection. A process
that dies leaves its leases behind; the deliveries are claimed again once
those run out, so delivery is at least once.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

import aiohttp
import httpx
from sqlalchemy import or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from ..core.db import Database, utc_now
from ..core.handlers import log_background_failure
from ..events.models import Event
from ..settings import Settings
from .addresses import Resolver, system_resolve
from .clients import EndpointClients
from .models import WebhookDelivery, WebhookEndpoint
from .outcomes import MAX_ERROR_LENGTH, Claim, Outcome, record_outcomes
from .resolver import GuardedConnector, GuardedResolver
from .retention import purge_before
from .retries import RetryPolicy
from .signatures import USER_AGENT, signature_headers

logger = logging.getLogger(__name__)

deliveries = WebhookDelivery.metadata.tables["webhook_deliveries"]
endpoints = WebhookEndpoint.metadata.tables["webhook_endpoints"]
events = Event.metadata.tables["events"]

MAX_EXCERPT_BYTES = 500
STOP_GRACE_SECONDS = 5.0
"""How long `stop` lets deliveries in flight finish before cancelling them."""
RECORD_GATHER_SECONDS = 0.005
"""How long the first outcome of a batch waits for others to join it."""
CLAIM_GATHER_SECONDS = 0.005
"""How long a woken claim loop waits for more events to claim in one go."""
RETENTION_INTERVAL_SECONDS = 3600.0
"""How often old events and finished deliveries are deleted."""


def _secrets_in_use(row: Any, now: datetime) -> list[str]:
    in_use = [row.secret]
    expires_at = row.previous_secret_expires_at
    if row.previous_secret and expires_at is not None and expires_at > now:
        in_use.append(row.previous_secret)
    return in_use


class DeliveryWorker:
    def __init__(
        self,
        database: Database,
        settings: Settings,
        *,
        resolve: Resolver = system_resolve,
    ) -> None:
        self.database = database
        self.settings = settings
        self.resolve = resolve
        self.retries = RetryPolicy(
            base_seconds=settings.webhook_retry_base_seconds,
            max_delay_seconds=settings.webhook_retry_max_delay_seconds,
            window_seconds=settings.webhook_retry_window_seconds,
        )
        if settings.webhook_lease_seconds <= settings.webhook_timeout_seconds:
            raise ValueError(
                "TECHCORP_WEBHOOK_LEASE_SECONDS must be longer than "
                "TECHCORP_WEBHOOK_TIMEOUT_SECONDS, or a slow delivery is "
                "claimed and sent again while it is still in flight"
            )
        self.concurrency = settings.webhook_concurrency
        self.prefetch = 2 * self.concurrency
        self._slots = asyncio.Semaphore(self.concurrency)
        self._wakeup = asyncio.Event()
        self._flush_wakeup = asyncio.Event()
        self._outcomes: list[Outcome] = []
        self._claimed: dict[str, Claim] = {}
        self._sending: set[asyncio.Task[None]] = set()
        self._loops: list[asyncio.Task[None]] = []
        self._clients = EndpointClients(self._new_client)
        self._ssl_context = httpx.create_ssl_context(trust_env=False)

    def wake(self) -> None:
        """Look for due deliveries now; called after events are committed."""
        self._wakeup.set()

    async def start(self) -> None:
        self._clients = EndpointClients(self._new_client)
        self._loops = [
            asyncio.create_task(self._claim_loop(), name="webhook-claims"),
            asyncio.create_task(self._record_loop(), name="webhook-outcomes"),
            asyncio.create_task(self._retention_loop(), name="webhook-retention"),
        ]
        logger.info("webhook worker started", extra={"concurrency": self.concurrency})

    async def stop(self) -> None:
        """Finish or abandon what is in flight and hand unsent claims back."""
        if not self._loops:
            return
        claim_loop, record_loop, retention_loop = self._loops
        claim_loop.cancel()
        retention_loop.cancel()
        if self._sending:
            await asyncio.wait(self._sending, timeout=STOP_GRACE_SECONDS)
        for task in list(self._sending):
            task.cancel()
        await asyncio.gather(*self._sending, return_exceptions=True)
        record_loop.cancel()
        await asyncio.gather(*self._loops, return_exceptions=True)
        self._loops = []

        outcomes = self._take_outcomes()
        await self._record(outcomes)
        for outcome in outcomes:
            self._claimed.pop(outcome.claim.delivery_id, None)
        await self._release(list(self._claimed))
        await self._clients.aclose()
        logger.info("webhook worker stopped")

    async def _claim_loop(self) -> None:
        while True:
            self._wakeup.clear()
            backlog = len(self._claimed)
            limit = self.prefetch - backlog
            claims: list[Claim] = []
            # Claiming again only once the backlog is down to one round of
            # sends keeps each claim transaction large.
            if backlog <= self.concurrency:
                try:
                    claims = await self._claim(limit)
                except Exception as exc:
                    log_background_failure(
                        logger, "claiming webhook deliveries failed", exc
                    )
            for claim in claims:
                self._start_sending(claim)
            if claims and len(claims) == limit:
                continue
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(self.settings.webhook_poll_seconds):
                    await self._wakeup.wait()
                # Every committed write wakes the loop. Waiting a moment lets
                # the writes of a burst share one claim transaction instead
                # of queueing one each for SQLite's single writer.
                await asyncio.sleep(CLAIM_GATHER_SECONDS)

    def _new_client(self) -> aiohttp.ClientSession:
        # aiohttp rather than httpx: sending to a loopback receiver took about
        # 90 µs of CPU per request against 1,200 µs (bench/webhook_clients.py).
        connector = GuardedConnector(
            GuardedResolver(
                self.resolve, allow_loopback=self.settings.webhook_allow_private
            ),
            limit=self.settings.webhook_connections_per_endpoint,
            ssl=self._ssl_context,
            keepalive_timeout=30.0,
        )
        # No proxies from the environment (trust_env=False): a proxy would
        # connect to the target on the server's behalf, past the address check.
        return aiohttp.ClientSession(
            connector=connector,
            timeout=aiohttp.ClientTimeout(total=self.settings.webhook_timeout_seconds),
            trust_env=False,
            headers={"User-Agent": USER_AGENT},
        )

    def _start_sending(self, claim: Claim) -> None:
        self._claimed[claim.delivery_id] = claim
        task = asyncio.create_task(self._send(claim))
        self._sending.add(task)
        task.add_done_callback(self._sending.discard)

    async def _claim(self, limit: int) -> list[Claim]:
        """Lease up to `limit` due deliveries of enabled endpoints."""
        now = utc_now()
        due = (
            select(deliveries.c.id)
            .join(endpoints, endpoints.c.id == deliveries.c.endpoint_id)
            .where(
                deliveries.c.status == "pending",
                deliveries.c.next_attempt_at <= now,
                or_(
                    deliveries.c.lease_expires_at.is_(None),
                    deliveries.c.lease_expires_at <= now,
                ),
                endpoints.c.enabled,
            )
            .order_by(deliveries.c.next_attempt_at)
            .limit(limit)
            # NOTE: SKIP LOCKED applies on PostgreSQL only, where this claim
            # has not been run by the tests; SQLite has one writer at a time.
            .with_for_update(skip_locked=True, of=deliveries)
        )
        lease_end = now + timedelta(seconds=self.settings.webhook_lease_seconds)
        async with self.database.transaction() as session:
            ids = list(await session.scalars(due))
            if not ids:
                return []
            await session.execute(
                update(deliveries)
                .where(deliveries.c.id.in_(ids))
                .values(
                    lease_expires_at=lease_end,
                    attempt_count=deliveries.c.attempt_count + 1,
                )
            )
            return await _read_claims(session, ids, now)

    async def _send(self, claim: Claim) -> None:
        async with self._slots:
            outcome = await self._attempt(claim)
        self._outcomes.append(outcome)
        self._flush_wakeup.set()

    async def _attempt(self, claim: Claim) -> Outcome:
        attempted_at = utc_now()
        timestamp = int(attempted_at.timestamp())
        headers = {
            "Content-Type": "application/json",
            **signature_headers(
                claim.body,
                secrets_in_use=claim.secrets,
                message_id=claim.event_id,
                timestamp=timestamp,
            ),
            "X-Event-Id": claim.event_id,
            "X-Event-Type": claim.event_type,
            "X-Webhook-Id": claim.endpoint_id,
            "X-Delivery-Id": claim.delivery_id,
            "X-Delivery-Attempt": str(claim.attempt),
        }
        started = time.perf_counter()
        outcome = Outcome(claim, attempted_at, 0)
        try:
            async with asyncio.timeout(self.settings.webhook_timeout_seconds):
                client = self._clients.get(claim.endpoint_id)
                await _post(client, claim.url, headers, claim.body, outcome)
        except TimeoutError:
            outcome.error = (
                f"Timed out after {self.settings.webhook_timeout_seconds:g} s."
            )
        except aiohttp.ClientError as exc:
            outcome.error = _describe(exc)
        outcome.duration_ms = round((time.perf_counter() - started) * 1000)
        if not outcome.succeeded:
            logger.info(
                "webhook attempt failed",
                extra={
                    "delivery_id": claim.delivery_id,
                    "webhook_id": claim.endpoint_id,
                    "attempt": claim.attempt,
                    "status_code": outcome.status_code,
                    "error": outcome.error,
                },
            )
        return outcome

    async def _record_loop(self) -> None:
        while True:
            await self._flush_wakeup.wait()
            if len(self._outcomes) < self.concurrency:
                await asyncio.sleep(RECORD_GATHER_SECONDS)
            self._flush_wakeup.clear()
            outcomes = self._take_outcomes()
            try:
                await self._record(outcomes)
            except Exception as exc:
                # The leases run out and the deliveries are sent again.
                log_background_failure(
                    logger,
                    "recording webhook attempts failed",
                    exc,
                    attempts=len(outcomes),
                )
            for outcome in outcomes:
                self._claimed.pop(outcome.claim.delivery_id, None)
            self.wake()

    async def _retention_loop(self) -> None:
        while True:
            await self.purge_old()
            await asyncio.sleep(RETENTION_INTERVAL_SECONDS)

    async def purge_old(self) -> None:
        """Delete events and finished deliveries older than the retention."""
        retention = timedelta(seconds=self.settings.webhook_retention_seconds)
        try:
            purged = await purge_before(self.database, utc_now() - retention)
        except Exception as exc:
            log_background_failure(
                logger, "deleting old events and deliveries failed", exc
            )
            return
        if any(purged):
            logger.info(
                "old events and deliveries deleted",
                extra={"deliveries": purged[0], "events": purged[1]},
            )

    def _take_outcomes(self) -> list[Outcome]:
        outcomes, self._outcomes = self._outcomes, []
        return outcomes

    async def _record(self, outcomes: Sequence[Outcome]) -> None:
        if not outcomes:
            return
        now = utc_now()
        async with self.database.transaction() as session:
            await record_outcomes(session, outcomes, self.retries, self.settings, now)

    async def _release(self, delivery_ids: list[str]) -> None:
        """Clear the leases of claims never sent, so any process may retry them."""
        if not delivery_ids:
            return
        async with self.database.transaction() as session:
            await session.execute(
                update(deliveries)
                .where(deliveries.c.id.in_(delivery_ids))
                .values(
                    lease_expires_at=None,
                    attempt_count=deliveries.c.attempt_count - 1,
                )
            )


async def _read_claims(
    session: AsyncSession, ids: list[str], now: datetime
) -> list[Claim]:
    query = (
        select(
            deliveries.c.id,
            deliveries.c.endpoint_id,
            deliveries.c.event_id,
            deliveries.c.event_type,
            deliveries.c.attempt_count,
            deliveries.c.created_at,
            endpoints.c.url,
            endpoints.c.secret,
            endpoints.c.previous_secret,
            endpoints.c.previous_secret_expires_at,
            events.c.body,
        )
        .join(endpoints, endpoints.c.id == deliveries.c.endpoint_id)
        .join(events, events.c.id == deliveries.c.event_id)
        .where(deliveries.c.id.in_(ids))
    )
    return [
        Claim(
            delivery_id=row.id,
            endpoint_id=row.endpoint_id,
            event_id=row.event_id,
            event_type=row.event_type,
            attempt=row.attempt_count,
            url=row.url,
            secrets=_secrets_in_use(row, now),
            body=row.body,
            created_at=row.created_at,
        )
        for row in await session.execute(query)
    ]


async def _post(
    client: aiohttp.ClientSession,
    url: str,
    headers: dict[str, str],
    body: bytes,
    outcome: Outcome,
) -> None:
    async with client.post(
        url, data=body, headers=headers, allow_redirects=False
    ) as response:
        outcome.status_code = response.status
        excerpt = b""
        while len(excerpt) < MAX_EXCERPT_BYTES:
            chunk = await response.content.read(MAX_EXCERPT_BYTES - len(excerpt))
            if not chunk:
                break
            excerpt += chunk
        text = excerpt.decode("utf-8", "replace")
        outcome.excerpt = text or None


def _describe(exc: aiohttp.ClientError) -> str:
    reason = str(exc) or type(exc).__name__
    if isinstance(exc, aiohttp.ServerTimeoutError):
        reason = f"timed out ({type(exc).__name__})"
    elif isinstance(exc, aiohttp.ClientConnectorError):
        reason = f"connection failed: {reason}"
    return reason[:MAX_ERROR_LENGTH]
