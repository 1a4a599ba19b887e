"""Request ids, the access log and request metrics."""

from __future__ import annotations

import logging
import re

import pytest

from techcorp_server.observability.metrics import registry

from .stack import build_app, client_for, open_websocket

GENERATED_ID = re.compile(r"req_[0-9a-f]{24}")


async def test_request_id_generated_when_absent() -> None:
    async with client_for(build_app()) as client:
        first = await client.get("/v2/items/1")
        second = await client.get("/v2/items/1")

    assert GENERATED_ID.fullmatch(first.headers["X-Request-Id"])
    assert GENERATED_ID.fullmatch(second.headers["X-Request-Id"])
    assert first.headers["X-Request-Id"] != second.headers["X-Request-Id"]


@pytest.mark.parametrize(
    "incoming",
    ["abc", "trace-1.2:3_x", "A" * 128, "01J9Z6V3Q8G2N5X7W4K1M0P3RT"],
)
async def test_sane_request_id_echoed(incoming: str) -> None:
    async with client_for(build_app()) as client:
        response = await client.get("/v2/items/1", headers={"X-Request-Id": incoming})

    assert response.headers["X-Request-Id"] == incoming


@pytest.mark.parametrize(
    "incoming",
    ["", "A" * 129, "has space", "line\\nbreak", 'quote"d', "ünïcode", "a/b"],
)
async def test_insane_request_id_replaced(incoming: str) -> None:
    async with client_for(build_app()) as client:
        response = await client.get(
            "/v2/items/1", headers=[(b"X-Request-Id", incoming.encode())]
        )

    assert GENERATED_ID.fullmatch(response.headers["X-Request-Id"])


async def test_error_body_echoes_request_id() -> None:
    async with client_for(build_app()) as client:
        response = await client.get("/v2/missing", headers={"X-Request-Id": "abc-1"})

    assert response.json()["request_id"] == "abc-1"


async def test_access_log_has_one_line_per_request(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO, logger="techcorp_server.access")
    async with client_for(build_app(), client_ip="198.51.100.7") as client:
        response = await client.get(
            "/v2/items/42?access_token=eyJhbGciOiJIUzI1NiJ9.e30.c2ln&page=2",
            headers={"Authorization": "Bearer sekrit-token-value"},
        )

    lines = [r for r in caplog.records if r.name == "techcorp_server.access"]
    assert len(lines) == 1
    line = lines[0]
    assert getattr(line, "method", None) == "GET"
    assert getattr(line, "path", None) == "/v2/items/42"
    assert getattr(line, "status", None) == 200
    assert isinstance(getattr(line, "duration_ms", None), float)
    assert getattr(line, "client_ip", None) == "198.51.100.7"
    assert getattr(line, "request_id", None) == response.headers["X-Request-Id"]
    # Only the server's own records: httpx logs the URL it requested.
    server_text = "\n".join(
        f"{record.getMessage()} {record.__dict__}"
        for record in caplog.records
        if record.name.startswith("techcorp_server")
    )
    assert "access_token" not in server_text
    assert "sekrit-token-value" not in server_text


async def test_access_log_redacts_token_in_path(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO, logger="techcorp_server.access")
    jwt = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ4In0.c2lnbmF0dXJl"
    async with client_for(build_app()) as client:
        await client.get(f"/v2/items/{jwt}")

    lines = [r for r in caplog.records if r.name == "techcorp_server.access"]
    assert len(lines) == 1
    assert jwt not in lines[0].getMessage()
    assert jwt not in str(getattr(lines[0], "path", ""))


async def test_access_log_off() -> None:
    handler = _ListHandler()
    logging.getLogger("techcorp_server.access").addHandler(handler)
    try:
        async with client_for(build_app(access_log=False)) as client:
            await client.get("/v2/items/1")
    finally:
        logging.getLogger("techcorp_server.access").removeHandler(handler)

    assert handler.records == []


class _ListHandler(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


def _requests_counted(method: str, route: str, status: str) -> float:
    value = registry.get_sample_value(
        "techcorp_http_requests_total",
        {"method": method, "route": route, "status": status},
    )
    return value or 0.0


async def test_metrics_label_route_template() -> None:
    before = _requests_counted("GET", "/v2/items/{item_id}", "200")
    async with client_for(build_app()) as client:
        await client.get("/v2/items/1")
        await client.get("/v2/items/2")
        await client.get("/v2/items/3")

    after = _requests_counted("GET", "/v2/items/{item_id}", "200")
    assert after - before == 3
    assert _requests_counted("GET", "/v2/items/1", "200") == 0


async def test_metrics_fold_unknown_labels() -> None:
    before = _requests_counted("OTHER", "unmatched", "404")
    async with client_for(build_app()) as client:
        await client.request("BREW", "/v2/pot-1")
        await client.request("PURGE", "/v2/pot-2")

    assert _requests_counted("OTHER", "unmatched", "404") - before == 2


async def test_websocket_handshake_carries_request_id() -> None:
    sent = await open_websocket(
        build_app(), "/stream", headers=[(b"x-request-id", b"ws-trace-1")]
    )

    accept = sent[0]
    assert accept["type"] == "websocket.accept"
    assert (b"x-request-id", b"ws-trace-1") in accept["headers"]
