"""`client.payments`: test payments for products."""

from __future__ import annotations

from typing import Unpack

from .._base import NOT_GIVEN, NotGiven, RequestOptions, RequestSpec, compact
from .._resource import AsyncResource, SyncResource, path
from ..models import Payment
from ..pagination import AsyncPageRequest, SyncPage


def _create(
    product_id: str, payment_method: str, quantity: int | NotGiven
) -> RequestSpec:
    body = compact(
        product_id=product_id, payment_method=payment_method, quantity=quantity
    )
    return RequestSpec("POST", "/v2/payments", json=body, idempotent=True)


class Payments(SyncResource):
    def create(
        self,
        *,
        product_id: str,
        payment_method: str,
        quantity: int | NotGiven = NOT_GIVEN,
        **options: Unpack[RequestOptions],
    ) -> Payment:
        """Pay for a product with a test method such as `pm_card_visa`.

        A declined card gives a payment with status `failed`, not an error.
        Sent with an `Idempotency-Key`, so a retry never charges twice.
        """
        spec = _create(product_id, payment_method, quantity)
        return self._request(Payment, spec, options)

    def list(
        self,
        *,
        page: int | NotGiven = NOT_GIVEN,
        limit: int | NotGiven = NOT_GIVEN,
        **options: Unpack[RequestOptions],
    ) -> SyncPage[Payment]:
        return self._list(
            Payment, "/v2/payments", compact(page=page, limit=limit), options
        )

    def get(self, payment_id: str, **options: Unpack[RequestOptions]) -> Payment:
        spec = RequestSpec("GET", path("/v2/payments/{}", payment_id))
        return self._request(Payment, spec, options)


class AsyncPayments(AsyncResource):
    async def create(
        self,
        *,
        product_id: str,
        payment_method: str,
        quantity: int | NotGiven = NOT_GIVEN,
        **options: Unpack[RequestOptions],
    ) -> Payment:
        """Pay for a product with a test method such as `pm_card_visa`."""
        spec = _create(product_id, payment_method, quantity)
        return await self._request(Payment, spec, options)

    def list(
        self,
        *,
        page: int | NotGiven = NOT_GIVEN,
        limit: int | NotGiven = NOT_GIVEN,
        **options: Unpack[RequestOptions],
    ) -> AsyncPageRequest[Payment]:
        return self._list(
            Payment, "/v2/payments", compact(page=page, limit=limit), options
        )

    async def get(self, payment_id: str, **options: Unpack[RequestOptions]) -> Payment:
        spec = RequestSpec("GET", path("/v2/payments/{}", payment_id))
        return await self._request(Payment, spec, options)
