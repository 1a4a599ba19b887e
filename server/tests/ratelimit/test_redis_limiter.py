"""The Redis limiter against a real Redis server on loopback."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest
import redis.asyncio as redis

from techcorp_server.core.errors import ServiceUnavailableError
from techcorp_server.ratelimit.limiter import create_rate_limiter
from techcorp_server.ratelimit.redis_limiter import KEY_PREFIX, RedisRateLimiter
from techcorp_server.settings import Settings

from ..utils.server import free_port
from .test_limiter import FakeClock


@pytest.fixture
async def limiters(redis_url: str) -> AsyncIterator[list[RedisRateLimiter]]:
    """Two limiters with clients of their own, as two server processes have."""
    clock = FakeClock(1_000_010.5)
    created = [
        RedisRateLimiter(redis.Redis.from_url(redis_url), 3, 60, clock=clock)
        for _ in range(2)
    ]
    yield created
    for limiter in created:
        await limiter.aclose()


async def test_limit_passes_then_rejects(limiters: list[RedisRateLimiter]) -> None:
    limiter = limiters[0]

    decisions = [await limiter.hit("198.51.100.1") for _ in range(5)]

    assert [d.allowed for d in decisions] == [True, True, True, False, False]
    assert [d.remaining for d in decisions] == [2, 1, 0, 0, 0]
    assert {d.reset_at for d in decisions} == {1_000_020}
    assert [d.retry_after for d in decisions] == [0, 0, 0, 10, 10]


async def test_limiters_share_counts(limiters: list[RedisRateLimiter]) -> None:
    first, second = limiters

    await first.hit("k")
    await second.hit("k")
    third = await first.hit("k")
    fourth = await second.hit("k")

    assert third.allowed
    assert third.remaining == 0
    assert not fourth.allowed


async def test_concurrent_hits_pass_exactly_limit(redis_url: str) -> None:
    created = [RedisRateLimiter.from_url(redis_url, 100, 60) for _ in range(2)]
    try:
        hits = [created[n % 2].hit("203.0.113.9") for n in range(1000)]
        decisions = await asyncio.gather(*hits)
    finally:
        for limiter in created:
            await limiter.aclose()

    assert sum(d.allowed for d in decisions) == 100
    assert sorted(d.remaining for d in decisions if d.allowed) == list(range(100))


async def test_new_window_starts_from_zero(redis_url: str) -> None:
    clock = FakeClock(1_000_019.0)
    limiter = RedisRateLimiter(redis.Redis.from_url(redis_url), 1, 60, clock=clock)
    try:
        assert (await limiter.hit("k")).allowed
        assert not (await limiter.hit("k")).allowed
        clock.now = 1_000_020.0
        assert (await limiter.hit("k")).allowed
    finally:
        await limiter.aclose()


async def test_counters_expire_after_window(redis_url: str) -> None:
    client = redis.Redis.from_url(redis_url)
    limiter = RedisRateLimiter(client, 5, 60, clock=FakeClock(1_000_010.5))
    try:
        await limiter.hit("k")
        keys = await client.keys(f"{KEY_PREFIX}:*")
        ttl = await client.ttl(keys[0])
    finally:
        await limiter.aclose()

    assert keys == [f"{KEY_PREFIX}:16666:k".encode()]
    assert 0 < ttl <= 61


async def test_unreachable_redis_raises_service_unavailable() -> None:
    # Nothing listens on a port that was free a moment ago.
    url = f"redis://127.0.0.1:{free_port()}/0"
    limiter = RedisRateLimiter.from_url(url, limit=5, window_seconds=60)
    try:
        with pytest.raises(ServiceUnavailableError, match="unreachable"):
            await limiter.hit("k")
        with pytest.raises(ServiceUnavailableError):
            await limiter.ping()
    finally:
        await limiter.aclose()


async def test_settings_select_redis(redis_url: str) -> None:
    limiter = create_rate_limiter(Settings(redis_url=redis_url))
    try:
        assert isinstance(limiter, RedisRateLimiter)
        assert (await limiter.hit("k")).allowed
    finally:
        await limiter.aclose()
