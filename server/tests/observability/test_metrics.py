"""The Prometheus endpoint, scraped after real requests."""

from __future__ import annotations

from prometheus_client.parser import text_string_to_metric_families
from starlette.applications import Starlette

from techcorp_server.core.handlers import EXCEPTION_HANDLERS
from techcorp_server.core.request_context import RequestContextMiddleware
from techcorp_server.observability import metrics

from ..core.stack import build_app, client_for


def _samples(text: str, name: str) -> dict[tuple[tuple[str, str], ...], float]:
    found = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if sample.name == name:
                found[tuple(sorted(sample.labels.items()))] = sample.value
    return found


async def test_metrics_counts_requests_by_route() -> None:
    app = Starlette(routes=metrics.routes, exception_handlers=EXCEPTION_HANDLERS)
    async with (
        client_for(build_app()) as api,
        client_for(RequestContextMiddleware(app)) as scraper,
    ):
        before = _samples(
            (await scraper.get("/metrics")).text, "techcorp_http_requests_total"
        )
        await api.get("/v2/items/7")
        await api.get("/v2/items/8")
        await api.get("/v2/nope")
        response = await scraper.get("/metrics")

    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    after = _samples(response.text, "techcorp_http_requests_total")
    items = (("method", "GET"), ("route", "/v2/items/{item_id}"), ("status", "200"))
    unmatched = (("method", "GET"), ("route", "unmatched"), ("status", "404"))
    assert after[items] - before.get(items, 0) == 2
    assert after[unmatched] - before.get(unmatched, 0) == 1
    assert not any(("route", "/v2/items/7") in labels for labels in after)


async def test_metrics_has_latency_histogram() -> None:
    app = Starlette(routes=metrics.routes, exception_handlers=EXCEPTION_HANDLERS)
    async with client_for(build_app()) as api, client_for(app) as scraper:
        await api.get("/v2/items/1")
        response = await scraper.get("/metrics")

    counts = _samples(response.text, "techcorp_http_request_duration_seconds_count")
    assert counts[(("method", "GET"), ("route", "/v2/items/{item_id}"))] >= 1


async def test_metrics_speaks_openmetrics_when_asked() -> None:
    app = Starlette(routes=metrics.routes, exception_handlers=EXCEPTION_HANDLERS)
    async with client_for(app) as scraper:
        response = await scraper.get(
            "/metrics", headers={"Accept": "application/openmetrics-text"}
        )

    assert response.headers["content-type"].startswith("application/openmetrics-text")
    assert response.text.rstrip().endswith("# EOF")
