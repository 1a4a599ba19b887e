"""Client addresses through trusted proxies only."""

from __future__ import annotations

import ipaddress

import pytest
from starlette.types import Scope

from techcorp_server.ratelimit.client_ip import ClientIPResolver, parse_ip
from techcorp_server.ratelimit.middleware import rate_limit_key

PROXIES = [
    ipaddress.ip_network("10.0.0.0/8"),
    ipaddress.ip_network("2001:db8:ffff::/48"),
]


def _scope(peer: str | None, *forwarded_for: str) -> Scope:
    headers = [(b"x-forwarded-for", value.encode()) for value in forwarded_for]
    return {
        "type": "http",
        "headers": headers,
        "client": (peer, 40000) if peer is not None else None,
    }


def test_peer_without_trusted_proxies() -> None:
    resolver = ClientIPResolver([])

    assert resolver.resolve(_scope("203.0.113.5", "198.51.100.1")) == "203.0.113.5"


def test_forwarded_for_ignored_from_untrusted_peer() -> None:
    resolver = ClientIPResolver(PROXIES)

    assert resolver.resolve(_scope("203.0.113.5", "198.51.100.1")) == "203.0.113.5"


def test_forwarded_for_read_from_trusted_peer() -> None:
    resolver = ClientIPResolver(PROXIES)

    assert resolver.resolve(_scope("10.0.0.2", "198.51.100.1")) == "198.51.100.1"


def test_rightmost_untrusted_entry_wins() -> None:
    # The client made up the first entry; the proxy appended the real address.
    resolver = ClientIPResolver(PROXIES)
    scope = _scope("10.0.0.2", "1.2.3.4, 198.51.100.1, 10.0.0.9")

    assert resolver.resolve(scope) == "198.51.100.1"


def test_repeated_header_lines_joined_in_order() -> None:
    resolver = ClientIPResolver(PROXIES)
    scope = _scope("10.0.0.2", "1.2.3.4", "198.51.100.1, 10.0.0.9")

    assert resolver.resolve(scope) == "198.51.100.1"


def test_all_trusted_gives_leftmost() -> None:
    resolver = ClientIPResolver(PROXIES)

    assert resolver.resolve(_scope("10.0.0.2", "10.1.1.1, 10.0.0.9")) == "10.1.1.1"


@pytest.mark.parametrize(
    "forwarded",
    ["not-an-ip", "", "1.2.3.4.5", "unknown", "999.1.1.1", "1.2.3.4, garbage"],
)
def test_malformed_entry_stops_at_last_trusted(forwarded: str) -> None:
    resolver = ClientIPResolver(PROXIES)
    scope = _scope("10.0.0.2", forwarded)

    assert resolver.resolve(scope) == "10.0.0.2"


def test_malformed_left_of_client_is_ignored() -> None:
    resolver = ClientIPResolver(PROXIES)
    scope = _scope("10.0.0.2", "garbage, 198.51.100.1, 10.0.0.9")

    assert resolver.resolve(scope) == "198.51.100.1"


def test_missing_peer() -> None:
    assert ClientIPResolver(PROXIES).resolve(_scope(None, "1.2.3.4")) is None


def test_ipv6_proxy_and_client() -> None:
    resolver = ClientIPResolver(PROXIES)
    scope = _scope("2001:db8:ffff::1", "[2001:db8:1::7]:443")

    assert resolver.resolve(scope) == "2001:db8:1::7"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("198.51.100.1", "198.51.100.1"),
        (" 198.51.100.1 ", "198.51.100.1"),
        ("198.51.100.1:8080", "198.51.100.1"),
        ("2001:db8::1", "2001:db8::1"),
        ("[2001:db8::1]:443", "2001:db8::1"),
        ("::ffff:198.51.100.1", "198.51.100.1"),
    ],
)
def test_parse_ip_forms(text: str, expected: str) -> None:
    assert str(parse_ip(text)) == expected


@pytest.mark.parametrize(
    "text", ["", "x", "1.2.3", "[::1", "[::1]x", "[::1]x80", "1.2.3.4:", "1.2.3.4:5:6"]
)
def test_parse_ip_malformed(text: str) -> None:
    assert parse_ip(text) is None


def test_ipv6_clients_counted_per_64() -> None:
    first = rate_limit_key("2001:db8:1:2:aaaa::1")
    second = rate_limit_key("2001:db8:1:2:bbbb::2")
    other = rate_limit_key("2001:db8:1:3::1")

    assert first == second == "2001:db8:1:2::/64"
    assert other != first


def test_ipv4_clients_counted_per_address() -> None:
    assert rate_limit_key("198.51.100.1") == "198.51.100.1"
    assert rate_limit_key(None) == "unknown"
