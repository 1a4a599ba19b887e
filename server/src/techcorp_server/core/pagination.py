"""Page-number pagination: the list envelope and the RFC 8288 `Link` header."""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from typing import Any
from urllib.parse import parse_qsl, urlencode

from starlette.datastructures import URL, QueryParams
from starlette.requests import Request

from .query import query_int
from .routing import QueryParam

DEFAULT_LIMIT = 20
MAX_LIMIT = 100
MAX_PAGE = 1_000_000

PAGE_QUERY = (
    QueryParam(
        "page",
        {"type": "integer", "minimum": 1, "maximum": MAX_PAGE, "default": 1},
        "Page number, from 1.",
    ),
    QueryParam(
        "limit",
        {
            "type": "integer",
            "minimum": 1,
            "maximum": MAX_LIMIT,
            "default": DEFAULT_LIMIT,
        },
        "Items per page.",
    ),
)


@dataclass(frozen=True)
class PageRequest:
    page: int
    limit: int

    @property
    def offset(self) -> int:
        return (self.page - 1) * self.limit


def page_request(params: QueryParams) -> PageRequest:
    page = query_int(params, "page", default=1, minimum=1, maximum=MAX_PAGE)
    limit = query_int(
        params, "limit", default=DEFAULT_LIMIT, minimum=1, maximum=MAX_LIMIT
    )
    return PageRequest(page=page, limit=limit)


def envelope(items: list[Any], request: PageRequest, total: int) -> dict[str, Any]:
    return {"data": items, "page": request.page, "limit": request.limit, "total": total}


def request_link_header(request: Request, page: PageRequest, total: int) -> str:
    """Build the `Link` header of a list response, cached per distinct URL.

    List pages are served from memory, and building the links would
    otherwise cost more than serving the page.
    """
    scope = request.scope
    return _cached_link_header(
        scope["scheme"],
        request.headers.get("host", ""),
        scope["path"],
        scope["query_string"],
        page,
        total,
    )


@lru_cache(maxsize=4096)
def _cached_link_header(
    scheme: str, host: str, path: str, query: bytes, page: PageRequest, total: int
) -> str:
    url = URL(f"{scheme}://{host}{path}?{query.decode('latin-1')}")
    return link_header(url, page, total)


def link_header(url: URL, request: PageRequest, total: int) -> str:
    """Build `Link` with first, prev, next and last, keeping other parameters.

    The query is parsed once and the four links are formatted from it: this
    runs on every list request, cached pages included.
    """
    last = max(1, -(-total // request.limit))
    pages = {"first": 1, "last": last}
    if request.page > 1:
        pages["prev"] = min(request.page - 1, last)
    if request.page < last:
        pages["next"] = request.page + 1

    kept = [
        (name, value)
        for name, value in parse_qsl(url.query, keep_blank_values=True)
        if name not in ("page", "limit")
    ]
    base = f"{url.scheme}://{url.netloc}{url.path}?"
    if kept:
        base += urlencode(kept) + "&"

    links = []
    for relation in ("first", "prev", "next", "last"):
        if relation in pages:
            target = f"{base}page={pages[relation]}&limit={request.limit}"
            links.append(f'<{target}>; rel="{relation}"')
    return ", ".join(links)
