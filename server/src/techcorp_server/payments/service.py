"""Payments: charging test payment methods for products.

No money moves: the test methods succeed or decline at once, as a payment
provider's test mode does. Each payment is recorded, with the change log
writing `payment.succeeded` or `payment.failed` in the same transaction.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sqlalchemy import func, insert, select

from ..auth.principal import Principal
from ..core.changes import ChangeLog
from ..core.db import Database, isoformat, utc_now
from ..core.errors import BadRequestError, NotFoundError
from ..core.ids import new_id
from ..core.money import cents_to_json
from ..core.pagination import PageRequest
from ..core.text import shorten
from ..products.models import Product
from .models import Payment
from .schemas import DECLINING_METHODS, PAYMENT_METHODS, PaymentCreate

payments = Payment.metadata.tables["payments"]
products = Product.metadata.tables["products"]

CURRENCY = "usd"


def payment_json(row: Mapping[Any, Any]) -> dict[str, Any]:
    return {
        "id": row["id"],
        "user_id": row["user_id"],
        "product_id": row["product_id"],
        "product_name": row["product_name"],
        "quantity": row["quantity"],
        "unit_amount": cents_to_json(row["unit_amount_cents"]),
        "amount": cents_to_json(row["amount_cents"]),
        "currency": row["currency"],
        "payment_method": row["payment_method"],
        "status": row["status"],
        "failure_code": row["failure_code"],
        "failure_message": row["failure_message"],
        "created_at": isoformat(row["created_at"]),
    }


def _check_method(method: str) -> None:
    if method not in PAYMENT_METHODS:
        raise BadRequestError(
            f"Unknown payment method {shorten(method)!r}. Use one of the test "
            f"methods: {', '.join(PAYMENT_METHODS)}.",
            details=[{"field": "payment_method", "message": "Unknown method."}],
        )


class PaymentService:
    def __init__(self, database: Database, changes: ChangeLog) -> None:
        self.database = database
        self.changes = changes

    async def create(self, payer: Principal, fields: PaymentCreate) -> dict[str, Any]:
        """Charge `quantity` of a product at its current price."""
        _check_method(fields.payment_method)
        failure_code, failure_message = DECLINING_METHODS.get(
            fields.payment_method, (None, None)
        )
        async with self.changes.transaction() as transaction:
            session = transaction.session
            product = (
                await session.execute(
                    select(products.c.name, products.c.price_cents).where(
                        products.c.id == fields.product_id
                    )
                )
            ).one_or_none()
            if product is None:
                raise BadRequestError(
                    f"No product has the id {shorten(fields.product_id)!r}.",
                    details=[{"field": "product_id", "message": "Not found."}],
                )
            values = {
                "id": new_id("pay"),
                "user_id": payer.user_id,
                "product_id": fields.product_id,
                "product_name": product.name,
                "quantity": fields.quantity,
                "unit_amount_cents": product.price_cents,
                "amount_cents": product.price_cents * fields.quantity,
                "currency": CURRENCY,
                "payment_method": fields.payment_method,
                "status": "failed" if failure_code else "succeeded",
                "failure_code": failure_code,
                "failure_message": failure_message,
                "created_at": utc_now(),
            }
            await session.execute(insert(payments).values(values))
            payment = payment_json(values)
            transaction.record(f"payment.{values['status']}", payment)
        return payment

    async def list_page(
        self, viewer: Principal, page: PageRequest
    ) -> tuple[list[dict[str, Any]], int]:
        """Return one page of payments, newest first: all for an admin, else
        the viewer's own."""
        conditions = [] if viewer.is_admin else [payments.c.user_id == viewer.user_id]
        count = select(func.count()).select_from(payments).where(*conditions)
        rows = (
            select(payments)
            .where(*conditions)
            .order_by(payments.c.id.desc())
            .offset(page.offset)
            .limit(page.limit)
        )
        async with self.database.read() as session:
            total = await session.scalar(count)
            items = [
                payment_json(row) for row in (await session.execute(rows)).mappings()
            ]
        return items, total or 0

    async def get(self, viewer: Principal, payment_id: str) -> dict[str, Any]:
        """Return a payment; another user's is 404 for a member, not 403, so
        ids of others' payments cannot be probed."""
        async with self.database.read() as session:
            row = (
                (
                    await session.execute(
                        select(payments).where(payments.c.id == payment_id)
                    )
                )
                .mappings()
                .one_or_none()
            )
        if row is None or not (viewer.is_admin or row["user_id"] == viewer.user_id):
            raise NotFoundError(f"No payment has the id {shorten(payment_id)!r}.")
        return payment_json(row)
