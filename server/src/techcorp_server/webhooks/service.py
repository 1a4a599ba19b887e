"""Webhook endpoints: registration, changes, secrets and delivery history."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import datetime, timedelta
from typing import Any

import orjson
from sqlalchemy import func, insert, select
from sqlalchemy.ext.asyncio import AsyncSession

from ..core.db import Database, isoformat, utc_now
from ..core.errors import BadRequestError, ConflictError, NotFoundError
from ..core.ids import new_id
from ..core.pagination import PageRequest
from ..core.text import shorten
from ..events.outbox import TEST_EVENT_TYPE, delivery_row, write_event
from .addresses import (
    Resolver,
    UnsafeURLError,
    allowed_addresses,
    parse_webhook_url,
    system_resolve,
)
from .models import WebhookAttempt, WebhookDelivery, WebhookEndpoint
from .schemas import WebhookCreate, WebhookUpdate
from .signatures import generate_secret

deliveries = WebhookDelivery.metadata.tables["webhook_deliveries"]
attempts = WebhookAttempt.metadata.tables["webhook_attempts"]

PREVIOUS_SECRET_SECONDS = 24 * 3600
"""How long the previous secret keeps signing after a rotation."""


def webhook_json(
    endpoint: WebhookEndpoint, secret: str | None = None
) -> dict[str, Any]:
    document: dict[str, Any] = {
        "id": endpoint.id,
        "url": endpoint.url,
        "description": endpoint.description,
        "events": orjson.loads(endpoint.events),
        "enabled": endpoint.enabled,
        "disabled_reason": endpoint.disabled_reason,
        "created_at": isoformat(endpoint.created_at),
        "updated_at": isoformat(endpoint.updated_at),
    }
    if secret is not None:
        document["secret"] = secret
    return document


def _optional_time(moment: datetime | None) -> str | None:
    return isoformat(moment) if moment is not None else None


def delivery_json(
    row: Mapping[Any, Any], attempt_rows: list[Mapping[Any, Any]]
) -> dict[str, Any]:
    return {
        "id": row["id"],
        "webhook_id": row["endpoint_id"],
        "event_id": row["event_id"],
        "event_type": row["event_type"],
        "status": row["status"],
        "attempt_count": row["attempt_count"],
        "next_attempt_at": (
            _optional_time(row["next_attempt_at"])
            if row["status"] == "pending"
            else None
        ),
        "last_status_code": row["last_status_code"],
        "last_error": row["last_error"],
        "created_at": isoformat(row["created_at"]),
        "updated_at": isoformat(row["updated_at"]),
        "attempts": [
            {
                "number": attempt["number"],
                "attempted_at": isoformat(attempt["attempted_at"]),
                "status_code": attempt["status_code"],
                "error": attempt["error"],
                "response_excerpt": attempt["response_excerpt"],
                "duration_ms": attempt["duration_ms"],
            }
            for attempt in attempt_rows
        ],
    }


class WebhookService:
    def __init__(
        self,
        database: Database,
        *,
        allow_private: bool,
        wake_worker: Callable[[], None] = lambda: None,
        resolve: Resolver = system_resolve,
    ) -> None:
        self.database = database
        self.allow_private = allow_private
        self.wake_worker = wake_worker
        self.resolve = resolve

    async def check_url(self, url: str) -> None:
        """Raise `BadRequestError` unless webhooks may be sent to `url`."""
        try:
            destination = parse_webhook_url(url, allow_private=self.allow_private)
            await allowed_addresses(
                destination.host,
                destination.port,
                self.resolve,
                allow_loopback=self.allow_private,
            )
        except UnsafeURLError as exc:
            raise BadRequestError(
                f"The webhook URL is not allowed. {exc}",
                details=[{"field": "url", "message": str(exc)}],
            ) from exc

    async def create(self, fields: WebhookCreate) -> dict[str, Any]:
        """Register an endpoint; the response is the only one with its secret."""
        await self.check_url(fields.url)
        secret = fields.secret or generate_secret()
        now = utc_now()
        endpoint = WebhookEndpoint(
            id=new_id("whk"),
            url=fields.url,
            description=fields.description,
            events=orjson.dumps(fields.events).decode(),
            secret=secret,
            enabled=True,
            created_at=now,
            updated_at=now,
        )
        async with self.database.transaction() as session:
            session.add(endpoint)
        return webhook_json(endpoint, secret=secret)

    async def list_page(self, page: PageRequest) -> tuple[list[dict[str, Any]], int]:
        query = select(WebhookEndpoint).order_by(WebhookEndpoint.id.desc())
        async with self.database.read() as session:
            total = await session.scalar(
                select(func.count()).select_from(WebhookEndpoint)
            )
            rows = await session.scalars(query.offset(page.offset).limit(page.limit))
            return [webhook_json(row) for row in rows], total or 0

    async def get(self, webhook_id: str) -> dict[str, Any]:
        async with self.database.read() as session:
            endpoint = await session.get(WebhookEndpoint, webhook_id)
        if endpoint is None:
            raise _webhook_not_found(webhook_id)
        return webhook_json(endpoint)

    async def update(self, webhook_id: str, changes: WebhookUpdate) -> dict[str, Any]:
        if not changes.model_fields_set:
            raise BadRequestError(
                "Nothing to change. Give 'url', 'events', 'description' or 'enabled'.",
                details=[{"field": "body", "message": "No field to change."}],
            )
        if changes.url is not None:
            await self.check_url(changes.url)

        async with self.database.transaction() as session:
            endpoint = await _get_for_update(session, webhook_id)
            if changes.url is not None:
                endpoint.url = changes.url
            if changes.events is not None:
                endpoint.events = orjson.dumps(changes.events).decode()
            if changes.description is not None:
                endpoint.description = changes.description
            if changes.enabled is not None:
                endpoint.enabled = changes.enabled
                endpoint.disabled_reason = None
                endpoint.failing_since = None
            endpoint.updated_at = utc_now()
        if endpoint.enabled:
            self.database.after_commit(self.wake_worker)
        return webhook_json(endpoint)

    async def delete(self, webhook_id: str) -> None:
        """Delete an endpoint with its deliveries; pending ones are not sent."""
        async with self.database.transaction() as session:
            endpoint = await _get_for_update(session, webhook_id)
            await session.delete(endpoint)

    async def rotate_secret(
        self, webhook_id: str, secret: str | None = None
    ) -> dict[str, Any]:
        """Replace the secret; the old one keeps signing for a day, as a second
        Standard Webhooks signature."""
        new_secret = secret or generate_secret()
        now = utc_now()
        async with self.database.transaction() as session:
            endpoint = await _get_for_update(session, webhook_id)
            if new_secret == endpoint.secret:
                raise BadRequestError(
                    "The new secret is the current one. Give another, or none "
                    "to get a generated one.",
                    details=[{"field": "secret", "message": "Same as current."}],
                )
            endpoint.previous_secret = endpoint.secret
            endpoint.previous_secret_expires_at = now + timedelta(
                seconds=PREVIOUS_SECRET_SECONDS
            )
            endpoint.secret = new_secret
            endpoint.updated_at = now
        return webhook_json(endpoint, secret=new_secret)

    async def list_deliveries(
        self, webhook_id: str, page: PageRequest, status: str | None = None
    ) -> tuple[list[dict[str, Any]], int]:
        """Return one page of an endpoint's deliveries, newest first."""
        conditions = [deliveries.c.endpoint_id == webhook_id]
        if status is not None:
            conditions.append(deliveries.c.status == status)
        query = (
            select(deliveries)
            .where(*conditions)
            .order_by(deliveries.c.id.desc())
            .offset(page.offset)
            .limit(page.limit)
        )
        async with self.database.read() as session:
            if await session.get(WebhookEndpoint, webhook_id) is None:
                raise _webhook_not_found(webhook_id)
            total = await session.scalar(
                select(func.count()).select_from(deliveries).where(*conditions)
            )
            rows = (await session.execute(query)).mappings().all()
            by_delivery = await _attempts_of(session, [row["id"] for row in rows])
        items = [delivery_json(row, by_delivery.get(row["id"], [])) for row in rows]
        return items, total or 0

    async def get_delivery(self, webhook_id: str, delivery_id: str) -> dict[str, Any]:
        async with self.database.read() as session:
            row = await _delivery_row(session, webhook_id, delivery_id)
            by_delivery = await _attempts_of(session, [delivery_id])
        return delivery_json(row, by_delivery.get(delivery_id, []))

    async def redeliver(self, webhook_id: str, delivery_id: str) -> dict[str, Any]:
        """Queue the delivery's event again, as a new delivery due now."""
        async with self.database.transaction() as session:
            endpoint = await _get_for_update(session, webhook_id)
            _ensure_enabled(endpoint)
            original = await _delivery_row(session, webhook_id, delivery_id)
            row = delivery_row(webhook_id, original["event_id"], original["event_type"])
            await session.execute(insert(deliveries).values(row))
        self.database.after_commit(self.wake_worker)
        return delivery_json(row | {"last_status_code": None, "last_error": None}, [])

    async def send_test(self, webhook_id: str) -> dict[str, Any]:
        """Send a `webhook.test` event to this endpoint only."""
        async with self.database.transaction() as session:
            endpoint = await _get_for_update(session, webhook_id)
            _ensure_enabled(endpoint)
            data = {
                "webhook_id": webhook_id,
                "message": "A test event sent from the API.",
            }
            _, (delivery_id,) = await write_event(
                session, TEST_EVENT_TYPE, data, [webhook_id]
            )
        self.database.after_commit(self.wake_worker)
        return await self.get_delivery(webhook_id, delivery_id)


