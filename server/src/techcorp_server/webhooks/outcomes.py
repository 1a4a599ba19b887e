"""Delivery attempts and what they change: retries, give-ups, disabled endpoints.

Rules, applied to the outcomes of many attempts in one transaction:

- A 2xx response completes the delivery and ends the endpoint's failing run.
- `410 Gone` fails the delivery and disables the endpoint: the receiver
  said it will never accept deliveries again.
- Any other status, a timeout or a connection error schedules a retry with
  backoff, or fails the delivery once the retry window has passed.
- An endpoint whose attempts have all failed for `webhook_disable_after_seconds`
  is disabled. Its pending deliveries wait and resume if it is enabled again.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import bindparam, insert, update
from sqlalchemy.ext.asyncio import AsyncSession

from ..settings import Settings
from .models import WebhookAttempt, WebhookDelivery, WebhookEndpoint
from .retries import RetryPolicy

endpoints = WebhookEndpoint.metadata.tables["webhook_endpoints"]
deliveries = WebhookDelivery.metadata.tables["webhook_deliveries"]
attempts = WebhookAttempt.metadata.tables["webhook_attempts"]

MAX_ERROR_LENGTH = 500
GONE_REASON = "The endpoint responded 410 Gone."


@dataclass(slots=True)
class Claim:
    """A delivery this process leased, with what sending it needs."""

    delivery_id: str
    endpoint_id: str
    event_id: str
    event_type: str
    attempt: int
    url: str
    secrets: list[str]
    body: bytes
    created_at: datetime


@dataclass(slots=True)
class Outcome:
    """The result of one attempt of a claimed delivery."""

    claim: Claim
    attempted_at: datetime
    duration_ms: int
    status_code: int | None = None
    error: str | None = None
    excerpt: str | None = None

    @property
    def succeeded(self) -> bool:
        return self.status_code is not None and 200 <= self.status_code < 300

    @property
    def gone(self) -> bool:
        return self.status_code == 410


_UPDATE_DELIVERY = (
    update(deliveries)
    .where(deliveries.c.id == bindparam("delivery_id"))
    .values(
        status=bindparam("status"),
        next_attempt_at=bindparam("next_attempt_at"),
        lease_expires_at=None,
        last_status_code=bindparam("last_status_code"),
        last_error=bindparam("last_error"),
        updated_at=bindparam("now"),
    )
)


def _attempt_row(outcome: Outcome) -> dict[str, Any]:
    return {
        "delivery_id": outcome.claim.delivery_id,
        "number": outcome.claim.attempt,
        "status_code": outcome.status_code,
        "error": outcome.error,
        "response_excerpt": outcome.excerpt,
        "duration_ms": outcome.duration_ms,
        "attempted_at": outcome.attempted_at,
    }


def _delivery_update(
    outcome: Outcome, retries: RetryPolicy, now: datetime
) -> dict[str, Any]:
    next_attempt_at = None
    if outcome.succeeded:
        status = "succeeded"
    elif outcome.gone:
        status = "failed"
    else:
        claim = outcome.claim
        next_attempt_at = retries.next_attempt_at(claim.attempt, claim.created_at, now)
        status = "pending" if next_attempt_at is not None else "failed"
    return {
        "delivery_id": outcome.claim.delivery_id,
        "status": status,
        "next_attempt_at": next_attempt_at,
        "last_status_code": outcome.status_code,
        "last_error": outcome.error,
        "now": now,
    }


async def record_outcomes(
    session: AsyncSession,
    outcomes: Sequence[Outcome],
    retries: RetryPolicy,
    settings: Settings,
    now: datetime,
) -> None:
    """Write the attempts and apply the rules above, in one transaction."""
    await session.execute(insert(attempts), [_attempt_row(o) for o in outcomes])
    await session.execute(
        _UPDATE_DELIVERY,
        [_delivery_update(outcome, retries, now) for outcome in outcomes],
    )

    failed = {o.claim.endpoint_id for o in outcomes if not o.succeeded}
    succeeded = {o.claim.endpoint_id for o in outcomes if o.succeeded}
    gone = {o.claim.endpoint_id for o in outcomes if o.gone}
    if failed:
        await _mark_failing(session, failed, settings, now)
    if succeeded:
        await session.execute(
            update(endpoints)
            .where(endpoints.c.id.in_(succeeded), endpoints.c.failing_since.isnot(None))
            .values(failing_since=None)
        )
    if gone:
        await _disable(session, gone, GONE_REASON, now)


async def _mark_failing(
    session: AsyncSession, endpoint_ids: set[str], settings: Settings, now: datetime
) -> None:
    await session.execute(
        update(endpoints)
        .where(endpoints.c.id.in_(endpoint_ids), endpoints.c.failing_since.is_(None))
        .values(failing_since=now)
    )
    cutoff = now - timedelta(seconds=settings.webhook_disable_after_seconds)
    failing_too_long = (
        update(endpoints)
        .where(
            endpoints.c.id.in_(endpoint_ids),
            endpoints.c.enabled,
            endpoints.c.failing_since < cutoff,
        )
        .values(
            enabled=False,
            disabled_reason="Every attempt failed for "
            f"{settings.webhook_disable_after_seconds / 86400:g} days.",
            updated_at=now,
        )
    )
    await session.execute(failing_too_long)


async def _disable(
    session: AsyncSession, endpoint_ids: set[str], reason: str, now: datetime
) -> None:
    await session.execute(
        update(endpoints)
        .where(endpoints.c.id.in_(endpoint_ids), endpoints.c.enabled)
        .values(enabled=False, disabled_reason=reason, updated_at=now)
    )
