"""One stream connection: its caller, subscription, queue and tasks.

A connection runs four tasks: the receiver reads client messages, the sender
drains the bounded queue of messages that could not go out at once (see
`sender.py`), the heartbeat pings and re-checks the caller's access, and the
expiry timer closes the connection when the token expires.
Whichever ends the connection sets `_closed`, and the others are cancelled.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from starlette.types import Message
from starlette.websockets import WebSocket, WebSocketDisconnect

from ..auth.principal import Principal
from ..core.errors import APIError, BadRequestError, ServiceUnavailableError
from ..core.handlers import error_body
from ..core.request_context import SERVER_SEND
from .events import (
    ACK,
    ERROR,
    PING,
    PONG,
    RESYNC_REQUIRED,
    StreamEvent,
    control_message,
)
from .metrics import closed_connections
from .protocol import (
    CLOSE_REASONS,
    MAX_MESSAGE_CHARACTERS,
    MESSAGE_TOO_BIG,
    PING_TIMEOUT,
    TOKEN_EXPIRED,
    TOO_SLOW,
    TRY_AGAIN_LATER,
    PingAction,
    PongAction,
    ResumeAction,
    Subscription,
    parse_action,
)
from .sender import MessageSender, Put

logger = logging.getLogger(__name__)

# The errors a send or close raises once the peer is gone.
SEND_ERRORS = (WebSocketDisconnect, OSError, RuntimeError)

UNREADABLE_FRAME = 1005
"""The disconnect code granian reports when it cannot read a frame."""


class ConnectionOwner(Protocol):
    """The methods of the hub that a connection calls."""

    async def check_access(self, connection: StreamConnection) -> None: ...

    async def resume(
        self, connection: StreamConnection, last_event_id: str
    ) -> None: ...


@dataclass(frozen=True, slots=True)
class Caller:
    """The caller behind a connection, and the token it authenticated with."""

    principal: Principal
    token: str
    expires_at: float
    """Unix seconds when the token expires."""


@dataclass(frozen=True, slots=True)
class ConnectionLimits:
    ping_interval_seconds: float
    ping_timeout_seconds: float
    queue_size: int
    close_timeout_seconds: float
    max_per_user: int
    """Connections one user may have open in this process at once."""


class StreamConnection:
    def __init__(
        self,
        websocket: WebSocket,
        caller: Caller,
        subscription: Subscription,
        limits: ConnectionLimits,
        owner: ConnectionOwner,
        request_id: str | None = None,
    ) -> None:
        self.websocket = websocket
        self.owner = owner
        self.caller = caller
        self.subscription = subscription
        self.limits = limits
        self.request_id = request_id
        # The numbering that the sequences below count in: the epoch of the
        # events this connection has been offered or replayed.
        self._epoch: int | None = None
        self.first_live_sequence: int | None = None
        """The sequence of the first event offered live; replays stop before it."""
        self.replayed_through = 0
        """The sequence of the newest event replayed; live offers skip up to it."""
        self._newest_sequence = 0
        self.close_code: int | None = None
        server_send = websocket.scope.get("state", {}).get(SERVER_SEND)
        # Live events offered while the opening messages (the status and the
        # replay) are still being sent wait behind them.
        self._outgoing = MessageSender(
            server_send or websocket.send, limits.queue_size, held=True
        )
        self._last_message_at = time.monotonic()
        self._closed = asyncio.Event()
        self._tasks: list[asyncio.Task[None]] = []
        self._sender: asyncio.Task[None] | None = None
        self._receiver: asyncio.Task[None] | None = None

    @property
    def user_id(self) -> str:
        return self.caller.principal.user_id

    # Methods the hub calls. None of them waits.

    @property
    def writing(self) -> bool:
        """True while the socket has not taken the message sent last."""
        return self._outgoing.writing

    def offer(self, event: StreamEvent) -> bool:
        """Send or queue a live event if the subscription wants it.

        Returns True when the event's write started at once.
        """
        if event.id.epoch != self._epoch:
            self._follow_epoch(event.id.epoch)
        sequence = event.sequence
        if sequence <= self.replayed_through:
            return False
        if self.first_live_sequence is None:
            self.first_live_sequence = sequence
        self._newest_sequence = max(self._newest_sequence, sequence)
        if self.close_code is None and self.subscription.matches(event):
            return self._put(event.message) is Put.SENT
        return False

    def _follow_epoch(self, epoch: int) -> None:
        """Count in a new numbering, telling the client when an old one ends.

        The epoch changes when a shared bus lost its history (Redis restarted
        empty or flushed). Events of the old numbering may have been lost
        with it, so the client is asked to resynchronise.
        """
        if self._epoch is not None and self._newest_sequence:
            last_event_id = f"{self._epoch}-{self._newest_sequence}"
            self.send_control(RESYNC_REQUIRED, resync_data(last_event_id))
        self._epoch = epoch
        self.first_live_sequence = None
        self.replayed_through = 0
        self._newest_sequence = 0

    def missed(self, events: Sequence[StreamEvent]) -> list[StreamEvent] | None:
        """Return the events of a replay that this connection should receive.

        `events` come from the history, oldest first. Those at or after the
        first live event are left out, because they come live, and the live
        offers skip those replayed. Returns None when live events of a newer
        numbering arrived already, so the replayed ones may have gaps.
        """
        if not events:
            return []
        epoch = events[0].id.epoch
        if self._epoch is None:
            self._epoch = epoch
        elif epoch != self._epoch:
            return None
        boundary = self.first_live_sequence
        earlier = [
            event for event in events if boundary is None or event.sequence < boundary
        ]
        if earlier:
            # An event read from the history may still be on its way to the
            # connection live; it is not sent twice.
            newest = earlier[-1].sequence
            self.replayed_through = max(self.replayed_through, newest)
            self._newest_sequence = max(self._newest_sequence, newest)
        return [event for event in earlier if self.subscription.matches(event)]

    def send_control(self, message_type: str, data: Mapping[str, Any]) -> None:
        if self.close_code is None:
            self._put(control_message(message_type, data))

    def _put(self, message: Message) -> Put:
        outcome = self._outgoing.put(message)
        if outcome is Put.REFUSED:
            logger.info(
                "stream client too slow; closing",
                extra={"user_id": self.user_id, "queue_size": self.limits.queue_size},
            )
            self.close(TOO_SLOW)
        return outcome

    def close(self, code: int, final: Message | None = None) -> None:
        """Close with `code`, sending `final` first; the peer gets a bounded time."""
        if self.close_code is not None:
            return
        self.close_code = code
        closed_connections.labels(str(code)).inc()
        if self._sender is not None:
            self._sender.cancel()
        self._tasks.append(asyncio.create_task(self._send_close(code, final)))

    async def close_unavailable(self, error: ServiceUnavailableError) -> None:
        """Send `error` and close with 1013, before the connection ever ran."""
        final = control_message(ERROR, error_body(error, self.request_id))
        self.close(TRY_AGAIN_LATER, final=final)
        await self._closed.wait()

    async def _send_close(self, code: int, final: Message | None) -> None:
        # NOTE: granian 2.8.7 does not send a close while another task waits
        # in receive(), so the receiver is stopped first.
        if self._receiver is not None:
            self._receiver.cancel()
            await asyncio.gather(self._receiver, return_exceptions=True)
        try:
            async with asyncio.timeout(self.limits.close_timeout_seconds):
                if final is not None:
                    await self.websocket.send(final)
                await self.websocket.close(code, CLOSE_REASONS[code])
                await self._wait_for_disconnect()
        except TimeoutError:
            # The peer stopped reading. Returning drops the socket.
            logger.info(
                "stream close timed out",
                extra={"user_id": self.user_id, "code": code},
            )
        except SEND_ERRORS:
            pass  # The peer is gone already.
        finally:
            self._closed.set()

    async def _wait_for_disconnect(self) -> None:
        # granian's close returns before the close frame is written, and a
        # server that stops right after would drop it. The peer's reply to
        # the close (RFC 6455 section 5.5.1) shows it arrived.
        while (await self.websocket.receive())["type"] != "websocket.disconnect":
            pass

    # The connection's life

    async def run(self, opening: Sequence[Message]) -> None:
        """Send the opening messages, then serve until the connection ends."""
        try:
            for message in opening:
                await self.websocket.send(message)
        except SEND_ERRORS:
            return
        # A close that began while the opening messages went out waits for
        # the peer's reply itself, and a second reader would hold its close
        # frame back (see `_send_close`).
        if self.close_code is None:
            self._sender = asyncio.create_task(self._send_queued())
            self._receiver = asyncio.create_task(self._receive())
            self._tasks += [
                self._sender,
                self._receiver,
                asyncio.create_task(self._expire()),
                asyncio.create_task(self._heartbeat()),
            ]
        try:
            await self._closed.wait()
        finally:
            for task in self._tasks:
                task.cancel()
            await asyncio.gather(*self._tasks, return_exceptions=True)

    async def _send_queued(self) -> None:
        try:
            await self._outgoing.drain()
        except SEND_ERRORS:
            self._closed.set()

    async def _receive(self) -> None:
        try:
            while True:
                message = await self.websocket.receive()
                if message["type"] == "websocket.disconnect":
                    if message.get("code") == UNREADABLE_FRAME:
                        await self._close_unread()
                    break
                self._last_message_at = time.monotonic()
                text = message.get("text")
                size = len(text if text is not None else message.get("bytes") or b"")
                if size > MAX_MESSAGE_CHARACTERS:
                    # `_send_close` ends the connection once the close is sent.
                    self.close(MESSAGE_TOO_BIG)
                    return
                if text is None:
                    self._send_error(
                        BadRequestError("Send messages as JSON text, not binary.")
                    )
                else:
                    await self._handle(text)
        except SEND_ERRORS:
            pass
        self._closed.set()

    async def _close_unread(self) -> None:
        """Close with 1009 after granian refused a frame over its own size limit.

        granian 2.8.7 refuses a frame over 16 MiB (a test sends 16 MiB and
        1 byte) and then reports a disconnect with 1005, which is also the
        code of a client's close without a status. After such a close
        granian has already replied with its own close frame, so this close
        does not go out, and only the refused frame gets 1009.
        """
        # NOTE: a frame granian cannot read for another reason (a protocol
        # error) is closed with 1009 too; granian reports both alike.
        with contextlib.suppress(*SEND_ERRORS):
            await self.websocket.close(MESSAGE_TOO_BIG, CLOSE_REASONS[MESSAGE_TOO_BIG])

    async def _handle(self, text: str) -> None:
        try:
            action = parse_action(text)
        except BadRequestError as exc:
            self._send_error(exc)
            return
        if isinstance(action, PongAction):
            return
        if isinstance(action, PingAction):
            self.send_control(PONG, {})
        elif isinstance(action, ResumeAction):
            try:
                await self.owner.resume(self, action.last_event_id)
            except ServiceUnavailableError as exc:
                # The history is out of reach for now, and the client may retry.
                logger.warning(
                    "stream resume failed: %s",
                    exc.__cause__ or exc,
                    extra={"user_id": self.user_id},
                )
                self._send_error(exc)
        else:
            self.subscription.apply(action)
            self.send_control(
                ACK, {"action": action.action, **self.subscription.describe()}
            )

    def _send_error(self, exc: APIError) -> None:
        self.send_control(ERROR, error_body(exc, self.request_id))

    async def _heartbeat(self) -> None:
        while True:
            await asyncio.sleep(self.limits.ping_interval_seconds)
            await self.owner.check_access(self)
            pinged_at = time.monotonic()
            self.send_control(PING, {})
            await asyncio.sleep(self.limits.ping_timeout_seconds)
            if self._last_message_at < pinged_at:
                self.close(PING_TIMEOUT)
                return

    async def _expire(self) -> None:
        await asyncio.sleep(max(0.0, self.caller.expires_at - time.time()))
        self.close(TOKEN_EXPIRED)

    def replay(self, missed: Sequence[StreamEvent] | None, last_event_id: str) -> None:
        """Queue the missed events of a `resume` action, or ask to resynchronise."""
        if missed is None:
            self.send_control(RESYNC_REQUIRED, resync_data(last_event_id))
            return
        for event in missed:
            self._put(event.message)
        self.send_control(
            ACK,
            {
                "action": "resume",
                "last_event_id": last_event_id,
                "replayed": len(missed),
            },
        )


def resync_data(last_event_id: str) -> dict[str, Any]:
    return {
        "last_event_id": last_event_id,
        "message": "The events after this id are no longer available. Read the "
        "current state through the HTTP API, then follow the stream from here.",
    }
