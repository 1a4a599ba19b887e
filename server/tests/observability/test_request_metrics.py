"""The request counters report the series that prometheus_client's own would."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest

from techcorp_server.observability.metrics import (
    DURATION_BUCKETS_SECONDS,
    DURATION_HELP,
    DURATION_NAME,
    REQUESTS_HELP,
    REQUESTS_NAME,
    RequestMetrics,
)

# Bucket bounds, values just inside and outside them, and one past the last.
DURATIONS = [0.0004, 0.001, 0.0011, 0.003, 0.25, 0.2500001, 7.5, 42.0]
REQUESTS = [
    ("GET", "/v2/products", 200),
    ("GET", "/v2/products", 200),
    ("POST", "/v2/products", 201),
    ("GET", "unmatched", 404),
    ("BREW", "/v2/products", 405),
]


def _sample_lines(registry: CollectorRegistry) -> list[str]:
    # prometheus_client's own metrics also write `_created` timestamps, which
    # differ by construction. Every other line must match.
    text = generate_latest(registry).decode()
    return sorted(
        line
        for line in text.splitlines()
        if line and not line.startswith("#") and "_created" not in line
    )


def test_series_match_prometheus_client() -> None:
    ours = CollectorRegistry()
    metrics = RequestMetrics()
    ours.register(metrics)

    reference = CollectorRegistry()
    counter = Counter(
        REQUESTS_NAME,
        REQUESTS_HELP,
        ["method", "route", "status"],
        registry=reference,
    )
    histogram = Histogram(
        DURATION_NAME,
        DURATION_HELP,
        ["method", "route"],
        buckets=DURATION_BUCKETS_SECONDS,
        registry=reference,
    )

    for (method, route, status), duration in zip(REQUESTS, DURATIONS, strict=False):
        metrics.observe(method, route, status, duration)
        method_label = method if method != "BREW" else "OTHER"
        counter.labels(method_label, route, str(status)).inc()
        histogram.labels(method_label, route).observe(duration)
    for duration in DURATIONS:
        metrics.observe("GET", "/v2/users", 200, duration)
        counter.labels("GET", "/v2/users", "200").inc()
        histogram.labels("GET", "/v2/users").observe(duration)

    assert _sample_lines(ours) == _sample_lines(reference)
    assert any('le="0.001"' in line for line in _sample_lines(ours))
