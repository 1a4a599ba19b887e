"""An aiohttp connector that connects only to addresses webhooks may reach.

aiohttp connects to the addresses its resolver returns, so checking them
there checks the very address each connection goes to: a name that resolves
to a public address at registration and to a private one later is still
rejected. TLS verifies the certificate against the URL's host name.
"""

from __future__ import annotations

import errno
import socket
from collections.abc import Sequence
from typing import Any

import aiohttp
from aiohttp.abc import AbstractResolver, ResolveResult

from .addresses import Resolver, UnsafeURLError, allowed_addresses, ip_literal


class BlockedAddressError(OSError):
    """The host resolved to an address webhooks may not reach.

    An `OSError` with EACCES, so aiohttp reports it as a failed connection
    and puts the message in its own.
    """

    def __init__(self, message: str) -> None:
        super().__init__(errno.EACCES, message)


class GuardedResolver(AbstractResolver):
    def __init__(self, resolve: Resolver, *, allow_loopback: bool) -> None:
        self.resolve_host = resolve
        self.allow_loopback = allow_loopback

    async def resolve(
        self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET
    ) -> list[ResolveResult]:
        try:
            addresses = await allowed_addresses(
                host, port, self.resolve_host, allow_loopback=self.allow_loopback
            )
        except UnsafeURLError as exc:
            raise BlockedAddressError(str(exc)) from exc
        return [
            {
                "hostname": host,
                "host": str(address),
                "port": port,
                "family": socket.AF_INET6 if address.version == 6 else socket.AF_INET,
                "proto": 0,
                "flags": socket.AI_NUMERICHOST,
            }
            for address in addresses
        ]

    async def close(self) -> None:
        pass


class GuardedConnector(aiohttp.TCPConnector):
    """A TCP connector that checks IP literal hosts as well as names.

    aiohttp 3.14 hands only names to the resolver and connects to an IP
    literal host directly, so literals go through `GuardedResolver` here.
    """

    def __init__(self, resolver: GuardedResolver, **options: Any) -> None:
        super().__init__(resolver=resolver, use_dns_cache=False, **options)
        self.guarded_resolver = resolver

    # NOTE: `_resolve_host` is aiohttp's internal hook (3.14.3, pinned). The
    # address tests fail if a new version stops calling it.
    async def _resolve_host(
        self, host: str, port: int, traces: Sequence[Any] | None = None
    ) -> list[ResolveResult]:
        if ip_literal(host) is not None:
            await self.guarded_resolver.resolve(host, port)
        return await super()._resolve_host(host, port, traces)
