"""Prometheus metrics of the event stream, served at /metrics with the rest."""

from __future__ import annotations

from prometheus_client import Counter, Gauge

from ..observability.metrics import registry

open_connections = Gauge(
    "techcorp_stream_connections",
    "Open connections to the event stream in this process.",
    registry=registry,
)

published_events = Counter(
    "techcorp_stream_events",
    "Events published on the stream, by type.",
    ["type"],
    registry=registry,
)

closed_connections = Counter(
    "techcorp_stream_closes",
    "Stream connections closed by the server, by close code.",
    ["code"],
    registry=registry,
)
