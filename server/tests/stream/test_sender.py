"""The sender's fast path and queue, and the hub's fan-out over it, with a
send that behaves like granian's.

granian's `send` starts the write when called and returns an awaitable with
`done()`. `FakeWrite` replaces it at that edge, and the tests with a real
server cover granian itself.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Generator
from typing import Any, cast

from starlette.types import Message
from starlette.websockets import WebSocket

from techcorp_server.auth.principal import Principal
from techcorp_server.auth.service import AuthService
from techcorp_server.core.request_context import SERVER_SEND
from techcorp_server.stream.bus import InProcessEventBus
from techcorp_server.stream.connection import (
    Caller,
    ConnectionLimits,
    StreamConnection,
)
from techcorp_server.stream.hub import FAN_OUT_SLICE, SLICE_WAIT_POLLS, StreamHub
from techcorp_server.stream.protocol import Subscription
from techcorp_server.stream.sender import MessageSender, Put


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
        self.wrote = asyncio.Event()

    def send(self, message: Message) -> FakeWrite:
        self.written.append(message["text"])
        self.wrote.set()
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

    assert sender.put(_message("a")) is Put.SENT

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

    assert results == [Put.SENT, Put.QUEUED, Put.QUEUED, Put.REFUSED]
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


class QuietWebSocket:
    """A connected client that sends nothing; writes go to `socket`."""

    def __init__(self, socket: Socket) -> None:
        self.scope = {"state": {SERVER_SEND: socket.send}}

    async def send(self, message: Message) -> None:
        pass

    async def receive(self) -> Message:
        await asyncio.Event().wait()
        raise AssertionError("unreachable")


async def _serve_clients(
    hub: StreamHub, sockets: list[Socket]
) -> list[asyncio.Task[None]]:
    limits = ConnectionLimits(
        3600, 3600, queue_size=8, close_timeout_seconds=1, max_per_user=10_000
    )
    caller = Caller(Principal("usr_1", "member"), "token", time.time() + 3600)
    tasks = []
    for socket in sockets:
        websocket = cast(WebSocket, QuietWebSocket(socket))
        connection = StreamConnection(websocket, caller, Subscription(), limits, hub)
        tasks.append(asyncio.create_task(hub.serve(connection, {}, None)))
    await asyncio.sleep(0.01)
    return tasks


async def _fan_out_hub() -> StreamHub:
    # The fan-out never authenticates; only the heartbeat does, an hour away.
    hub = StreamHub(InProcessEventBus(10), cast(AuthService, None), 1)
    await hub.start()
    return hub


async def _stop(hub: StreamHub, tasks: list[asyncio.Task[None]]) -> None:
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)
    await hub.stop()


async def test_fan_out_waits_until_a_slice_is_written() -> None:
    sockets = [Socket() for _ in range(FAN_OUT_SLICE + 1)]
    hub = await _fan_out_hub()
    tasks = await _serve_clients(hub, sockets)

    hub.announce("system_status", {"status": "degraded"})
    await asyncio.sleep(0.01)
    reached_before = sum(bool(socket.written) for socket in sockets)
    sockets[FAN_OUT_SLICE - 1].take()
    await asyncio.sleep(0.01)
    reached_after = sum(bool(socket.written) for socket in sockets)
    await _stop(hub, tasks)

    assert reached_before == FAN_OUT_SLICE
    assert reached_after == FAN_OUT_SLICE + 1


async def test_unwritten_slice_holds_fan_out_for_a_bounded_time() -> None:
    sockets = [Socket() for _ in range(FAN_OUT_SLICE + 1)]
    hub = await _fan_out_hub()
    tasks = await _serve_clients(hub, sockets)

    announced_at = time.monotonic()
    hub.announce("system_status", {"status": "degraded"})
    await asyncio.wait_for(sockets[-1].wrote.wait(), 5)
    waited = time.monotonic() - announced_at
    await _stop(hub, tasks)

    assert SLICE_WAIT_POLLS * 0.001 <= waited < 2


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
