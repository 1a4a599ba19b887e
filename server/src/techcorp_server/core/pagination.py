"""Page-number pagination: the list envelope and the RFC 8288 `Link` header."""

from __future__ import annotations

import re
from functools import lru_cache
from typing import Any, NamedTuple
from urllib.parse import parse_qsl, urlencode

from starlette.datastructures import QueryParams
from starlette.requests import Request

from .http import header_value
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


class PageRequest(NamedTuple):
    """A page number and size. A named tuple, so it hashes fast as a cache key."""

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


# A Host header that is a plain name or address, with an optional port. Any
# other value gives relative links (RFC 8288 allows them) instead of echoing it.
_PLAIN_HOST = re.compile(
    r"[A-Za-z0-9.-]{1,253}(:[0-9]{1,5})?|\[[0-9A-Fa-f:.]{2,45}\](:[0-9]{1,5})?"
)

MAX_PLAIN_HOST_LENGTH = 259
"""The longest Host header that `_PLAIN_HOST` matches: a 253-character name
and a port."""

MAX_CACHED_QUERY_BYTES = 1024
"""Longer query strings are handled without the per-URL caches, which would
otherwise let a few thousand long URLs fill memory."""


def request_link_header(
    request: Request, page: PageRequest, total: int, keep: tuple[str, ...] = ()
) -> str:
    """Build the `Link` header of a list response, cached per distinct URL.

    Only the query parameters named in `keep` (the list's filters) are
    carried into the links, besides `page` and `limit`. List pages are served
    from memory, and building the links would otherwise cost more than
    serving the page.
    """
    scope = request.scope
    host = header_value(scope, b"host") or ""
    if len(host) > MAX_PLAIN_HOST_LENGTH:
        # Such a host gives relative links anyway. Left out of the cache key,
        # a few thousand long Host headers cannot fill memory.
        host = ""
    query: bytes = scope["query_string"]
    arguments = (scope["scheme"], host, scope["path"], query, keep, page, total)
    if len(query) > MAX_CACHED_QUERY_BYTES:
        return _link_header_for(*arguments)
    return _cached_link_header(*arguments)


def _link_header_for(
    scheme: str,
    host: str,
    path: str,
    query: bytes,
    keep: tuple[str, ...],
    page: PageRequest,
    total: int,
) -> str:
    origin = f"{scheme}://{host}" if _PLAIN_HOST.fullmatch(host) else ""
    return link_header(origin + path, query, keep, page, total)


_cached_link_header = lru_cache(maxsize=4096)(_link_header_for)


def link_header(
    base: str, query: bytes, keep: tuple[str, ...], request: PageRequest, total: int
) -> str:
    """Build `Link` with first, prev, next and last for the list at `base`."""
    last = max(1, -(-total // request.limit))
    pages = {"first": 1, "last": last}
    if request.page > 1:
        pages["prev"] = min(request.page - 1, last)
    if request.page < last:
        pages["next"] = request.page + 1

    kept = [
        (name, value)
        for name, value in parse_qsl(query.decode("latin-1"), keep_blank_values=True)
        if name in keep
    ]
    prefix = f"{base}?"
    if kept:
        prefix += urlencode(kept) + "&"

    links = []
    for relation in ("first", "prev", "next", "last"):
        if relation in pages:
            target = f"{prefix}page={pages[relation]}&limit={request.limit}"
            links.append(f'<{target}>; rel="{relation}"')
    return ", ".join(links)
