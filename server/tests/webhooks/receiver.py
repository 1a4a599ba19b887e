"""A webhook receiver on loopback that records every request it gets."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable
from dataclasses import dataclass

import h11


@dataclass(frozen=True)
class ReceivedRequest:
    method: str
    target: str
    headers: dict[str, str]
    body: bytes

    @property
    def event_id(self) -> str:
        return self.headers["x-event-id"]


Responder = Callable[[ReceivedRequest], int]
"""Return the status code of the response to a request."""


def always(status: int) -> Responder:
    return lambda _request: status


class Receiver:
    """An HTTP/1.1 server on 127.0.0.1 with a chosen status per request."""

    def __init__(self, respond: Responder | None = None, delay: float = 0.0) -> None:
        self.respond = respond or always(204)
        self.delay = delay
        self.requests: list[ReceivedRequest] = []
        self._arrived = asyncio.Condition()
        self._server: asyncio.Server | None = None
        self.port = 0

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/hooks"

    async def start(self, port: int = 0) -> None:
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", port)
        self.port = self._server.sockets[0].getsockname()[1]

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self._server.wait_closed(), 2)
            self._server = None

    async def wait_for(
        self, condition: Callable[[list[ReceivedRequest]], bool], seconds: float = 10
    ) -> list[ReceivedRequest]:
        """Wait until `condition(requests)` holds, and return the requests."""
        async with asyncio.timeout(seconds), self._arrived:
            await self._arrived.wait_for(lambda: condition(self.requests))
        return self.requests

    def of_type(self, event_type: str) -> list[ReceivedRequest]:
        return [r for r in self.requests if r.headers["x-event-type"] == event_type]

    async def _serve(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> None:
        connection = h11.Connection(h11.SERVER)
        try:
            while True:
                request = await self._read_request(connection, reader)
                if request is None:
                    return
                await self._respond(connection, writer, request)
                connection.start_next_cycle()
        except (ConnectionError, h11.RemoteProtocolError):
            return
        finally:
            writer.close()

    async def _read_request(
        self, connection: h11.Connection, reader: asyncio.StreamReader
    ) -> ReceivedRequest | None:
        head: h11.Request | None = None
        body = b""
        while True:
            event = connection.next_event()
            if event is h11.NEED_DATA:
                data = await reader.read(65536)
                if not data:
                    return None
                connection.receive_data(data)
            elif isinstance(event, h11.Request):
                head = event
            elif isinstance(event, h11.Data):
                body += bytes(event.data)
            elif isinstance(event, h11.EndOfMessage):
                assert head is not None
                headers = {
                    name.decode().lower(): value.decode()
                    for name, value in head.headers
                }
                return ReceivedRequest(
                    head.method.decode(), head.target.decode(), headers, body
                )
            else:
                return None

    async def _respond(
        self,
        connection: h11.Connection,
        writer: asyncio.StreamWriter,
        request: ReceivedRequest,
    ) -> None:
        status = self.respond(request)
        async with self._arrived:
            self.requests.append(request)
            self._arrived.notify_all()
        if self.delay:
            await asyncio.sleep(self.delay)
        # 204 and 304 responses have no body (RFC 9110 sections 15.3.5, 15.4.5).
        reply = b"" if status in (204, 304) else b"ok"
        response = h11.Response(
            status_code=status, headers=[("content-length", str(len(reply)))]
        )
        writer.write(connection.send(response) or b"")
        writer.write(connection.send(h11.Data(data=reply)) or b"")
        writer.write(connection.send(h11.EndOfMessage()) or b"")
        await writer.drain()
