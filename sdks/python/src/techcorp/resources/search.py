"""`client.search`: fuzzy search over products and users."""

from __future__ import annotations

from typing import Literal, Unpack

from .._base import NOT_GIVEN, NotGiven, RequestOptions, compact
from .._resource import AsyncResource, SyncResource
from ..models import SearchHit
from ..pagination import AsyncPageRequest, SyncPage
from .products import Amount, filters

Kind = Literal["product", "user"]

REACHABLE_HITS = 1_000
"""Search pages must start within the first 1,000 hits; `total` counts all."""


def _query(
    q: str,
    type: Kind | NotGiven,
    category: str | NotGiven,
    min_price: Amount | NotGiven,
    max_price: Amount | NotGiven,
    page: int | NotGiven,
    limit: int | NotGiven,
) -> dict[str, object]:
    product_filters = filters(category, min_price, max_price, page, limit)
    return {"q": q, **compact(type=type), **product_filters}


class Search(SyncResource):
    def query(
        self,
        q: str,
        *,
        type: Kind | NotGiven = NOT_GIVEN,
        category: str | NotGiven = NOT_GIVEN,
        min_price: Amount | NotGiven = NOT_GIVEN,
        max_price: Amount | NotGiven = NOT_GIVEN,
        page: int | NotGiven = NOT_GIVEN,
        limit: int | NotGiven = NOT_GIVEN,
        **options: Unpack[RequestOptions],
    ) -> SyncPage[SearchHit]:
        """Products and users matching `q`, typos forgiven, best first.

        `type` searches only products or only users; the other filters apply
        to products.
        """
        params = _query(q, type, category, min_price, max_price, page, limit)
        return self._list(SearchHit, "/v2/search", params, options, REACHABLE_HITS)


class AsyncSearch(AsyncResource):
    def query(
        self,
        q: str,
        *,
        type: Kind | NotGiven = NOT_GIVEN,
        category: str | NotGiven = NOT_GIVEN,
        min_price: Amount | NotGiven = NOT_GIVEN,
        max_price: Amount | NotGiven = NOT_GIVEN,
        page: int | NotGiven = NOT_GIVEN,
        limit: int | NotGiven = NOT_GIVEN,
        **options: Unpack[RequestOptions],
    ) -> AsyncPageRequest[SearchHit]:
        """Products and users matching `q`, typos forgiven, best first."""
        params = _query(q, type, category, min_price, max_price, page, limit)
        return self._list(SearchHit, "/v2/search", params, options, REACHABLE_HITS)
