"""Access tokens: fetched when first needed, cached, refreshed before expiry.

`TokenSource` (threads) and `AsyncTokenSource` (tasks) let one caller at a
time fetch a token; the others wait for it and use the same one.
"""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from .models import Token

logger = logging.getLogger("techcorp")

REFRESH_MARGIN_SECONDS = 60.0
"""A cached token is replaced this long before it expires, so that a request
never leaves with a token that runs out on the way. A token that lives less
than twice as long is replaced at half its lifetime instead."""


@dataclass
class _Cached:
    value: str
    refresh_at: float


class TokenCache:
    """The current token and when to replace it, on a monotonic clock."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self.clock = clock
        self._cached: _Cached | None = None

    def fresh(self) -> str | None:
        cached = self._cached
        if cached is None or self.clock() >= cached.refresh_at:
            return None
        return cached.value

    def store(self, token: Token, fetched_at: float) -> str:
        margin = min(REFRESH_MARGIN_SECONDS, token.expires_in / 2)
        refresh_at = fetched_at + token.expires_in - margin
        logger.debug("Fetched an access token that expires in %d s", token.expires_in)
        self._cached = _Cached(token.access_token, refresh_at)
        return token.access_token

    def clear(self, rejected: str | None = None) -> None:
        # Another caller may have fetched a new token since `rejected` was
        # sent; that one stays.
        cached = self._cached
        if cached is not None and (rejected is None or cached.value == rejected):
            self._cached = None


class TokenSource:
    """The sync client's token: `get()` returns a valid one, fetching it when
    the cache has none; `invalidate()` drops the cached one."""

    def __init__(
        self, fetch: Callable[[], Token], cache: TokenCache | None = None
    ) -> None:
        self._fetch = fetch
        self.cache = cache or TokenCache()
        self._lock = threading.Lock()

    def get(self) -> str:
        token = self.cache.fresh()
        if token is not None:
            return token
        with self._lock:
            token = self.cache.fresh()
            if token is None:
                fetched_at = self.cache.clock()
                token = self.cache.store(self._fetch(), fetched_at)
            return token

    def invalidate(self, rejected: str | None = None) -> None:
        """Drop the cached token (only if it is still `rejected`, when given)."""
        self.cache.clear(rejected)


class AsyncTokenSource:
    """The async client's token: `await get()` and `invalidate()`, as in
    `TokenSource`."""

    def __init__(
        self, fetch: Callable[[], Awaitable[Token]], cache: TokenCache | None = None
    ) -> None:
        self._fetch = fetch
        self.cache = cache or TokenCache()
        self._lock = asyncio.Lock()

    async def get(self) -> str:
        token = self.cache.fresh()
        if token is not None:
            return token
        async with self._lock:
            token = self.cache.fresh()
            if token is None:
                fetched_at = self.cache.clock()
                token = self.cache.store(await self._fetch(), fetched_at)
            return token

    def invalidate(self, rejected: str | None = None) -> None:
        """Drop the cached token (only if it is still `rejected`, when given)."""
        self.cache.clear(rejected)
