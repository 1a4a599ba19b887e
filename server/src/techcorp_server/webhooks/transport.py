"""An httpx transport that connects only to addresses `addresses` allows."""

from __future__ import annotations

import ssl
from collections.abc import Iterable

import httpcore
import httpx

from .addresses import Resolver, UnsafeURLError, allowed_addresses


class BlockedAddressError(httpcore.ConnectError):
    """The host resolved to an address webhooks may not reach."""


class GuardedNetworkBackend(httpcore.AsyncNetworkBackend):
    """Resolve, check, then connect to the checked address itself.

    TLS still verifies the certificate against the host name of the URL,
    because httpcore takes the server name from the request, not from here.
    """

    def __init__(self, resolve: Resolver, *, allow_loopback: bool) -> None:
        self.resolve = resolve
        self.allow_loopback = allow_loopback
        self._backend = httpcore.AnyIOBackend()

    async def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,  # noqa: ASYNC109 (httpcore interface)
        local_address: str | None = None,
        socket_options: Iterable[httpcore.SOCKET_OPTION] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        try:
            addresses = await allowed_addresses(
                host, port, self.resolve, allow_loopback=self.allow_loopback
            )
        except UnsafeURLError as exc:
            raise BlockedAddressError(str(exc)) from exc
        return await self._backend.connect_tcp(
            str(addresses[0]),
            port,
            timeout=timeout,
            local_address=local_address,
            socket_options=socket_options,
        )

    async def connect_unix_socket(
        self,
        path: str,
        timeout: float | None = None,  # noqa: ASYNC109 (httpcore interface)
        socket_options: Iterable[httpcore.SOCKET_OPTION] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        raise BlockedAddressError("Webhooks are not sent over Unix sockets.")

    async def sleep(self, seconds: float) -> None:
        await self._backend.sleep(seconds)


class GuardedTransport(httpx.AsyncHTTPTransport):
    """An HTTP/1.1 transport with no proxies whose connections are checked.

    Proxies from the environment are ignored, since a proxy would connect
    to the target on the server's behalf, past the address check.
    """

    def __init__(
        self,
        resolve: Resolver,
        *,
        allow_loopback: bool,
        max_connections: int,
        ssl_context: ssl.SSLContext | None = None,
    ) -> None:
        ssl_context = ssl_context or httpx.create_ssl_context(trust_env=False)
        super().__init__(verify=ssl_context, trust_env=False)
        # NOTE: httpx 0.28 has no public option for the pool's network
        # backend, so the pool is replaced by one with the same defaults.
        self._pool = httpcore.AsyncConnectionPool(
            ssl_context=ssl_context,
            max_connections=max_connections,
            max_keepalive_connections=max_connections,
            keepalive_expiry=30.0,
            network_backend=GuardedNetworkBackend(
                resolve, allow_loopback=allow_loopback
            ),
        )
