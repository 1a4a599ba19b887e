"""Prometheus metrics: what `RequestContextMiddleware` records, served at /metrics.

Requests are labelled by the route template (`/v2/users/{id}`), never the raw
path, and unknown methods are folded into `OTHER`, so the number of series
stays bounded whatever clients send.
"""

from __future__ import annotations

from prometheus_client import REGISTRY, CollectorRegistry, Counter, Histogram
from prometheus_client.exposition import choose_encoder
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

UNMATCHED_ROUTE = "unmatched"
"""The route label of requests that matched no route."""

KNOWN_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})

DURATION_BUCKETS_SECONDS = (
    0.001,
    0.0025,
    0.005,
    0.01,
    0.025,
    0.05,
    0.1,
    0.25,
    0.5,
    1.0,
    2.5,
    5.0,
    10.0,
)

registry: CollectorRegistry = REGISTRY
"""The registry served at /metrics: the process-wide default, so the client
library's process and platform collectors are included."""

http_requests = Counter(
    "techcorp_http_requests",
    "HTTP requests answered, by method, route template and status code.",
    ["method", "route", "status"],
    registry=registry,
)

http_request_duration = Histogram(
    "techcorp_http_request_duration_seconds",
    "Time from receiving a request to sending the last byte of its response.",
    ["method", "route"],
    buckets=DURATION_BUCKETS_SECONDS,
    registry=registry,
)


class RequestMetrics:
    """Records one HTTP request in the counter and the histogram.

    `labels()` takes a lock and builds a key on every call. Keeping the
    labelled children in a dict saves that work on every request.
    """

    def __init__(self) -> None:
        self._counters: dict[tuple[str, str, int], Counter] = {}
        self._histograms: dict[tuple[str, str], Histogram] = {}

    def observe(
        self, method: str, route: str, status: int, duration_seconds: float
    ) -> None:
        if method not in KNOWN_METHODS:
            method = "OTHER"

        counter = self._counters.get((method, route, status))
        if counter is None:
            counter = http_requests.labels(method, route, str(status))
            self._counters[(method, route, status)] = counter
        counter.inc()

        histogram = self._histograms.get((method, route))
        if histogram is None:
            histogram = http_request_duration.labels(method, route)
            self._histograms[(method, route)] = histogram
        histogram.observe(duration_seconds)


request_metrics = RequestMetrics()


async def metrics_endpoint(request: Request) -> Response:
    """Serve the registry in the format that the `Accept` header requests."""
    encode, content_type = choose_encoder(request.headers.get("accept", ""))
    return Response(encode(registry), media_type=content_type)


# TODO: with more than one worker process each worker has its own counters,
# and a scrape returns only those of the worker that served it. Aggregating
# them needs prometheus_client's multiprocess mode.
routes = [Route("/metrics", metrics_endpoint, methods=["GET"])]
