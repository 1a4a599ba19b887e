"""Sending one connection's messages in order, with a bounded backlog.

granian's ASGI `send` starts the write when it is called and returns an
awaitable that completes once the socket has taken the message. Awaiting
each one from a task costs a wake-up of the event loop from granian's
thread, several times the cost of the send itself. So while the previous
message has been taken and nothing waits, a new message goes out at once,
from the caller. Otherwise it waits in the bounded queue, and the sender
task sends the queue's messages one at a time, each after the previous one
was taken. A client that stops reading thus fills only its own queue.

Servers whose `send` is a coroutine function (uvicorn, or any wrapper)
always go through the queue and the sender task.
"""

from __future__ import annotations

import asyncio
import enum
import inspect
from collections.abc import Awaitable, Callable
from typing import Any, Protocol

from starlette.types import Message


class Write(Protocol):
    """The awaitable granian's `send` returns."""

    def done(self) -> bool: ...

    def __await__(self) -> Any: ...


SendFunction = Callable[[Message], Awaitable[None]]


class Put(enum.Enum):
    """The outcome of `MessageSender.put` for one message."""

    SENT = "sent"
    """The write started at once."""
    QUEUED = "queued"
    REFUSED = "refused"
    """The queue was full."""


class MessageSender:
    def __init__(
        self, send: SendFunction, queue_size: int, *, held: bool = False
    ) -> None:
        """With `held`, every message waits in the queue until `drain` starts,
        so messages that the caller sends itself before that go out first."""
        self._send: Callable[[Message], Any] = send
        self._starts_at_call = not inspect.iscoroutinefunction(send)
        self._queue: asyncio.Queue[Message] = asyncio.Queue(queue_size)
        self._write: Write | None = None
        self._draining = held

    @property
    def writing(self) -> bool:
        """True while the socket has not taken the write started last."""
        return self._write is not None and not self._write.done()

    def put(self, message: Message) -> Put:
        """Send `message` at once, or queue it if the queue has room."""
        if (
            self._starts_at_call
            and not self._draining
            and self._queue.empty()
            and not self.writing
        ):
            self._write = self._send(message)
            return Put.SENT
        try:
            self._queue.put_nowait(message)
        except asyncio.QueueFull:
            return Put.REFUSED
        return Put.QUEUED

    async def drain(self) -> None:
        """Send queued messages until cancelled; raises when a send fails."""
        # Messages put from here on may go out at once only while none wait.
        self._draining = False
        while True:
            message = await self._queue.get()
            self._draining = True
            if self._write is not None:
                await self._write
                self._write = None
            if self._starts_at_call:
                self._write = self._send(message)
            else:
                await self._send(message)
            self._draining = False
