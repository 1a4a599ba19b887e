"""Rules for the webhook URLs and addresses the server may connect to.

A webhook URL is chosen by an API user, so without these checks the server
could be made to call its own admin ports, the cloud metadata service or
hosts on the private network behind it (server-side request forgery). Only
`https` to globally routable unicast addresses is allowed; with
`TECHCORP_WEBHOOK_ALLOW_PRIVATE` also `http` and loopback, for development.

The same check runs when an endpoint is registered and again each time the
worker connects, on the addresses the name resolves to then. The connection
goes to an address that passed, so a name cannot change in between.
"""

from __future__ import annotations

import asyncio
import ipaddress
import re
import socket
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

import httpx

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

Resolver = Callable[[str, int], Awaitable[list[str]]]
"""Return the IP addresses a host name resolves to, as text."""

MAX_URL_LENGTH = 2048

# IPv6 prefixes that carry an IPv4 address in their last 32 bits: NAT64
# (RFC 6052) and the deprecated IPv4-compatible form (RFC 4291 2.5.5.1).
_EMBEDDING_IPV4 = (
    ipaddress.IPv6Network("64:ff9b::/96"),
    ipaddress.IPv6Network("64:ff9b:1::/48"),
    ipaddress.IPv6Network("::/96"),
)

# Forms that inet_aton accepts besides dotted decimal: 2130706433, 0x7f.1,
# 0177.0.0.1 and 127.1 all mean 127.0.0.1 to resolvers and browsers.
_LEGACY_IPV4 = re.compile(r"[0-9a-fA-FxX.]+")


class UnsafeURLError(ValueError):
    """A webhook URL or address the server must not connect to."""


@dataclass(frozen=True, slots=True)
class Destination:
    scheme: str
    host: str
    port: int


def blocked_reason(address: IPAddress, *, allow_loopback: bool = False) -> str | None:
    """Return why the server must not connect to `address`, or None if it may."""
    if isinstance(address, ipaddress.IPv6Address):
        embedded = _embedded_ipv4(address)
        if embedded is not None:
            return blocked_reason(embedded, allow_loopback=allow_loopback)
    if address.is_loopback:
        return None if allow_loopback else "a loopback address"
    if address.is_unspecified:
        return "the unspecified address"
    if address.is_link_local:
        return "a link-local address (such as a cloud metadata service)"
    if address.is_multicast:
        return "a multicast address"
    if address.is_private:
        return "a private address"
    if address.is_reserved or not address.is_global:
        return "a reserved or non-public address"
    return None


def _embedded_ipv4(address: ipaddress.IPv6Address) -> ipaddress.IPv4Address | None:
    if address.ipv4_mapped is not None:
        return address.ipv4_mapped
    if address.sixtofour is not None:
        return address.sixtofour
    if address.teredo is not None:
        return address.teredo[1]
    if int(address) <= 1:
        # `::` and `::1` are the unspecified and loopback addresses of IPv6.
        return None
    for network in _EMBEDDING_IPV4:
        if address in network:
            return ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
    return None


def ip_literal(host: str) -> IPAddress | None:
    """Parse a host that is an IP address in any form resolvers accept."""
    candidate = host.strip("[]").split("%", 1)[0]
    try:
        return ipaddress.ip_address(candidate)
    except ValueError:
        pass
    if _LEGACY_IPV4.fullmatch(candidate) and not candidate.endswith("."):
        try:
            return ipaddress.IPv4Address(socket.inet_aton(candidate))
        except OSError:
            return None
    return None


def parse_webhook_url(url: str, *, allow_private: bool) -> Destination:
    """Check the form of a webhook URL and return where it points."""
    if len(url) > MAX_URL_LENGTH:
        raise UnsafeURLError(f"The URL is longer than {MAX_URL_LENGTH} characters.")
    try:
        parsed = httpx.URL(url)
    except httpx.InvalidURL as exc:
        raise UnsafeURLError(f"The URL is not valid: {exc}.") from exc

    allowed_schemes = ("https", "http") if allow_private else ("https",)
    if parsed.scheme not in allowed_schemes:
        raise UnsafeURLError("The URL must start with https://.")
    if not parsed.host:
        raise UnsafeURLError("The URL has no host.")
    if parsed.userinfo:
        raise UnsafeURLError("The URL must not contain a user name or password.")
    if parsed.fragment:
        raise UnsafeURLError("The URL must not contain a fragment (#...).")
    port = parsed.port or (443 if parsed.scheme == "https" else 80)
    return Destination(parsed.scheme, parsed.host, port)


async def system_resolve(host: str, port: int) -> list[str]:
    """Resolve a host name with the operating system's resolver."""
    loop = asyncio.get_running_loop()
    infos = await loop.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return list(dict.fromkeys(str(info[4][0]) for info in infos))


async def allowed_addresses(
    host: str, port: int, resolve: Resolver, *, allow_loopback: bool
) -> list[IPAddress]:
    """Resolve `host` and return its addresses, if every one of them is allowed.

    One blocked address rejects the host, because a resolver that returns
    a public and a private address could have the private one tried.
    """
    literal = ip_literal(host)
    if literal is not None:
        addresses: list[IPAddress] = [literal]
    else:
        try:
            resolved = await resolve(host, port)
        except OSError as exc:
            raise UnsafeURLError(f"The host {host!r} could not be resolved.") from exc
        addresses = [ipaddress.ip_address(text.split("%", 1)[0]) for text in resolved]
    if not addresses:
        raise UnsafeURLError(f"The host {host!r} has no addresses.")

    for address in addresses:
        reason = blocked_reason(address, allow_loopback=allow_loopback)
        if reason is None:
            continue
        if literal is not None:
            raise UnsafeURLError(f"The address {host!r} is {reason}.")
        raise UnsafeURLError(f"The host {host!r} resolves to {reason}.")
    return addresses
