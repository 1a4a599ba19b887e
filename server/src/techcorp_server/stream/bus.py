"""The event bus: numbers events, keeps a bounded history, and delivers them.

`EventBus` is the seam between the stream and its transport. The in-process
bus below serves one server process. A bus shared by several processes
(Redis, for one) implements the same three methods, so the hub and the
connections stay as they are.
"""

from __future__ import annotations

import logging
import time
from abc import ABC, abstractmethod
from collections import deque
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from ..settings import Settings
from .events import EventId, StreamEvent

logger = logging.getLogger(__name__)

Listener = Callable[[StreamEvent], None]
Unsubscribe = Callable[[], None]


class EventBus(ABC):
    """Publishes events to every subscriber, in the order they were published."""

    shared = False
    """True when every server process publishes to and reads from this bus."""

    async def start(self) -> None:
        """Begin delivering events to the subscribers."""
        return None

    async def stop(self) -> None:
        """Stop delivering events and release what the bus holds."""
        return None

    def check_available(self) -> None:
        """Raise `ServiceUnavailableError` while the bus cannot deliver events.

        A bus that serves one process is always available.
        """
        return None

    async def latest(self, event_type: str) -> Mapping[str, Any] | None:
        """Return the data of the newest event of `event_type` others published.

        A bus that serves one process returns None: nothing was published
        before this process started.
        """
        return None

    @abstractmethod
    async def publish(self, event_type: str, data: Mapping[str, Any]) -> StreamEvent:
        """Give the event its id, record it in the history, and deliver it."""

    @abstractmethod
    def subscribe(self, listener: Listener) -> Unsubscribe:
        """Call `listener` with every event published from now on.

        A listener must not block: it runs on the publisher's path.
        """

    @abstractmethod
    async def events_after(self, event_id: str) -> Sequence[StreamEvent] | None:
        """Return the events published after `event_id`, oldest first.

        Returns None when that is not possible: the id is malformed, comes
        from another run of the server or from before the history was lost,
        or is older than the history. Raises `ServiceUnavailableError` when
        the history cannot be read right now.
        """


class InProcessEventBus(EventBus):
    """A bus for one process: a counter, a ring buffer and a listener list."""

    def __init__(self, history_size: int) -> None:
        self.epoch = time.time_ns() // 1_000_000
        self._sequence = 0
        self._history: deque[StreamEvent] = deque(maxlen=history_size)
        self._listeners: list[Listener] = []

    async def publish(self, event_type: str, data: Mapping[str, Any]) -> StreamEvent:
        self._sequence += 1
        event = StreamEvent.create(
            EventId(self.epoch, self._sequence), event_type, data
        )
        if self._history.maxlen:
            self._history.append(event)
        for listener in list(self._listeners):
            try:
                listener(event)
            except Exception:
                logger.exception(
                    "a stream listener failed", extra={"event_id": str(event.id)}
                )
        return event

    def subscribe(self, listener: Listener) -> Unsubscribe:
        self._listeners.append(listener)
        return lambda: self._listeners.remove(listener)

    async def events_after(self, event_id: str) -> Sequence[StreamEvent] | None:
        last = EventId.parse(event_id)
        if last is None or last.epoch != self.epoch or last.sequence > self._sequence:
            return None
        if last.sequence == self._sequence:
            return []
        # The history must still hold the event right after `last`.
        oldest = self._history[0].sequence if self._history else self._sequence + 1
        if last.sequence + 1 < oldest:
            return None
        return [event for event in self._history if event.sequence > last.sequence]


def create_event_bus(settings: Settings) -> EventBus:
    """Build the bus the settings select: in Redis when `redis_url` is set."""
    if settings.redis_url is not None:
        from .redis_bus import RedisEventBus

        return RedisEventBus.from_url(settings.redis_url, settings.stream_history_size)
    return InProcessEventBus(settings.stream_history_size)
