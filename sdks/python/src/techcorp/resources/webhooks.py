"""`client.webhooks`: webhook endpoints, and `client.webhooks.deliveries`."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Literal, Unpack

from .._base import NOT_GIVEN, NotGiven, RequestOptions, RequestSpec, compact
from .._resource import AsyncResource, SyncResource, path
from ..models import Delivery, Webhook
from ..pagination import AsyncPageRequest, SyncPage

if TYPE_CHECKING:
    from .._client import AsyncTechCorp, TechCorp

DeliveryStatus = Literal["pending", "succeeded", "failed"]


def _create(
    url: str,
    events: Sequence[str],
    secret: str | NotGiven,
    description: str | NotGiven,
) -> RequestSpec:
    body = compact(url=url, events=list(events), secret=secret, description=description)
    return RequestSpec("POST", "/v2/webhooks", json=body, idempotent=True)


def _update(
    webhook_id: str,
    url: str | NotGiven,
    events: Sequence[str] | NotGiven,
    description: str | NotGiven,
    enabled: bool | NotGiven,
) -> RequestSpec:
    if not isinstance(events, NotGiven):
        events = list(events)
    body = compact(url=url, events=events, description=description, enabled=enabled)
    return RequestSpec("PATCH", path("/v2/webhooks/{}", webhook_id), json=body)


def _rotate(webhook_id: str, secret: str | NotGiven) -> RequestSpec:
    # Rotation takes no `Idempotency-Key`: a retried rotation would replace
    # the secret the first one returned, so it is sent once.
    spec_path = path("/v2/webhooks/{}/rotate-secret", webhook_id)
    return RequestSpec("POST", spec_path, json=compact(secret=secret))


def _test(webhook_id: str) -> RequestSpec:
    spec_path = path("/v2/webhooks/{}/test", webhook_id)
    return RequestSpec("POST", spec_path, idempotent=True)


def _deliveries(
    webhook_id: str,
    status: DeliveryStatus | NotGiven,
    page: int | NotGiven,
    limit: int | NotGiven,
) -> tuple[str, dict[str, object]]:
    list_path = path("/v2/webhooks/{}/deliveries", webhook_id)
    return list_path, compact(status=status, page=page, limit=limit)


def _delivery(webhook_id: str, delivery_id: str, action: str = "") -> RequestSpec:
    template = "/v2/webhooks/{}/deliveries/{}" + action
    if action:
        return RequestSpec(
            "POST", path(template, webhook_id, delivery_id), idempotent=True
        )
    return RequestSpec("GET", path(template, webhook_id, delivery_id))


class Deliveries(SyncResource):
    def list(
        self,
        webhook_id: str,
        *,
        status: DeliveryStatus | NotGiven = NOT_GIVEN,
        page: int | NotGiven = NOT_GIVEN,
        limit: int | NotGiven = NOT_GIVEN,
        **options: Unpack[RequestOptions],
    ) -> SyncPage[Delivery]:
        list_path, query = _deliveries(webhook_id, status, page, limit)
        return self._list(Delivery, list_path, query, options)

    def get(
        self, webhook_id: str, delivery_id: str, **options: Unpack[RequestOptions]
    ) -> Delivery:
        return self._request(Delivery, _delivery(webhook_id, delivery_id), options)

    def redeliver(
        self, webhook_id: str, delivery_id: str, **options: Unpack[RequestOptions]
    ) -> Delivery:
        """Send the delivery's event again, as a new delivery."""
        spec = _delivery(webhook_id, delivery_id, "/redeliver")
        return self._request(Delivery, spec, options)


