"""The `/v2/products` endpoints."""

from __future__ import annotations

from functools import lru_cache

from starlette.datastructures import QueryParams
from starlette.requests import Request
from starlette.responses import Response

from ..auth.principal import principal_of, require_admin
from ..core.errors import BadRequestError
from ..core.http import EncodedJSONResponse, json_response, read_model
from ..core.money import MAX_PRICE, to_cents
from ..core.pagination import (
    MAX_CACHED_QUERY_BYTES,
    PAGE_QUERY,
    page_request,
    request_link_header,
)
from ..core.query import query_money, query_str
from ..core.routing import OperationRouter, QueryParam
from .cache import ListQuery
from .schemas import (
    MAX_CATEGORY_LENGTH,
    ProductCreate,
    ProductPublic,
    ProductReplace,
    ProductUpdate,
)
from .service import ProductCatalog

router = OperationRouter("/v2/products", "Products")

LIST_FILTERS = ("category", "min_price", "max_price")
"""Query parameters of the list that its `Link` header carries along."""

PRICE_SCHEMA = {"type": "number", "minimum": 0, "maximum": float(MAX_PRICE)}
LIST_QUERY = (
    QueryParam(
        "category",
        {"type": "string", "minLength": 1, "maxLength": MAX_CATEGORY_LENGTH},
        "Only products in this category, ignoring letter case.",
    ),
    QueryParam("min_price", PRICE_SCHEMA, "Only products priced at least this."),
    QueryParam("max_price", PRICE_SCHEMA, "Only products priced at most this."),
    *PAGE_QUERY,
)


def catalog_of(request: Request) -> ProductCatalog:
    catalog: ProductCatalog = request.app.state.catalog
    return catalog


def _price_bound(params: QueryParams, name: str) -> int | None:
    amount = query_money(params, name)
    if amount is None:
        return None
    if amount > MAX_PRICE:
        raise BadRequestError(
            f"Query parameter '{name}' must be at most {MAX_PRICE}.",
            details=[{"field": name, "message": f"Must be at most {MAX_PRICE}."}],
        )
    return to_cents(amount)


def _category_filter(params: QueryParams) -> str | None:
    category = query_str(params, "category", max_length=MAX_CATEGORY_LENGTH)
    if category is None:
        return None
    category = category.strip().lower()
    if not category:
        raise BadRequestError(
            "Query parameter 'category' is empty. Give a category or leave it out.",
            details=[{"field": "category", "message": "Empty."}],
        )
    return category


@lru_cache(maxsize=4096)
def cached_list_query(query_string: bytes) -> ListQuery:
    """Parse a raw query string once; repeated list requests reuse the result.

    Parsing is pure, and invalid strings raise, which `lru_cache` never stores.
    """
    return list_query(QueryParams(query_string))


def list_query(params: QueryParams) -> ListQuery:
    """Parse the filters and page of `GET /v2/products`, rejecting bad ones."""
    min_cents = _price_bound(params, "min_price")
    max_cents = _price_bound(params, "max_price")
    if min_cents is not None and max_cents is not None and min_cents > max_cents:
        raise BadRequestError(
            "Query parameter 'min_price' must not be greater than 'max_price'.",
            details=[{"field": "min_price", "message": "Greater than max_price."}],
        )
    return ListQuery(
        category=_category_filter(params),
        min_cents=min_cents,
        max_cents=max_cents,
        page=page_request(params),
    )


@router.get(
    "",
    summary="List products",
    description="Products newest first, filtered by category and price range "
    "(both bounds inclusive).",
    response_model=ProductPublic,
    paginated=True,
    query=LIST_QUERY,
    errors=(400, 401),
)
async def list_products(request: Request) -> Response:
    query_string: bytes = request.scope["query_string"]
    if len(query_string) > MAX_CACHED_QUERY_BYTES:
        query = list_query(QueryParams(query_string))
    else:
        query = cached_list_query(query_string)
    page = await catalog_of(request).list_page(query)

    # The body may come from the cache, but the links depend on this URL.
    link = request_link_header(request, query.page, page.total, keep=LIST_FILTERS)
    return EncodedJSONResponse(page.body, [(b"link", link.encode("latin-1"))])


@router.get(
    "/{product_id}",
    summary="Get a product",
    response_model=ProductPublic,
    errors=(401, 404),
)
async def get_product(request: Request) -> Response:
    product = await catalog_of(request).get(request.path_params["product_id"])
    return json_response(product)


@router.post(
    "",
    summary="Create a product",
    description="Requires the admin role.",
    request_model=ProductCreate,
    response_model=ProductPublic,
    status_code=201,
    idempotent=True,
    errors=(400, 401, 403, 415),
)
async def create_product(request: Request) -> Response:
    require_admin(principal_of(request), "create products")
    fields = await read_model(request, ProductCreate)

    product = await catalog_of(request).create(fields)
    location = f"{router.prefix}/{product['id']}"
    return json_response(product, status_code=201, headers={"Location": location})


@router.put(
    "/{product_id}",
    summary="Replace a product",
    description="Requires the admin role. Replaces every field, so a "
    "description left out is removed.",
    request_model=ProductReplace,
    response_model=ProductPublic,
    errors=(400, 401, 403, 404, 415),
)
async def replace_product(request: Request) -> Response:
    require_admin(principal_of(request), "change products")
    fields = await read_model(request, ProductReplace)

    product = await catalog_of(request).replace(
        request.path_params["product_id"], fields
    )
    return json_response(product)


@router.patch(
    "/{product_id}",
    summary="Update a product",
    description="Requires the admin role. Only the fields given change, and "
    "`description: null` removes the description.",
    request_model=ProductUpdate,
    response_model=ProductPublic,
    errors=(400, 401, 403, 404, 415),
)
async def update_product(request: Request) -> Response:
    require_admin(principal_of(request), "change products")
    changes = await read_model(request, ProductUpdate)

    product = await catalog_of(request).update(
        request.path_params["product_id"], changes
    )
    return json_response(product)


@router.delete(
    "/{product_id}",
    summary="Delete a product",
    description="Requires the admin role.",
    status_code=204,
    errors=(401, 403, 404),
)
async def delete_product(request: Request) -> Response:
    require_admin(principal_of(request), "delete products")
    await catalog_of(request).delete(request.path_params["product_id"])
    return Response(status_code=204)
