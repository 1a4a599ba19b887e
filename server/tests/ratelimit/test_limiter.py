"""The in-process fixed-window limiter."""

from __future__ import annotations

import asyncio

import pytest

from techcorp_server.ratelimit.limiter import MemoryRateLimiter, create_rate_limiter
from techcorp_server.settings import Settings


class FakeClock:
    def __init__(self, now: float) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


async def test_limit_passes_then_rejects() -> None:
    clock = FakeClock(1_000_000.0)
    limiter = MemoryRateLimiter(limit=3, window_seconds=60, clock=clock)

    decisions = [await limiter.hit("198.51.100.1") for _ in range(5)]

    assert [d.allowed for d in decisions] == [True, True, True, False, False]
    assert [d.remaining for d in decisions] == [2, 1, 0, 0, 0]
    assert all(d.limit == 3 for d in decisions)


async def test_reset_at_is_window_end() -> None:
    clock = FakeClock(1_000_010.5)
    limiter = MemoryRateLimiter(limit=1, window_seconds=60, clock=clock)

    allowed = await limiter.hit("k")
    rejected = await limiter.hit("k")

    # 1_000_010.5 lies in the window [999_960, 1_000_020).
    assert allowed.reset_at == 1_000_020
    assert allowed.retry_after == 0
    assert rejected.reset_at == 1_000_020
    assert rejected.retry_after == 10


async def test_retry_after_is_at_least_one_second() -> None:
    clock = FakeClock(1_000_019.9)
    limiter = MemoryRateLimiter(limit=1, window_seconds=60, clock=clock)

    await limiter.hit("k")
    rejected = await limiter.hit("k")

    assert rejected.retry_after == 1


async def test_keys_counted_apart() -> None:
    limiter = MemoryRateLimiter(limit=1, window_seconds=60, clock=FakeClock(0.0))

    assert (await limiter.hit("a")).allowed
    assert (await limiter.hit("b")).allowed
    assert not (await limiter.hit("a")).allowed


async def test_new_window_starts_from_zero() -> None:
    clock = FakeClock(120.0)
    limiter = MemoryRateLimiter(limit=2, window_seconds=60, clock=clock)
    for _ in range(3):
        await limiter.hit("k")

    clock.now = 180.0
    decision = await limiter.hit("k")

    assert decision.allowed
    assert decision.remaining == 1
    assert decision.reset_at == 240


async def test_old_windows_are_evicted() -> None:
    clock = FakeClock(0.0)
    limiter = MemoryRateLimiter(limit=5, window_seconds=60, clock=clock)
    for number in range(1000):
        await limiter.hit(f"client-{number}")
    assert limiter.tracked_keys == 1000

    clock.now = 60.0
    await limiter.hit("client-0")

    assert limiter.tracked_keys == 1


async def test_exact_under_concurrency() -> None:
    limiter = MemoryRateLimiter(limit=100, window_seconds=60)

    decisions = await asyncio.gather(*(limiter.hit("k") for _ in range(1000)))

    assert sum(d.allowed for d in decisions) == 100
    assert sorted(d.remaining for d in decisions if d.allowed) == list(range(100))


def test_invalid_limit_rejected() -> None:
    with pytest.raises(ValueError, match="at least 1"):
        MemoryRateLimiter(limit=0, window_seconds=60)


def test_created_from_settings() -> None:
    settings = Settings(rate_limit_per_minute=7, rate_limit_window_seconds=30)

    limiter = create_rate_limiter(settings)

    assert limiter.limit == 7
    assert limiter.window_seconds == 30
