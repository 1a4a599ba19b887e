"""One small HTTP connection pool per webhook endpoint.

One large pool would let one slow receiver take every connection. A pool
per endpoint, of `webhook_connections_per_endpoint` connections, avoids
that. Pools of endpoints not used lately are closed.
"""

from __future__ import annotations

import asyncio
from collections import OrderedDict
from collections.abc import Callable

import aiohttp

MAX_POOLS = 256
CLOSE_DELAY_SECONDS = 30.0
"""A pool dropped from the cache is closed this much later, after any
request still using it has finished (the request timeout is shorter)."""


class EndpointClients:
    def __init__(self, new_client: Callable[[], aiohttp.ClientSession]) -> None:
        self.new_client = new_client
        self._clients: OrderedDict[str, aiohttp.ClientSession] = OrderedDict()
        self._closing: set[asyncio.Task[None]] = set()

    def get(self, endpoint_id: str) -> aiohttp.ClientSession:
        client = self._clients.get(endpoint_id)
        if client is not None:
            self._clients.move_to_end(endpoint_id)
            return client
        client = self._clients[endpoint_id] = self.new_client()
        if len(self._clients) > MAX_POOLS:
            _, oldest = self._clients.popitem(last=False)
            task = asyncio.create_task(_close_later(oldest))
            self._closing.add(task)
            task.add_done_callback(self._closing.discard)
        return client

    async def aclose(self) -> None:
        for task in self._closing:
            task.cancel()
        clients = [*self._clients.values()]
        self._clients.clear()
        await asyncio.gather(*(client.close() for client in clients))


async def _close_later(client: aiohttp.ClientSession) -> None:
    try:
        await asyncio.sleep(CLOSE_DELAY_SECONDS)
    finally:
        await client.close()
