"""The base classes of the resources: each method builds a `RequestSpec` and
hands it to its client, so the resources hold no transport logic."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from pydantic import TypeAdapter, ValidationError

from ._base import ModelT, RequestOptions, RequestSpec
from ._errors import error_for_invalid_body
from .pagination import AsyncPageRequest, Envelope

if TYPE_CHECKING:
    import httpx

    from ._client import AsyncTechCorp, TechCorp
    from .pagination import SyncPage


def path(template: str, *ids: str) -> str:
    """Fill `{}` slots with ids, escaped so that an id cannot change the path.

    Dots are escaped too: httpx resolves a `.` or `..` segment (RFC 3986
    section 5.2.4), so the id `..` would otherwise send the request to the
    parent path.
    """
    return template.format(*(quote(id_, safe="").replace(".", "%2E") for id_ in ids))


def with_page(spec: RequestSpec, page: int) -> RequestSpec:
    return replace(spec, params={**(spec.params or {}), "page": page})


def parse_envelope(model: type[ModelT], response: httpx.Response) -> Envelope[ModelT]:
    adapter: TypeAdapter[Envelope[ModelT]] = TypeAdapter(Envelope[model])  # type: ignore[valid-type]
    try:
        return adapter.validate_json(response.content)
    except ValidationError as exc:
        expected = f"page of {model.__name__}"
        raise error_for_invalid_body(response, expected, exc) from exc


class SyncResource:
    def __init__(self, client: TechCorp) -> None:
        self._client = client

    def _request(
        self, model: type[ModelT], spec: RequestSpec, options: RequestOptions
    ) -> ModelT:
        return self._client._request(model, spec, options)

    def _empty(self, spec: RequestSpec, options: RequestOptions) -> None:
        self._client._send(spec, options)

    def _list(
        self,
        model: type[ModelT],
        path: str,
        params: Mapping[str, Any],
        options: RequestOptions,
        reachable: int | None = None,
    ) -> SyncPage[ModelT]:
        spec = RequestSpec("GET", path, params)
        return self._client._page(model, spec, options, reachable)


class AsyncResource:
    def __init__(self, client: AsyncTechCorp) -> None:
        self._client = client

    async def _request(
        self, model: type[ModelT], spec: RequestSpec, options: RequestOptions
    ) -> ModelT:
        return await self._client._request(model, spec, options)

    async def _empty(self, spec: RequestSpec, options: RequestOptions) -> None:
        await self._client._send(spec, options)

    def _list(
        self,
        model: type[ModelT],
        path: str,
        params: Mapping[str, Any],
        options: RequestOptions,
        reachable: int | None = None,
    ) -> AsyncPageRequest[ModelT]:
        spec = RequestSpec("GET", path, params)
        return AsyncPageRequest(
            lambda: self._client._page(model, spec, options, reachable)
        )
