"""The fixed-window limiter with its counts in Redis, shared by every process.

Each hit is one Redis round trip: a Lua script that increments the client's
counter for the current window and sets its expiry on the first hit. Redis
runs a script atomically, so of N simultaneous hits from any number of
processes exactly `limit` pass, and no update is lost.

The window is taken from this process's clock, like the in-process limiter,
so processes whose clocks differ by a few milliseconds can count a hit at a
window's edge in different windows. Keys name their window, so the counts of
one window never reach the next.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from typing import cast

import redis.asyncio as redis
from redis.exceptions import RedisError

from ..core.errors import ServiceUnavailableError
from .limiter import Decision

KEY_PREFIX = "techcorp:ratelimit"

# KEYS[1]: the client's counter for this window. ARGV[1]: its lifetime in
# seconds. Returns the count including this hit.
HIT_SCRIPT = """
local count = redis.call('INCR', KEYS[1])
if count == 1 then
  redis.call('EXPIRE', KEYS[1], ARGV[1])
end
return count
"""

TIMEOUT_SECONDS = 1.0
"""How long a hit waits for Redis, or for a free connection to it, before
the request fails with 503."""

MAX_CONNECTIONS = 32
"""Connections to Redis per process. Hits beyond this many at once wait for
a free connection instead of opening more."""


class RedisRateLimiter:
    def __init__(
        self,
        client: redis.Redis,
        limit: int,
        window_seconds: int,
        clock: Callable[[], float] = time.time,
    ) -> None:
        if limit < 1 or window_seconds < 1:
            raise ValueError("limit and window_seconds must be at least 1")
        self.limit = limit
        self.window_seconds = window_seconds
        self._client = client
        self._clock = clock
        self._hit = client.register_script(HIT_SCRIPT)
        # A key outlives its window by a little, so a hit that reaches Redis
        # just after the window ends still finds a counter that expires.
        self._key_seconds = window_seconds + 1

    @classmethod
    def from_url(cls, url: str, limit: int, window_seconds: int) -> RedisRateLimiter:
        pool = redis.BlockingConnectionPool.from_url(
            url,
            max_connections=MAX_CONNECTIONS,
            timeout=TIMEOUT_SECONDS,
            socket_timeout=TIMEOUT_SECONDS,
            socket_connect_timeout=TIMEOUT_SECONDS,
            health_check_interval=30,
        )
        return cls(redis.Redis.from_pool(pool), limit, window_seconds)

    async def hit(self, key: str) -> Decision:
        now = self._clock()
        window = int(now // self.window_seconds)
        try:
            result = await self._hit(
                keys=[f"{KEY_PREFIX}:{window}:{key}"], args=[self._key_seconds]
            )
        except RedisError as exc:
            raise ServiceUnavailableError(
                "The rate limiter's store (Redis) is unreachable. Retry in a "
                "few seconds."
            ) from exc
        count = cast(int, result)

        reset_at = (window + 1) * self.window_seconds
        if count <= self.limit:
            return Decision(True, self.limit, self.limit - count, reset_at, 0)
        retry_after = max(1, math.ceil(reset_at - now))
        return Decision(False, self.limit, 0, reset_at, retry_after)

    async def ping(self) -> None:
        """Raise `ServiceUnavailableError` unless Redis replies to PING."""
        try:
            await self._client.ping()
        except RedisError as exc:
            raise ServiceUnavailableError("Redis is unreachable.") from exc

    async def aclose(self) -> None:
        await self._client.aclose()
