"""When a failed delivery is tried again, and when it is given up."""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import datetime, timedelta

JITTER = 0.2
"""Each delay is spread by up to this fraction either way, so deliveries that
failed together do not all return to a recovering receiver at once."""


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """Exponential backoff with jitter, within a window after the event.

    With the defaults (5 s, doubling, at most 6 h, for 3 days) a delivery
    gets about 24 attempts.
    """

    base_seconds: float
    max_delay_seconds: float
    window_seconds: float

    def delay_seconds(self, attempt: int) -> float:
        """Return the wait after failed attempt number `attempt` (from 1)."""
        exponent = min(attempt - 1, 32)
        delay: float = min(self.base_seconds * 2.0**exponent, self.max_delay_seconds)
        return delay * random.uniform(1 - JITTER, 1 + JITTER)  # noqa: S311

    def next_attempt_at(
        self, attempt: int, created_at: datetime, now: datetime
    ) -> datetime | None:
        """Return when to try again, or None once the window has passed."""
        when = now + timedelta(seconds=self.delay_seconds(attempt))
        if when > created_at + timedelta(seconds=self.window_seconds):
            return None
        return when
