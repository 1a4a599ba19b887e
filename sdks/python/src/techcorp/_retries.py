"""When to retry a failed request, and how long to wait first.

Pure functions of the failure, the attempt number and the headers, so the
sync and async clients share them and the test vectors in
`sdks/testdata/retries.json` can check every rule.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from email.utils import parsedate_to_datetime

RETRYABLE_STATUSES = frozenset({408, 409, 429})
REPLAYABLE_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "PUT", "PATCH", "DELETE"})

DEFAULT_MAX_RETRIES = 2


@dataclass(frozen=True)
class RetryPolicy:
    """The client's retry settings, in seconds.

    The n-th retry waits `initial_backoff_seconds * 2 ** (n - 1)`, at most
    `max_backoff_seconds`, less a random share of up to `jitter` of it, so
    clients that failed together do not retry together. A 429 waits for
    `Retry-After` (or until `X-RateLimit-Reset`) instead; when that is
    longer than `max_rate_limit_wait_seconds` the client gives up at once.
    """

    initial_backoff_seconds: float = 0.5
    max_backoff_seconds: float = 8.0
    jitter: float = 0.25
    max_rate_limit_wait_seconds: float = 60.0
    random: Callable[[], float] = field(default=random.random, repr=False)


@dataclass(frozen=True)
class Failure:
    """The failure of one attempt: an error status, or no response at all.

    `sent` is False when the connection failed before the request left
    (nothing reached the server, so any request may be sent again).
    """

    status: int | None = None
    headers: Mapping[str, str] = field(default_factory=dict)
    sent: bool = True


def is_replayable(method: str, has_idempotency_key: bool) -> bool:
    """Return whether sending the request twice has the same effect as once.

    A POST creates something each time, unless it carries an
    `Idempotency-Key`: the server then returns the first response again to
    a repeat.
    """
    return method.upper() in REPLAYABLE_METHODS or has_idempotency_key


def is_retryable(failure: Failure) -> bool:
    if failure.status is None:
        return True
    return failure.status in RETRYABLE_STATUSES or failure.status >= 500


def retry_wait(
    failure: Failure,
    *,
    attempt: int,
    max_retries: int,
    replayable: bool,
    now: float,
    policy: RetryPolicy,
) -> float | None:
    """Seconds to wait before retrying, or None to give up.

    `attempt` is the number of the attempt that failed, from 1; `now` is the
    Unix time, for `X-RateLimit-Reset`.
    """
    if attempt > max_retries or not is_retryable(failure):
        return None

    # A request that may have reached the server is sent again only when a
    # second copy cannot act twice.
    if failure.sent and not replayable:
        return None

    # The server sent when to come back: wait that long, or give up when it
    # is longer than the caller is willing to wait.
    server_wait = _server_wait(failure, now)
    if server_wait is not None:
        return (
            server_wait if server_wait <= policy.max_rate_limit_wait_seconds else None
        )

    return backoff(attempt, policy)


def backoff(attempt: int, policy: RetryPolicy) -> float:
    base = policy.initial_backoff_seconds * 2.0 ** (attempt - 1)
    capped = min(base, policy.max_backoff_seconds)
    jitter = policy.jitter * float(policy.random())
    return capped * (1 - jitter)


def _server_wait(failure: Failure, now: float) -> float | None:
    retry_after = _retry_after_seconds(failure.headers.get("retry-after"), now)
    if retry_after is not None:
        return retry_after
    if failure.status != 429:
        return None
    reset = failure.headers.get("x-ratelimit-reset")
    if reset is not None and reset.isdigit():
        return max(0.0, int(reset) - now)
    return None


def _retry_after_seconds(value: str | None, now: float) -> float | None:
    """Read `Retry-After` as seconds or as an HTTP date (RFC 9110 10.2.3)."""
    if value is None:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - now)