class Webhooks(SyncResource):
    def __init__(self, client: TechCorp) -> None:
        super().__init__(client)
        self.deliveries = Deliveries(client)

    def create(
        self,
        *,
        url: str,
        events: Sequence[str],
        secret: str | NotGiven = NOT_GIVEN,
        description: str | NotGiven = NOT_GIVEN,
        **options: Unpack[RequestOptions],
    ) -> Webhook:
        """Register an endpoint for `events` (or `["*"]`); the response contains
        its signing `secret`, shown only here and on rotation."""
        spec = _create(url, events, secret, description)
        return self._request(Webhook, spec, options)

    def list(
        self,
        *,
        page: int | NotGiven = NOT_GIVEN,
        limit: int | NotGiven = NOT_GIVEN,
        **options: Unpack[RequestOptions],
    ) -> SyncPage[Webhook]:
        return self._list(
            Webhook, "/v2/webhooks", compact(page=page, limit=limit), options
        )

    def get(self, webhook_id: str, **options: Unpack[RequestOptions]) -> Webhook:
        spec = RequestSpec("GET", path("/v2/webhooks/{}", webhook_id))
        return self._request(Webhook, spec, options)

    def update(
        self,
        webhook_id: str,
        *,
        url: str | NotGiven = NOT_GIVEN,
        events: Sequence[str] | NotGiven = NOT_GIVEN,
        description: str | NotGiven = NOT_GIVEN,
        enabled: bool | NotGiven = NOT_GIVEN,
        **options: Unpack[RequestOptions],
    ) -> Webhook:
        spec = _update(webhook_id, url, events, description, enabled)
        return self._request(Webhook, spec, options)

    def delete(self, webhook_id: str, **options: Unpack[RequestOptions]) -> None:
        self._empty(RequestSpec("DELETE", path("/v2/webhooks/{}", webhook_id)), options)

    def rotate_secret(
        self,
        webhook_id: str,
        *,
        secret: str | NotGiven = NOT_GIVEN,
        **options: Unpack[RequestOptions],
    ) -> Webhook:
        """Replace the signing secret; the response contains the new one."""
        return self._request(Webhook, _rotate(webhook_id, secret), options)

    def send_test(self, webhook_id: str, **options: Unpack[RequestOptions]) -> Delivery:
        """Send a `ping` event to the endpoint; returns its delivery."""
        return self._request(Delivery, _test(webhook_id), options)


class AsyncDeliveries(AsyncResource):
    def list(
        self,
        webhook_id: str,
        *,
        status: DeliveryStatus | NotGiven = NOT_GIVEN,
        page: int | NotGiven = NOT_GIVEN,
        limit: int | NotGiven = NOT_GIVEN,
        **options: Unpack[RequestOptions],
    ) -> AsyncPageRequest[Delivery]:
        list_path, query = _deliveries(webhook_id, status, page, limit)
        return self._list(Delivery, list_path, query, options)

    async def get(
        self, webhook_id: str, delivery_id: str, **options: Unpack[RequestOptions]
    ) -> Delivery:
        return await self._request(
            Delivery, _delivery(webhook_id, delivery_id), options
        )

    async def redeliver(
        self, webhook_id: str, delivery_id: str, **options: Unpack[RequestOptions]
    ) -> Delivery:
        """Send the delivery's event again, as a new delivery."""
        spec = _delivery(webhook_id, delivery_id, "/redeliver")
        return await self._request(Delivery, spec, options)


class AsyncWebhooks(AsyncResource):
    def __init__(self, client: AsyncTechCorp) -> None:
        super().__init__(client)
        self.deliveries = AsyncDeliveries(client)

    async def create(
        self,
        *,
        url: str,
        events: Sequence[str],
        secret: str | NotGiven = NOT_GIVEN,
        description: str | NotGiven = NOT_GIVEN,
        **options: Unpack[RequestOptions],
    ) -> Webhook:
        """Register an endpoint; the response contains its signing `secret`."""
        spec = _create(url, events, secret, description)
        return await self._request(Webhook, spec, options)

    def list(
        self,
        *,
        page: int | NotGiven = NOT_GIVEN,
        limit: int | NotGiven = NOT_GIVEN,
        **options: Unpack[RequestOptions],
    ) -> AsyncPageRequest[Webhook]:
        return self._list(
            Webhook, "/v2/webhooks", compact(page=page, limit=limit), options
        )

    async def get(self, webhook_id: str, **options: Unpack[RequestOptions]) -> Webhook:
        spec = RequestSpec("GET", path("/v2/webhooks/{}", webhook_id))
        return await self._request(Webhook, spec, options)

    async def update(
        self,
        webhook_id: str,
        *,
        url: str | NotGiven = NOT_GIVEN,
        events: Sequence[str] | NotGiven = NOT_GIVEN,
        description: str | NotGiven = NOT_GIVEN,
        enabled: bool | NotGiven = NOT_GIVEN,
        **options: Unpack[RequestOptions],
    ) -> Webhook:
        spec = _update(webhook_id, url, events, description, enabled)
        return await self._request(Webhook, spec, options)

    async def delete(self, webhook_id: str, **options: Unpack[RequestOptions]) -> None:
        spec = RequestSpec("DELETE", path("/v2/webhooks/{}", webhook_id))
        await self._empty(spec, options)

    async def rotate_secret(
        self,
        webhook_id: str,
        *,
        secret: str | NotGiven = NOT_GIVEN,
        **options: Unpack[RequestOptions],
    ) -> Webhook:
        """Replace the signing secret; the response contains the new one."""
        return await self._request(Webhook, _rotate(webhook_id, secret), options)

    async def send_test(
        self, webhook_id: str, **options: Unpack[RequestOptions]
    ) -> Delivery:
        """Send a `ping` event to the endpoint; returns its delivery."""
        return await self._request(Delivery, _test(webhook_id), options)