async def _get_for_update(session: AsyncSession, webhook_id: str) -> WebhookEndpoint:
    endpoint = await session.scalar(
        select(WebhookEndpoint)
        .where(WebhookEndpoint.id == webhook_id)
        .with_for_update()
    )
    if endpoint is None:
        raise _webhook_not_found(webhook_id)
    return endpoint


def _ensure_enabled(endpoint: WebhookEndpoint) -> None:
    if not endpoint.enabled:
        raise ConflictError(
            f"Webhook {endpoint.id!r} is disabled, so nothing is sent to it. "
            "Enable it with PATCH and 'enabled': true first."
        )


async def _delivery_row(
    session: AsyncSession, webhook_id: str, delivery_id: str
) -> Mapping[Any, Any]:
    query = select(deliveries).where(
        deliveries.c.id == delivery_id, deliveries.c.endpoint_id == webhook_id
    )
    row = (await session.execute(query)).mappings().one_or_none()
    if row is None:
        raise NotFoundError(
            f"Webhook {shorten(webhook_id)!r} has no delivery with the id "
            f"{shorten(delivery_id)!r}."
        )
    return row


async def _attempts_of(
    session: AsyncSession, delivery_ids: list[str]
) -> dict[str, list[Mapping[Any, Any]]]:
    if not delivery_ids:
        return {}
    query = (
        select(attempts)
        .where(attempts.c.delivery_id.in_(delivery_ids))
        .order_by(attempts.c.delivery_id, attempts.c.number, attempts.c.id)
    )
    by_delivery: dict[str, list[Mapping[Any, Any]]] = {}
    for row in (await session.execute(query)).mappings():
        by_delivery.setdefault(row["delivery_id"], []).append(row)
    return by_delivery


def _webhook_not_found(webhook_id: str) -> NotFoundError:
    return NotFoundError(f"No webhook has the id {shorten(webhook_id)!r}.")
