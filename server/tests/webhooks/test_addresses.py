"""Webhook URLs and addresses: only public https targets, checked again on connect.

Nothing here connects to an address other than 127.0.0.1: names resolve
through fake resolvers, and a blocked address fails before any connection.
"""

from __future__ import annotations

import ipaddress

import aiohttp
import pytest

from techcorp_server.webhooks.addresses import (
    Resolver,
    UnsafeURLError,
    allowed_addresses,
    blocked_reason,
    ip_literal,
    parse_webhook_url,
)
from techcorp_server.webhooks.resolver import GuardedConnector, GuardedResolver

from .receiver import Receiver

BLOCKED = [
    ("127.0.0.1", "loopback"),
    ("127.8.9.10", "loopback"),
    ("10.1.2.3", "private"),
    ("172.16.0.1", "private"),
    ("192.168.1.1", "private"),
    ("169.254.169.254", "link-local"),
    ("100.100.100.200", "non-public"),
    ("0.0.0.0", "unspecified"),
    ("224.0.0.1", "multicast"),
    ("240.0.0.1", "address"),
    ("255.255.255.255", "broadcast"),
    ("::1", "loopback"),
    ("::", "unspecified"),
    ("fe80::1", "link-local"),
    ("fc00::1", "private"),
    ("fd00:ec2::254", "private"),
    ("ff02::1", "multicast"),
    ("::ffff:127.0.0.1", "loopback"),
    ("::ffff:169.254.169.254", "link-local"),
    ("::ffff:10.0.0.1", "private"),
    ("64:ff9b::a9fe:a9fe", "link-local"),
    ("2002:7f00:1::", "loopback"),
    ("2001:db8::1", "private"),
]
PUBLIC = ["93.184.215.14", "8.8.8.8", "2606:4700:4700::1111", "::ffff:8.8.8.8"]


@pytest.mark.parametrize(("address", "kind"), BLOCKED)
def test_blocked_addresses(address: str, kind: str) -> None:
    reason = blocked_reason(ipaddress.ip_address(address))
    assert reason is not None
    if kind != "broadcast":
        assert kind in reason


@pytest.mark.parametrize("address", PUBLIC)
def test_public_addresses_allowed(address: str) -> None:
    assert blocked_reason(ipaddress.ip_address(address)) is None


def test_loopback_allowed_when_private_allowed() -> None:
    for address in ("127.0.0.1", "::1", "::ffff:127.0.0.1"):
        assert (
            blocked_reason(ipaddress.ip_address(address), allow_loopback=True) is None
        )
    assert blocked_reason(ipaddress.ip_address("10.0.0.1"), allow_loopback=True)
    assert blocked_reason(ipaddress.ip_address("169.254.169.254"), allow_loopback=True)


@pytest.mark.parametrize(
    "host",
    [
        "2130706433",
        "0x7f000001",
        "0177.0.0.1",
        "127.1",
        "0x7f.0.0.1",
        "[::ffff:7f00:1]",
    ],
)
def test_odd_loopback_encodings_parse(host: str) -> None:
    address = ip_literal(host)
    assert address is not None
    assert blocked_reason(address) == "a loopback address"


def test_names_are_not_literals() -> None:
    assert ip_literal("example.com") is None
    assert ip_literal("cafe") is None
    assert ip_literal("deadbeef.example") is None


@pytest.mark.parametrize(
    ("url", "problem"),
    [
        ("http://example.com/hook", "https"),
        ("ftp://example.com/hook", "https"),
        ("https://user:pass@example.com/", "user name"),
        ("https:///nohost", "host"),
        ("https://example.com/#part", "fragment"),
        ("not a url", "https"),
    ],
)
def test_bad_url_shapes_rejected(url: str, problem: str) -> None:
    with pytest.raises(UnsafeURLError, match=problem):
        parse_webhook_url(url, allow_private=False)


def test_http_allowed_when_private_allowed() -> None:
    destination = parse_webhook_url("http://127.0.0.1:9000/x", allow_private=True)
    assert (destination.scheme, destination.host, destination.port) == (
        "http",
        "127.0.0.1",
        9000,
    )


def fake_resolver(answers: dict[str, list[str]]):  # type: ignore[no-untyped-def]
    async def resolve(host: str, port: int) -> list[str]:
        if host not in answers:
            raise OSError(f"unknown host {host}")
        return answers[host]

    return resolve


async def test_names_resolving_to_private_rejected() -> None:
    resolve = fake_resolver(
        {
            "metadata.example": ["169.254.169.254"],
            "mixed.example": ["93.184.215.14", "10.0.0.7"],
            "public.example": ["93.184.215.14", "2606:4700:4700::1111"],
        }
    )
    with pytest.raises(UnsafeURLError, match="link-local"):
        await allowed_addresses("metadata.example", 443, resolve, allow_loopback=False)
    with pytest.raises(UnsafeURLError, match="private"):
        await allowed_addresses("mixed.example", 443, resolve, allow_loopback=False)
    with pytest.raises(UnsafeURLError, match="could not be resolved"):
        await allowed_addresses("missing.example", 443, resolve, allow_loopback=False)

    addresses = await allowed_addresses(
        "public.example", 443, resolve, allow_loopback=False
    )
    assert [str(a) for a in addresses] == ["93.184.215.14", "2606:4700:4700::1111"]


def guarded_session(
    resolve: Resolver, *, allow_loopback: bool
) -> aiohttp.ClientSession:
    resolver = GuardedResolver(resolve, allow_loopback=allow_loopback)
    connector = GuardedConnector(resolver, limit=1)
    return aiohttp.ClientSession(connector=connector, trust_env=False)


async def test_resolver_refuses_before_connecting() -> None:
    resolved: list[str] = []

    async def resolve(host: str, port: int) -> list[str]:
        resolved.append(host)
        return ["10.20.30.40"]

    async with guarded_session(resolve, allow_loopback=True) as session:
        with pytest.raises(aiohttp.ClientConnectorError, match="private address"):
            await session.post("http://rebinding.example/hook", data=b"{}")
        with pytest.raises(aiohttp.ClientConnectorError, match="link-local"):
            await session.post("http://169.254.169.254/latest/meta-data/")
    async with guarded_session(resolve, allow_loopback=False) as strict_session:
        with pytest.raises(aiohttp.ClientConnectorError, match="loopback"):
            await strict_session.post("http://2130706433/hook")
    assert resolved == ["rebinding.example"]


async def test_resolver_connects_to_checked_address() -> None:
    receiver = Receiver()
    await receiver.start()

    async def resolve(host: str, port: int) -> list[str]:
        return ["127.0.0.1"]

    try:
        async with guarded_session(resolve, allow_loopback=True) as session:
            url = f"http://hooks.test:{receiver.port}/in"
            async with session.post(url, data=b"{}") as response:
                status = response.status
    finally:
        await receiver.stop()

    assert status == 204
    (request,) = receiver.requests
    assert request.headers["host"] == f"hooks.test:{receiver.port}"
