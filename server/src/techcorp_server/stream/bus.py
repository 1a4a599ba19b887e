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

from .events import EventId, StreamEvent

logger = logging.getLogger(__name__)

Listener = Callable[[StreamEvent], None]
Unsubscribe = Callable[[], None]


class EventBus(ABC):
    """Publishes events to every subscriber, in the order they were published."""

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
        from another run of the server, or is older than the history.
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
