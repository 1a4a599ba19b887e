"""`client.products`: the catalog."""

from __future__ import annotations

from decimal import Decimal
from typing import Unpack

from .._base import NOT_GIVEN, NotGiven, RequestOptions, RequestSpec, compact
from .._resource import AsyncResource, SyncResource, path
from ..models import Product
from ..pagination import AsyncPageRequest, SyncPage

Amount = Decimal | float | int
"""A price: exact, with at most two decimals; a `Decimal` keeps it exact."""


def filters(
    category: str | NotGiven,
    min_price: Amount | NotGiven,
    max_price: Amount | NotGiven,
    page: int | NotGiven,
    limit: int | NotGiven,
) -> dict[str, object]:
    return compact(
        category=category,
        min_price=min_price,
        max_price=max_price,
        page=page,
        limit=limit,
    )


def _write(
    method: str,
    product_id: str | None,
    name: str | NotGiven,
    price: Amount | NotGiven,
    category: str | NotGiven,
    description: str | NotGiven | None,
) -> RequestSpec:
    body = compact(name=name, price=price, category=category, description=description)
    if product_id is None:
        return RequestSpec(method, "/v2/products", json=body, idempotent=True)
    return RequestSpec(method, path("/v2/products/{}", product_id), json=body)


class Products(SyncResource):
    def list(
        self,
        *,
        category: str | NotGiven = NOT_GIVEN,
        min_price: Amount | NotGiven = NOT_GIVEN,
        max_price: Amount | NotGiven = NOT_GIVEN,
        page: int | NotGiven = NOT_GIVEN,
        limit: int | NotGiven = NOT_GIVEN,
        **options: Unpack[RequestOptions],
    ) -> SyncPage[Product]:
        """Products, filtered by category and price range (inclusive)."""
        query = filters(category, min_price, max_price, page, limit)
        return self._list(Product, "/v2/products", query, options)

    def get(self, product_id: str, **options: Unpack[RequestOptions]) -> Product:
        spec = RequestSpec("GET", path("/v2/products/{}", product_id))
        return self._request(Product, spec, options)

    def create(
        self,
        *,
        name: str,
        price: Amount,
        category: str,
        description: str | NotGiven | None = NOT_GIVEN,
        **options: Unpack[RequestOptions],
    ) -> Product:
        """Create a product (admins only); sent with an `Idempotency-Key`."""
        spec = _write("POST", None, name, price, category, description)
        return self._request(Product, spec, options)

    def replace(
        self,
        product_id: str,
        *,
        name: str,
        price: Amount,
        category: str,
        description: str | NotGiven | None = NOT_GIVEN,
        **options: Unpack[RequestOptions],
    ) -> Product:
        """Replace every field (PUT); a description left out is cleared."""
        spec = _write("PUT", product_id, name, price, category, description)
        return self._request(Product, spec, options)

    def update(
        self,
        product_id: str,
        *,
        name: str | NotGiven = NOT_GIVEN,
        price: Amount | NotGiven = NOT_GIVEN,
        category: str | NotGiven = NOT_GIVEN,
        description: str | NotGiven | None = NOT_GIVEN,
        **options: Unpack[RequestOptions],
    ) -> Product:
        """Change the fields given (PATCH); None clears the description."""
        spec = _write("PATCH", product_id, name, price, category, description)
        return self._request(Product, spec, options)

    def delete(self, product_id: str, **options: Unpack[RequestOptions]) -> None:
        self._empty(RequestSpec("DELETE", path("/v2/products/{}", product_id)), options)


class AsyncProducts(AsyncResource):
    def list(
        self,
        *,
        category: str | NotGiven = NOT_GIVEN,
        min_price: Amount | NotGiven = NOT_GIVEN,
        max_price: Amount | NotGiven = NOT_GIVEN,
        page: int | NotGiven = NOT_GIVEN,
        limit: int | NotGiven = NOT_GIVEN,
        **options: Unpack[RequestOptions],
    ) -> AsyncPageRequest[Product]:
        """Products, filtered by category and price range (inclusive)."""
        query = filters(category, min_price, max_price, page, limit)
        return self._list(Product, "/v2/products", query, options)

    async def get(self, product_id: str, **options: Unpack[RequestOptions]) -> Product:
        spec = RequestSpec("GET", path("/v2/products/{}", product_id))
        return await self._request(Product, spec, options)

    async def create(
        self,
        *,
        name: str,
        price: Amount,
        category: str,
        description: str | NotGiven | None = NOT_GIVEN,
        **options: Unpack[RequestOptions],
    ) -> Product:
        """Create a product (admins only); sent with an `Idempotency-Key`."""
        spec = _write("POST", None, name, price, category, description)
        return await self._request(Product, spec, options)

    async def replace(
        self,
        product_id: str,
        *,
        name: str,
        price: Amount,
        category: str,
        description: str | NotGiven | None = NOT_GIVEN,
        **options: Unpack[RequestOptions],
    ) -> Product:
        """Replace every field (PUT); a description left out is cleared."""
        spec = _write("PUT", product_id, name, price, category, description)
        return await self._request(Product, spec, options)

    async def update(
        self,
        product_id: str,
        *,
        name: str | NotGiven = NOT_GIVEN,
        price: Amount | NotGiven = NOT_GIVEN,
        category: str | NotGiven = NOT_GIVEN,
        description: str | NotGiven | None = NOT_GIVEN,
        **options: Unpack[RequestOptions],
    ) -> Product:
        """Change the fields given (PATCH); None clears the description."""
        spec = _write("PATCH", product_id, name, price, category, description)
        return await self._request(Product, spec, options)

    async def delete(self, product_id: str, **options: Unpack[RequestOptions]) -> None:
        spec = RequestSpec("DELETE", path("/v2/products/{}", product_id))
        await self._empty(spec, options)
