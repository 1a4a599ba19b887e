"""Fixed-window rate limiting: at most `limit` hits per key in each window.

Windows are aligned to multiples of the window length since the Unix epoch,
so every key's window resets at the same moment and `reset_at` is the same
for all clients. The in-process limiter is exact within one process; a Redis
limiter behind the same protocol shares the count across processes.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from typing import NamedTuple, Protocol

from ..settings import Settings


class Decision(NamedTuple):
    """The outcome of one hit, with what the rate-limit headers report.

    A named tuple, because one is made for every request and builds several
    times faster than a frozen dataclass.
    """

    allowed: bool
    limit: int
    remaining: int
    reset_at: int
    """Unix seconds at which the current window ends."""
    retry_after: int
    """Seconds to wait before the next hit can pass; 0 when allowed."""


class RateLimiter(Protocol):
    limit: int
    window_seconds: int

    async def hit(self, key: str) -> Decision:
        """Count one request for `key` and decide whether it may pass.

        Raises `ServiceUnavailableError` when the counts cannot be reached.
        """
        ...

    async def ping(self) -> None:
        """Raise `ServiceUnavailableError` unless the counts can be reached."""
        ...

    async def aclose(self) -> None:
        """Release connections; the limiter is not used afterwards."""
        ...


class MemoryRateLimiter:
    """A fixed-window limiter whose counts live in this process.

    `hit` never awaits, so on one event loop a read and its update cannot
    interleave with another request's: of N simultaneous hits exactly
    `limit` pass. Only the current window's counts are kept, so memory grows
    with the number of distinct keys seen in one window and no further.
    """

    def __init__(
        self,
        limit: int,
        window_seconds: int,
        clock: Callable[[], float] = time.time,
    ) -> None:
        if limit < 1 or window_seconds < 1:
            raise ValueError("limit and window_seconds must be at least 1")
        self.limit = limit
        self.window_seconds = window_seconds
        self._clock = clock
        self._window = -1
        self._counts: dict[str, int] = {}

    async def hit(self, key: str) -> Decision:
        now = self._clock()
        window = int(now // self.window_seconds)
        if window != self._window:
            # A new window starts every count from zero: drop the old ones.
            self._window = window
            self._counts = {}

        count = self._counts.get(key, 0) + 1
        self._counts[key] = count

        reset_at = (window + 1) * self.window_seconds
        if count <= self.limit:
            return Decision(True, self.limit, self.limit - count, reset_at, 0)
        retry_after = max(1, math.ceil(reset_at - now))
        return Decision(False, self.limit, 0, reset_at, retry_after)

    async def ping(self) -> None:
        return None

    async def aclose(self) -> None:
        return None

    @property
    def tracked_keys(self) -> int:
        """The number of keys counted in the current window."""
        return len(self._counts)


def create_rate_limiter(settings: Settings) -> RateLimiter:
    """Build the limiter that the settings select.

    With `redis_url` set, the counts live in Redis and every server process
    shares them; otherwise each process counts on its own.
    """
    if settings.redis_url is not None:
        from .redis_limiter import RedisRateLimiter

        return RedisRateLimiter.from_url(
            settings.redis_url,
            limit=settings.rate_limit_per_minute,
            window_seconds=settings.rate_limit_window_seconds,
        )
    return MemoryRateLimiter(
        limit=settings.rate_limit_per_minute,
        window_seconds=settings.rate_limit_window_seconds,
    )
