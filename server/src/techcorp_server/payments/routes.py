"""The `/v2/payments` endpoints."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from ..auth.principal import principal_of
from ..core.http import json_response, read_model
from ..core.pagination import PAGE_QUERY, envelope, page_request, request_link_header
from ..core.routing import OperationRouter
from .schemas import PaymentCreate, PaymentPublic
from .service import PaymentService

router = OperationRouter("/v2/payments", "Payments")


def payments_of(request: Request) -> PaymentService:
    payments: PaymentService = request.app.state.payments
    return payments


@router.post(
    "",
    summary="Pay for a product",
    description="Charges `quantity` times the product's current price to a "
    "test payment method. A declined method still creates the payment, with "
    "`status: failed` and a `failure_code`. Send an `Idempotency-Key` so a "
    "retried request never pays twice.",
    request_model=PaymentCreate,
    response_model=PaymentPublic,
    status_code=201,
    idempotent=True,
    errors=(400, 401, 409, 415),
)
async def create_payment(request: Request) -> Response:
    fields = await read_model(request, PaymentCreate)
    payment = await payments_of(request).create(principal_of(request), fields)
    return created_response(payment)


def created_response(payment: dict[str, Any]) -> Response:
    location = f"{router.prefix}/{payment['id']}"
    return json_response(payment, status_code=201, headers={"Location": location})


@router.get(
    "",
    summary="List payments",
    description="Newest first. Admins see every payment, members their own.",
    response_model=PaymentPublic,
    paginated=True,
    query=PAGE_QUERY,
    errors=(400, 401),
)
async def list_payments(request: Request) -> Response:
    page = page_request(request.query_params)
    items, total = await payments_of(request).list_page(principal_of(request), page)
    return json_response(
        envelope(items, page, total),
        headers={"Link": request_link_header(request, page, total)},
    )


@router.get(
    "/{payment_id}",
    summary="Get a payment",
    description="Members get only their own payments.",
    response_model=PaymentPublic,
    errors=(401, 404),
)
async def get_payment(request: Request) -> Response:
    payment = await payments_of(request).get(
        principal_of(request), request.path_params["payment_id"]
    )
    return json_response(payment)
