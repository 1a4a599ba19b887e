"""Pages of a list, and lazy iteration over every item across pages.

A list call returns its first page: `data` contains that page's items, and
`page`, `limit` and `total` the position and the total count. Iterating the
page (`for`, or `async for` on the async client) goes on through the later
pages, fetching each only when the previous one is used up;
`iter_items(max_items=N)` stops after N items.
"""

from __future__ import annotations

import math
from collections.abc import AsyncIterator, Awaitable, Callable, Generator, Iterator
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

from pydantic import BaseModel

ItemT = TypeVar("ItemT")

__all__ = ["AsyncPage", "AsyncPageRequest", "Page", "SyncPage"]


class Envelope(BaseModel, Generic[ItemT]):
    """The body of every list response."""

    data: list[ItemT]
    page: int
    limit: int
    total: int


@dataclass(frozen=True)
class Page(Generic[ItemT]):
    """One page of a list."""

    data: list[ItemT]
    page: int
    limit: int
    total: int
    reachable: int | None = field(default=None, kw_only=True)
    """How many items paging can reach, when that is fewer than `total`:
    search pages must start within the first 1,000 hits."""

    @property
    def total_pages(self) -> int:
        return math.ceil(self.total / self.limit) if self.limit else 0

    @property
    def has_next_page(self) -> bool:
        # An empty page ends the walk even when `total` counts more (items
        # deleted meanwhile, or a proxy that ignores `page`).
        if not self.data or self.page >= self.total_pages:
            return False
        return self.reachable is None or self.page * self.limit < self.reachable


def _capped(max_items: int | None) -> float:
    if max_items is not None and max_items < 0:
        raise ValueError("max_items must be 0 or more.")
    return math.inf if max_items is None else max_items


@dataclass(frozen=True)
class SyncPage(Page[ItemT]):
    """A page from the sync client; `for item in page` walks every later page."""

    fetch_page: Callable[[int], SyncPage[ItemT]] = field(repr=False, compare=False)

    def next_page(self) -> SyncPage[ItemT] | None:
        return self.fetch_page(self.page + 1) if self.has_next_page else None

    def iter_pages(self) -> Iterator[SyncPage[ItemT]]:
        page: SyncPage[ItemT] | None = self
        while page is not None:
            yield page
            page = page.next_page()

    def iter_items(self, max_items: int | None = None) -> Iterator[ItemT]:
        remaining = _capped(max_items)
        for page in self.iter_pages():
            for item in page.data:
                if remaining <= 0:
                    return
                remaining -= 1
                yield item

    def __iter__(self) -> Iterator[ItemT]:
        return self.iter_items()


@dataclass(frozen=True)
class AsyncPage(Page[ItemT]):
    """A page from the async client; `async for item in page` walks every
    later page."""

    fetch_page: Callable[[int], Awaitable[AsyncPage[ItemT]]] = field(
        repr=False, compare=False
    )

    async def next_page(self) -> AsyncPage[ItemT] | None:
        return await self.fetch_page(self.page + 1) if self.has_next_page else None

    async def iter_pages(self) -> AsyncIterator[AsyncPage[ItemT]]:
        page: AsyncPage[ItemT] | None = self
        while page is not None:
            yield page
            page = await page.next_page()

    async def iter_items(self, max_items: int | None = None) -> AsyncIterator[ItemT]:
        remaining = _capped(max_items)
        async for page in self.iter_pages():
            for item in page.data:
                if remaining <= 0:
                    return
                remaining -= 1
                yield item

    def __aiter__(self) -> AsyncIterator[ItemT]:
        return self.iter_items()


class AsyncPageRequest(Generic[ItemT]):
    """The result of an async list call: `await` it for the first page, or
    `async for` over it for every item."""

    def __init__(self, first_page: Callable[[], Awaitable[AsyncPage[ItemT]]]) -> None:
        self._first_page = first_page

    def __await__(self) -> Generator[Any, None, AsyncPage[ItemT]]:
        return self._first_page().__await__()

    async def iter_items(self, max_items: int | None = None) -> AsyncIterator[ItemT]:
        if max_items == 0:
            return
        page = await self._first_page()
        async for item in page.iter_items(max_items):
            yield item

    def __aiter__(self) -> AsyncIterator[ItemT]:
        return self.iter_items()
