"""The stream's decisions without a server: backoff, URLs, positions, errors."""

from __future__ import annotations

import random

import pytest
from websockets.datastructures import Headers
from websockets.exceptions import InvalidStatus
from websockets.frames import Close
from websockets.http11 import Response

from techcorp.events import MarketUpdate, SystemStatus, parse_stream_message
from techcorp.stream import (
    TRANSIENT_ERRORS,
    EventStreamError,
    ReconnectPolicy,
    StreamHandshakeError,
    _decide_after_close,
    _delay_after_connect_error,
    _StreamState,
    _subscribe_action,
    _Subscription,
    _unsubscribe_action,
)


def state(base_url: str = "http://127.0.0.1:8000") -> _StreamState:
    subscription = _Subscription(None, None, None)
    return _StreamState(base_url, subscription, ReconnectPolicy(), None)


def market_update(event_id: str) -> MarketUpdate:
    message = parse_stream_message(
        f'{{"id":"{event_id}","type":"market_update","created":1,"data":'
        '{"product_id":"prd_1","name":"A","category":"books","price":1.5,'
        '"previous_price":1.0}}'
    )
    assert isinstance(message, MarketUpdate)
    return message


def test_backoff_grows_to_cap_with_jitter() -> None:
    policy = ReconnectPolicy(initial_backoff_seconds=0.5, max_backoff_seconds=30.0)
    rng = random.Random(7)

    for attempt, ceiling in enumerate([0.5, 1, 2, 4, 8, 16, 30, 30]):
        delay = policy.delay(attempt, rng)
        assert ceiling / 2 <= delay <= ceiling, (attempt, delay)


def test_backoff_survives_huge_attempt_counts() -> None:
    policy = ReconnectPolicy(max_reconnects=None)

    assert policy.delay(10_000, random.Random(1)) <= policy.max_backoff_seconds
    assert policy.allows(10_000)


def test_attempts_exhausted_raise() -> None:
    stream_state = state()
    stream_state.policy = ReconnectPolicy(max_reconnects=2)
    cause = ConnectionRefusedError("refused")

    stream_state.next_delay(cause)
    stream_state.next_delay(cause)
    with pytest.raises(EventStreamError, match="after 2 attempts") as raised:
        stream_state.next_delay(cause)

    assert raised.value.__cause__ is cause


def test_connection_resets_attempt_count() -> None:
    stream_state = state()
    stream_state.next_delay(OSError("down"))

    stream_state.connected()

    assert stream_state.failed_attempts == 0


@pytest.mark.parametrize(
    ("base_url", "expected"),
    [
        ("http://127.0.0.1:8000", "ws://127.0.0.1:8000/v2/events"),
        ("https://api.techcorp.com/", "wss://api.techcorp.com/v2/events"),
        ("https://example.com/prefix", "wss://example.com/prefix/v2/events"),
    ],
)
def test_url_maps_scheme_and_path(base_url: str, expected: str) -> None:
    assert state(base_url).url() == expected


def test_url_carries_filters_and_position() -> None:
    stream_state = state()
    stream_state.subscription = _Subscription(
        frozenset({"market_update"}), frozenset({"prd_2", "prd_1"}), "home & garden"
    )
    stream_state.last_event_id = "17-4"

    assert stream_state.url() == (
        "ws://127.0.0.1:8000/v2/events?events=market_update"
        "&product_ids=prd_1%2Cprd_2&category=home+%26+garden&last_event_id=17-4"
    )


def test_events_not_newer_are_dropped() -> None:
    stream_state = state()

    assert stream_state.should_yield(market_update("100-5"))
    assert not stream_state.should_yield(market_update("100-5"))
    assert not stream_state.should_yield(market_update("100-4"))
    assert stream_state.should_yield(market_update("100-6"))
    assert stream_state.last_event_id == "100-6"


def test_events_of_new_numbering_are_yielded() -> None:
    stream_state = state()
    stream_state.last_event_id = "100-50"

    assert stream_state.should_yield(market_update("200-1"))
    assert stream_state.last_event_id == "200-1"


def test_messages_without_id_keep_position() -> None:
    stream_state = state()
    stream_state.last_event_id = "100-5"
    snapshot = parse_stream_message(
        '{"id":null,"type":"system_status","created":1,"data":{"status":'
        '"operational","message":"OK","updated_at":"2026-01-01T00:00:00Z"}}'
    )

    assert isinstance(snapshot, SystemStatus)
    assert stream_state.should_yield(snapshot)
    assert stream_state.last_event_id == "100-5"


def test_malformed_message_skipped() -> None:
    assert state().parse("not json") is None
    assert state().parse('{"type":"market_update"}') is None


@pytest.mark.parametrize(
    ("code", "reconnect", "new_token"),
    [
        (1001, True, False),
        (4001, True, True),
        (4003, False, False),
        (4008, True, False),
        (4029, True, False),
        (None, True, False),
    ],
)
def test_close_codes_decide_reconnect(
    code: int | None, reconnect: bool, new_token: bool
) -> None:
    close = Close(code, "reason") if code is not None else None

    decision = _decide_after_close(close)

    assert decision.reconnect is reconnect
    assert decision.new_token is new_token


def test_subscribe_updates_kept_filters() -> None:
    stream_state = state()
    stream_state.subscription = _Subscription(frozenset({"system_status"}), None, None)

    action = _subscribe_action(stream_state, ["market_update"], ["prd_1"], "books")

    assert stream_state.subscription.events == frozenset(
        {"market_update", "system_status"}
    )
    assert stream_state.subscription.product_ids == frozenset({"prd_1"})
    assert stream_state.subscription.category == "books"
    assert '"action": "subscribe"' in action


def test_unsubscribe_updates_kept_filters() -> None:
    stream_state = state()

    _unsubscribe_action(stream_state, ["system_status"])

    assert stream_state.subscription.events == frozenset({"market_update"})


def rejected_handshake(status: int, headers: dict[str, str]) -> InvalidStatus:
    return InvalidStatus(Response(status, "Rejected", Headers(headers), b"{}"))


def test_retry_after_lengthens_backoff() -> None:
    stream_state = state()
    tokens = FixedToken()
    exc = rejected_handshake(429, {"Retry-After": "7"})

    delay = _delay_after_connect_error(stream_state, tokens, exc, TRANSIENT_ERRORS)

    assert delay == 7.0
    assert tokens.invalidations == 0


def test_retry_after_capped_by_max_backoff() -> None:
    stream_state = state()
    exc = rejected_handshake(503, {"Retry-After": "3600"})

    delay = _delay_after_connect_error(
        stream_state, FixedToken(), exc, TRANSIENT_ERRORS
    )

    assert delay == stream_state.policy.max_backoff_seconds


def test_unauthorized_handshake_invalidates_token() -> None:
    tokens = FixedToken()
    exc = rejected_handshake(401, {})

    _delay_after_connect_error(state(), tokens, exc, TRANSIENT_ERRORS)

    assert tokens.invalidations == 1


def test_other_errors_raised_at_once() -> None:
    with pytest.raises(StreamHandshakeError) as raised:
        _delay_after_connect_error(
            state(), FixedToken(), rejected_handshake(403, {}), TRANSIENT_ERRORS
        )
    assert raised.value.status_code == 403
    with pytest.raises(ValueError, match="bad credentials"):
        _delay_after_connect_error(
            state(), FixedToken(), ValueError("bad credentials"), TRANSIENT_ERRORS
        )


class FixedToken:
    def __init__(self) -> None:
        self.invalidations = 0

    def get(self) -> str:
        return "token"

    def invalidate(self) -> None:
        self.invalidations += 1
