"""The `/v2/webhooks` endpoints, all of them for admins only."""

from __future__ import annotations

from starlette.datastructures import QueryParams
from starlette.requests import Request
from starlette.responses import Response

from ..auth.principal import principal_of, require_admin
from ..core.errors import BadRequestError
from ..core.http import json_response, read_json_object, read_model, validate
from ..core.pagination import PAGE_QUERY, envelope, page_request, request_link_header
from ..core.query import query_str
from ..core.routing import OperationRouter, QueryParam
from .schemas import (
    DeliveryPublic,
    SecretRotation,
    WebhookCreate,
    WebhookPublic,
    WebhookUpdate,
)
from .service import WebhookService

router = OperationRouter("/v2/webhooks", "Webhooks")

DELIVERY_STATUSES = ("pending", "succeeded", "failed")
DELIVERY_QUERY = (
    QueryParam(
        "status",
        {"type": "string", "enum": list(DELIVERY_STATUSES)},
        "Only deliveries in this state.",
    ),
    *PAGE_QUERY,
)


def _status_filter(params: QueryParams) -> str | None:
    status = query_str(params, "status", max_length=16)
    if status is not None and status not in DELIVERY_STATUSES:
        raise BadRequestError(
            f"Query parameter 'status' must be one of: {', '.join(DELIVERY_STATUSES)}.",
            details=[{"field": "status", "message": "Unknown status."}],
        )
    return status


def webhooks_of(request: Request) -> WebhookService:
    require_admin(principal_of(request), "manage webhooks")
    webhooks: WebhookService = request.app.state.webhooks
    return webhooks


@router.post(
    "",
    summary="Create a webhook endpoint",
    description="Requires the admin role. The URL must be `https` and resolve "
    "to public addresses. The response is the only one that shows the secret.",
    request_model=WebhookCreate,
    response_model=WebhookPublic,
    status_code=201,
    idempotent=True,
    errors=(400, 401, 403, 409, 415),
)
async def create_webhook(request: Request) -> Response:
    webhooks = webhooks_of(request)
    fields = await read_model(request, WebhookCreate)
    webhook = await webhooks.create(fields)
    location = f"{router.prefix}/{webhook['id']}"
    return json_response(webhook, status_code=201, headers={"Location": location})


@router.get(
    "",
    summary="List webhook endpoints",
    response_model=WebhookPublic,
    paginated=True,
    query=PAGE_QUERY,
    errors=(400, 401, 403),
)
async def list_webhooks(request: Request) -> Response:
    webhooks = webhooks_of(request)
    page = page_request(request.query_params)
    items, total = await webhooks.list_page(page)
    return json_response(
        envelope(items, page, total),
        headers={"Link": request_link_header(request, page, total)},
    )


@router.get(
    "/{webhook_id}",
    summary="Get a webhook endpoint",
    response_model=WebhookPublic,
    errors=(401, 403, 404),
)
async def get_webhook(request: Request) -> Response:
    webhooks = webhooks_of(request)
    return json_response(await webhooks.get(request.path_params["webhook_id"]))


@router.patch(
    "/{webhook_id}",
    summary="Update a webhook endpoint",
    description="Only the fields given change. `enabled: true` turns a "
    "disabled endpoint back on and resumes its pending deliveries.",
    request_model=WebhookUpdate,
    response_model=WebhookPublic,
    errors=(400, 401, 403, 404, 415),
)
async def update_webhook(request: Request) -> Response:
    webhooks = webhooks_of(request)
    changes = await read_model(request, WebhookUpdate)
    webhook = await webhooks.update(request.path_params["webhook_id"], changes)
    return json_response(webhook)


@router.delete(
    "/{webhook_id}",
    summary="Delete a webhook endpoint",
    description="Its deliveries are deleted too, and pending ones are not sent.",
    status_code=204,
    errors=(401, 403, 404),
)
async def delete_webhook(request: Request) -> Response:
    webhooks = webhooks_of(request)
    await webhooks.delete(request.path_params["webhook_id"])
    return Response(status_code=204)


@router.post(
    "/{webhook_id}/rotate-secret",
    summary="Rotate a webhook endpoint's secret",
    description="Sets the given `secret`, or a generated one, and returns it "
    "once. For 24 hours `webhook-signature` carries a signature with the "
    "previous secret too; `X-Signature` uses the new one at once.",
    request_model=SecretRotation,
    response_model=WebhookPublic,
    errors=(400, 401, 403, 404, 415),
)
async def rotate_webhook_secret(request: Request) -> Response:
    webhooks = webhooks_of(request)
    rotation = SecretRotation()
    if await request.body():
        rotation = validate(SecretRotation, await read_json_object(request))
    webhook = await webhooks.rotate_secret(
        request.path_params["webhook_id"], rotation.secret
    )
    return json_response(webhook)


@router.post(
    "/{webhook_id}/test",
    summary="Send a test event",
    description="Sends a `webhook.test` event to this endpoint only, and "
    "returns the new delivery.",
    response_model=DeliveryPublic,
    status_code=202,
    idempotent=True,
    errors=(401, 403, 404, 409),
)
async def send_test_event(request: Request) -> Response:
    webhooks = webhooks_of(request)
    delivery = await webhooks.send_test(request.path_params["webhook_id"])
    return json_response(delivery, status_code=202)


@router.get(
    "/{webhook_id}/deliveries",
    summary="List a webhook endpoint's deliveries",
    description="Newest first, each with all its attempts and their responses.",
    response_model=DeliveryPublic,
    paginated=True,
    query=DELIVERY_QUERY,
    errors=(400, 401, 403, 404),
)
async def list_deliveries(request: Request) -> Response:
    webhooks = webhooks_of(request)
    page = page_request(request.query_params)
    status = _status_filter(request.query_params)
    items, total = await webhooks.list_deliveries(
        request.path_params["webhook_id"], page, status
    )
    link = request_link_header(request, page, total, keep=("status",))
    return json_response(envelope(items, page, total), headers={"Link": link})


@router.get(
    "/{webhook_id}/deliveries/{delivery_id}",
    summary="Get a delivery",
    response_model=DeliveryPublic,
    errors=(401, 403, 404),
)
async def get_delivery(request: Request) -> Response:
    webhooks = webhooks_of(request)
    delivery = await webhooks.get_delivery(
        request.path_params["webhook_id"], request.path_params["delivery_id"]
    )
    return json_response(delivery)


@router.post(
    "/{webhook_id}/deliveries/{delivery_id}/redeliver",
    summary="Send a delivery's event again",
    description="Queues the same event, with the same body, as a new delivery "
    "due now, and returns it.",
    response_model=DeliveryPublic,
    status_code=202,
    idempotent=True,
    errors=(401, 403, 404, 409),
)
async def redeliver(request: Request) -> Response:
    webhooks = webhooks_of(request)
    delivery = await webhooks.redeliver(
        request.path_params["webhook_id"], request.path_params["delivery_id"]
    )
    return json_response(delivery, status_code=202)
