"""Logging through `logging`, with every credential kept out."""

from __future__ import annotations

import logging
import uuid

import pytest

from techcorp import TechCorp

from .server import ADMIN_CLIENT_SECRET, LocalServer

PASSWORD = "LoggedNowhere123!"


def test_debug_logs_hold_no_token_secret_or_password(
    server: LocalServer, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    email = f"log-{uuid.uuid4().hex[:8]}@example.com"

    with TechCorp(
        client_id="sdk-test-admin",
        client_secret=ADMIN_CLIENT_SECRET,
        base_url=server.base_url,
    ) as client:
        token = client.tokens.get()
        client.users.create(email=email, password=PASSWORD, role="member")
        created = client.clients.create(name="logged")
        webhook = client.webhooks.create(url="http://127.0.0.1:9/", events=["*"])
        with TechCorp(email=email, password=PASSWORD, base_url=server.base_url) as user:
            user.system.status()

    logged = "\n".join(
        f"{record.getMessage()} {record.args!r}" for record in caplog.records
    )
    assert "GET /v2/system/status -> 200" in logged
    assert "[redacted]" in logged
    for secret in (token, ADMIN_CLIENT_SECRET, PASSWORD, created.client_secret):
        assert secret not in logged
    assert webhook.secret is not None
    assert webhook.secret not in logged


def test_retries_are_logged_at_info(caplog: pytest.LogCaptureFixture) -> None:
    from .mock_api import PRODUCT, MockAPI, error_reply, json_reply

    caplog.set_level(logging.INFO, logger="techcorp")
    api = MockAPI([error_reply(503, "service_unavailable"), json_reply(200, PRODUCT)])

    api.client().products.get("prd_1")

    assert "Retrying GET /v2/products/prd_1 in 0.50 s (retry 1 of 2) after 503" in (
        caplog.text
    )


def test_custom_credential_headers_are_redacted(
    caplog: pytest.LogCaptureFixture,
) -> None:
    from .mock_api import PRODUCT, MockAPI, json_reply

    caplog.set_level(logging.DEBUG, logger="techcorp")
    api = MockAPI([json_reply(200, PRODUCT)])
    headers = {"X-Api-Key": "key-kept-out", "X-Auth-Token": "token-kept-out"}

    api.client().products.get("prd_1", extra_headers=headers)

    logged = "\n".join(
        f"{record.getMessage()} {record.args!r}" for record in caplog.records
    )
    assert "X-Api-Key" in logged or "x-api-key" in logged
    assert "key-kept-out" not in logged
    assert "token-kept-out" not in logged
