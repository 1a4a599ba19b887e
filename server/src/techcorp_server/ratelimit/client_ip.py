"""The client address of a request, read through trusted proxies only.

The socket peer is the client unless it is one of the configured trusted
proxies. Only then is `X-Forwarded-For` read, from the right. Each proxy
appends the address it received the request from, so the entries written by
trusted proxies are at the right end. Anything left of them may have come
from the client, so the first untrusted address from the right is the client.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable, Sequence
from functools import lru_cache

from starlette.types import Scope

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network

MAX_FORWARDED_ENTRIES = 32
"""The maximum number of `X-Forwarded-For` entries read, from the right. A
longer chain is cut there, so a huge header stays cheap to parse."""

PEER_CACHE_SIZE = 4096
"""Peer addresses whose trust check is remembered."""


def parse_ip(text: str) -> IPAddress | None:
    """Parse an address as proxies write it, or return None if malformed.

    Accepts `203.0.113.7`, `203.0.113.7:4711`, `2001:db8::1` and
    `[2001:db8::1]:4711`. IPv4-mapped IPv6 addresses become IPv4.
    """
    text = text.strip()
    if text.startswith("["):
        text, bracket, port = text[1:].partition("]")
        if not bracket or (port and not (port[0] == ":" and port[1:].isdigit())):
            return None
    elif text.count(":") == 1:
        text, _, port = text.partition(":")
        if not port.isdigit():
            return None
    try:
        address = ipaddress.ip_address(text)
    except ValueError:
        return None
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped:
        return address.ipv4_mapped
    return address


def _forwarded_for(headers: Iterable[tuple[bytes, bytes]]) -> list[str]:
    # Repeated header lines form one comma-separated list (RFC 9110 5.3).
    entries: list[str] = []
    for name, value in headers:
        if name == b"x-forwarded-for":
            entries.extend(value.decode("latin-1").split(","))
    return entries


class ClientIPResolver:
    """Finds the client address of a request given the trusted proxies."""

    def __init__(self, trusted_proxies: Sequence[IPNetwork]) -> None:
        self._trusted_proxies = tuple(trusted_proxies)
        self._is_trusted_peer = lru_cache(maxsize=PEER_CACHE_SIZE)(
            self._is_trusted_text
        )

    def is_trusted(self, address: IPAddress) -> bool:
        return any(address in network for network in self._trusted_proxies)

    def _is_trusted_text(self, peer: str) -> bool:
        address = parse_ip(peer)
        return address is not None and self.is_trusted(address)

    def resolve(self, scope: Scope) -> str | None:
        """Return the client address, or None when the server gives no peer."""
        client = scope.get("client")
        if not client:
            return None
        peer: str = client[0]
        if not self._trusted_proxies or not self._is_trusted_peer(peer):
            return peer

        resolved = peer
        entries = _forwarded_for(scope["headers"])[-MAX_FORWARDED_ENTRIES:]
        for entry in reversed(entries):
            address = parse_ip(entry)
            if address is None:
                # A trusted proxy writes well-formed addresses, so a malformed
                # entry came from the client: stop at the last one trusted.
                break
            resolved = str(address)
            if not self.is_trusted(address):
                break
        return resolved
