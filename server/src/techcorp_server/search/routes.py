"""`GET /v2/search`: fuzzy search over products and users."""

from __future__ import annotations

from starlette.datastructures import QueryParams
from starlette.requests import Request
from starlette.responses import Response

from ..core.errors import BadRequestError
from ..core.http import json_response
from ..core.pagination import envelope, request_link_header
from ..core.routing import OperationRouter, QueryParam
from ..products.routes import LIST_FILTERS, LIST_QUERY, list_query
from .index import MAX_QUERY_WORDS, SearchQuery
from .schemas import SearchHit
from .service import ResourceType, SearchService
from .text import query_words

router = OperationRouter("/v2/search", "Search")

MAX_QUERY_LENGTH = 200
"""Characters of `q` after trimming."""

MAX_SEARCH_DEPTH = 1_000
"""Hits that paging reaches: a page must start before this many hits."""

RESOURCE_TYPES: tuple[ResourceType, ...] = ("product", "user")

SEARCH_QUERY = (
    QueryParam(
        "q",
        {"type": "string", "minLength": 1, "maxLength": MAX_QUERY_LENGTH},
        "The search words. Symbols are plain text. Each word matches exactly, "
        "with one typo from 5 letters and two from 9, and the last word also "
        "matches as the beginning of a longer word.",
        required=True,
    ),
    QueryParam(
        "type",
        {"type": "string", "enum": list(RESOURCE_TYPES)},
        "Search only products or only users. Without it both are searched "
        "and ranked together.",
    ),
    *LIST_QUERY,
)

DESCRIPTION = (
    "Products match on name, category and description, users on email. "
    "Hits rank by query words matched, then fewer typos, then the field (name, "
    "category, description), then exact over prefix over typo matches, then "
    "newest first. `category`, `min_price` and `max_price` limit the search to "
    f"products. Paging reaches the first {MAX_SEARCH_DEPTH:,} hits; `total` "
    "counts them all."
)

LINK_PARAMETERS = ("q", "type", *LIST_FILTERS)


def search_of(request: Request) -> SearchService:
    search: SearchService = request.app.state.search
    return search


def _search_words(params: QueryParams) -> tuple[str, ...]:
    values = params.getlist("q")
    if len(values) > 1:
        raise BadRequestError(
            f"Query parameter 'q' was given {len(values)} times; give it once.",
            details=[{"field": "q", "message": "Repeated parameter."}],
        )
    text = values[0].strip() if values else ""
    if not text:
        raise BadRequestError(
            "Query parameter 'q' is required: give the words to search for, "
            "for example '?q=widget'.",
            details=[{"field": "q", "message": "Missing or blank."}],
        )
    if len(text) > MAX_QUERY_LENGTH:
        raise BadRequestError(
            f"Query parameter 'q' must be at most {MAX_QUERY_LENGTH} characters, "
            f"got {len(text)}.",
            details=[{"field": "q", "message": f"Longer than {MAX_QUERY_LENGTH}."}],
        )
    return tuple(query_words(text)[:MAX_QUERY_WORDS])


def _resource_types(params: QueryParams, filtered: bool) -> tuple[ResourceType, ...]:
    values = params.getlist("type")
    if not values:
        return ("product",) if filtered else RESOURCE_TYPES
    chosen = [resource for resource in RESOURCE_TYPES if values == [resource]]
    if not chosen:
        raise BadRequestError(
            "Query parameter 'type' must be 'product' or 'user', or left out to "
            "search both.",
            details=[{"field": "type", "message": "Not 'product' or 'user'."}],
        )
    if chosen == ["user"] and filtered:
        raise BadRequestError(
            "Query parameters 'category', 'min_price' and 'max_price' apply to "
            "products; leave them out to search users.",
            details=[{"field": "type", "message": "Users have no such fields."}],
        )
    return tuple(chosen)


@router.get(
    "",
    summary="Search products and users",
    description=DESCRIPTION,
    response_model=SearchHit,
    paginated=True,
    query=SEARCH_QUERY,
    errors=(400, 401),
)
async def search(request: Request) -> Response:
    params = request.query_params
    words = _search_words(params)
    listing = list_query(params)
    query = SearchQuery(
        words,
        category=listing.category,
        min_cents=listing.min_cents,
        max_cents=listing.max_cents,
    )
    types = _resource_types(params, query.has_filters)
    page = listing.page
    if page.offset >= MAX_SEARCH_DEPTH:
        raise BadRequestError(
            f"Search pages must start within the first {MAX_SEARCH_DEPTH:,} hits; "
            "use a lower 'page' or add words to narrow the search.",
            details=[{"field": "page", "message": "Beyond the reachable hits."}],
        )

    result = await search_of(request).search(query, types, page.offset, page.limit)
    reachable = min(result.total, MAX_SEARCH_DEPTH)
    link = request_link_header(request, page, reachable, keep=LINK_PARAMETERS)
    return json_response(
        envelope(result.hits, page, result.total), headers={"Link": link}
    )
