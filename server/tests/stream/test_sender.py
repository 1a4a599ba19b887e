"""The sender's fast path and queue, with a send that behaves like granian's.

granian's `send` starts the write when called and returns an awaitable with
`done()`. `FakeWrite` replaces it at that edge, and the tests with a real
server cover granian itself.
"""

from __future__ import annotations

import asyncio
from collections.abc import Generator
from typing import Any

from starlette.types import Message

from techcorp_server.stream.sender import MessageSender


class FakeWrite:
    def __init__(self) -> None:
        self.finished = asyncio.Event()

    def done(self) -> bool:
        return self.finished.is_set()

    def __await__(self) -> Generator[Any, None, None]:
        return self.finished.wait().__await__()


class Socket:
    """Records what was written; writes finish only when `take()` is called."""

    def __init__(self) -> None:
        self.written: list[str] = []
        self.writes: list[FakeWrite] = []

    def send(self, message: Message) -> FakeWrite:
        self.written.append(message["text"])
        write = FakeWrite()
        self.writes.append(write)
        return write

    def take(self) -> None:
        for write in self.writes:
            write.finished.set()


def _message(text: str) -> Message:
    return {"type": "websocket.send", "text": text}


async def test_idle_connection_sends_at_once() -> None:
    socket = Socket()
    sender = MessageSender(socket.send, queue_size=2)

    assert sender.put(_message("a"))

    assert socket.written == ["a"]


async def test_pending_write_queues_in_order() -> None:
    socket = Socket()
    sender = MessageSender(socket.send, queue_size=2)
    drain = asyncio.create_task(sender.drain())

    sender.put(_message("a"))
    sender.put(_message("b"))
    sender.put(_message("c"))
    await asyncio.sleep(0)
    written_while_pending = list(socket.written)
    for _ in range(3):
        socket.take()
        await asyncio.sleep(0.01)
    drain.cancel()

    assert written_while_pending == ["a"]
    assert socket.written == ["a", "b", "c"]


async def test_full_queue_refuses_message() -> None:
    socket = Socket()
    sender = MessageSender(socket.send, queue_size=2)

    results = [sender.put(_message(str(number))) for number in range(4)]

    assert results == [True, True, True, False]
    assert socket.written == ["0"]


async def test_coroutine_send_always_queues() -> None:
    written: list[str] = []

    async def send(message: Message) -> None:
        written.append(message["text"])

    sender = MessageSender(send, queue_size=4)
    drain = asyncio.create_task(sender.drain())
    sender.put(_message("a"))
    sender.put(_message("b"))
    await asyncio.sleep(0.01)
    drain.cancel()

    assert written == ["a", "b"]


async def test_held_sender_waits_for_drain() -> None:
    socket = Socket()
    sender = MessageSender(socket.send, queue_size=4, held=True)

    sender.put(_message("live"))
    written_before_drain = list(socket.written)
    socket.send(_message("opening"))
    socket.take()
    drain = asyncio.create_task(sender.drain())
    await asyncio.sleep(0.01)
    socket.take()
    await asyncio.sleep(0.01)
    sender.put(_message("later"))
    drain.cancel()

    assert written_before_drain == []
    assert socket.written == ["opening", "live", "later"]
