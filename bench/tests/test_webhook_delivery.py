import argparse
import json

import pytest

from webhook_delivery import (
    Deliveries,
    Drain,
    PhaseResult,
    ReceiverProtocol,
    latency_ms,
    percentile,
    render_section,
    summarize,
)
from wrk_runner import WrkResult

NO_ERRORS = {"connect": 0, "read": 0, "write": 0, "status": 0, "timeout": 0}


class FakeTransport:
    def __init__(self) -> None:
        self.written = b""

    def write(self, data: bytes) -> None:
        self.written += data


def request(body: bytes, delivery_id: str) -> bytes:
    head = (
        f"POST /hooks/0 HTTP/1.1\r\nHost: x\r\nX-Delivery-Id: {delivery_id}\r\n"
        f"Content-Length: {len(body)}\r\n\r\n"
    )
    return head.encode() + body


def receiver() -> tuple[ReceiverProtocol, FakeTransport, Deliveries]:
    deliveries = Deliveries()
    protocol = ReceiverProtocol(deliveries)
    transport = FakeTransport()
    protocol.connection_made(transport)  # type: ignore[arg-type]
    return protocol, transport, deliveries


def test_receiver_reads_split_and_pipelined_requests() -> None:
    protocol, transport, deliveries = receiver()
    stream = request(b'{"a":1}', "dlv_1") + request(b'{"b":22}', "dlv_2")

    for index in range(0, len(stream), 7):
        protocol.data_received(stream[index : index + 7])

    assert [body for _, body in deliveries.arrivals] == [b'{"a":1}', b'{"b":22}']
    assert transport.written == b"HTTP/1.1 204 No Content\r\n\r\n" * 2
    assert protocol.buffer == bytearray()


def test_receiver_waits_for_whole_body() -> None:
    protocol, transport, deliveries = receiver()
    whole = request(b"0123456789", "dlv_1")

    protocol.data_received(whole[:-3])
    assert deliveries.arrivals == []
    assert transport.written == b""
    protocol.data_received(whole[-3:])
    assert [body for _, body in deliveries.arrivals] == [b"0123456789"]


def test_receiver_counts_repeated_delivery_as_duplicate() -> None:
    protocol, transport, deliveries = receiver()

    protocol.data_received(request(b"{}", "dlv_1") + request(b"{}", "dlv_1"))

    assert len(deliveries.arrivals) == 1
    assert deliveries.duplicates == 1
    assert transport.written == b"HTTP/1.1 204 No Content\r\n\r\n" * 2


def test_latency_from_created_at() -> None:
    body = json.dumps({"data": {"created_at": "2026-01-01T00:00:00.000Z"}}).encode()
    arrived = 1767225600.025

    assert latency_ms(arrived, body) == pytest.approx(25.0, abs=0.01)


def test_percentile_nearest_rank() -> None:
    values = [float(value) for value in range(1, 101)]
    assert percentile(values, 0.5) == 50
    assert percentile(values, 0.99) == 99
    assert percentile([7.0], 0.99) == 7


def test_summarize_and_render() -> None:
    body = json.dumps({"data": {"created_at": "2026-01-01T00:00:00.000Z"}}).encode()
    start = 1767225600.0
    arrivals = [(start + 0.010 * (index + 1), body) for index in range(100)]

    burst = summarize("burst", 10, start, arrivals, duplicates=0)
    assert burst.deliveries == 100
    assert burst.seconds == pytest.approx(1.0)
    assert burst.deliveries_per_second == pytest.approx(100)
    assert burst.p50_ms == pytest.approx(505, abs=1)

    paced = PhaseResult("paced", 5, 50, 0, 5.0, 12.3, 45.6, 50.0)
    load = WrkResult(1000, 1_000_000, NO_ERRORS, 900, 1500, 3000, 9000)
    args = argparse.Namespace(
        events=10, endpoints=10, rate=1.0, duration=5.0, background_connections=4
    )
    drain = Drain(deliveries=40, seconds=0.5)
    section = render_section(burst, drain, paced, load, args, [("CPUs (nproc)", "2")])

    assert section.startswith("## Webhook delivery")
    assert "| burst | 10 | 100 | 0 | 100 | 505.0 |" in section
    assert "| paced | 5 | 50 | 0 | 10 | 12.3 | 45.6 | 50.0 |" in section
    assert "1,000 req/s" in section
    words = " ".join(section.split())
    assert "remaining 40 deliveries went out at 80 per second" in words
