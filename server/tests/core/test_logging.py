"""Logging: JSON lines with the request id, and no secret ever written."""

from __future__ import annotations

import io
import json
import logging
import subprocess
import sys
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from techcorp_server.core.logging import (
    GRANIAN_LOGGERS,
    HANDLER_NAME,
    REDACTED,
    ConsoleFormatter,
    JSONFormatter,
    RedactingFilter,
    RequestIdFilter,
    configure_logging,
    redact,
    request_id_var,
)
from techcorp_server.settings import Settings

from ..conftest import server_env
from ..utils.api import (
    ADMIN_CLIENT_ID,
    ADMIN_CLIENT_SECRET,
    bearer,
    client_token,
    unique_email,
)
from ..utils.server import ServerProcess

JWT = (
    "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9"
    ".eyJzdWIiOiJ1c3JfMDEifQ"
    ".c2lnbmF0dXJlLWJ5dGVzLWhlcmU"
)


@pytest.mark.parametrize(
    ("text", "secret"),
    [
        (f"Authorization: Bearer {JWT}", JWT),
        ("Authorization: Bearer opaque-token-1234", "opaque-token-1234"),
        ("authorization: basic dXNlcjpwYXNz", "dXNlcjpwYXNz"),
        (f"token {JWT} rejected", JWT),
        ("eyJhbGciOiJub25lIn0.eyJzdWIiOiJ4In0.", "eyJhbGciOiJub25lIn0"),
        ('{"client_id": "c1", "client_secret": "s3cr3t-value"}', "s3cr3t-value"),
        ("grant_type=client_credentials&client_secret=abc123&x=1", "abc123"),
        ('{"email": "a@b.c", "password": "SecurePassword123!"}', "SecurePassword123"),
        ("password=hunter2", "hunter2"),
        ("signing with whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", "MfKQ9r8GKYqrTwjU"),
        ("created cs_Qm9vYmFyQmF6UXV4MTIzNDU2Nzg5MA", "Qm9vYmFyQmF6UXV4"),
        ("postgresql://techcorp:pg-pass-9@db:5432/app", "pg-pass-9"),
        ("GET /v2/events?access_token=abc.def.ghi", "abc.def.ghi"),
        ("hash '$argon2id$v=19$m=65536,t=3,p=4$c2FsdA$aGFzaA'", "c2FsdA$aGFzaA"),
    ],
)
def test_redact_removes_secret(text: str, secret: str) -> None:
    redacted = redact(text)

    assert secret not in redacted
    assert REDACTED in redacted


@pytest.mark.parametrize(
    "text",
    [
        "GET /v2/users 200",
        "client created",
        "The client secret is invalid.",
        "hint cs_Ab12Cd",
        "Rate limit reached for 203.0.113.7",
    ],
)
def test_redact_keeps_ordinary_text(text: str) -> None:
    assert redact(text) == text


def _record(message: str, *args: object, **extra: Any) -> logging.LogRecord:
    logger = logging.getLogger("techcorp_server.test")
    return logger.makeRecord(
        logger.name, logging.INFO, __file__, 1, message, args, None, extra=extra
    )


def _filtered(record: logging.LogRecord) -> logging.LogRecord:
    RequestIdFilter().filter(record)
    RedactingFilter().filter(record)
    return record


def test_filter_redacts_arguments_and_extras() -> None:
    record = _filtered(
        _record(
            "token request from %s with %s",
            "c1",
            f"Bearer {JWT}",
            client_secret="raw-secret",
            body={"password": "hunter2", "nested": [f"Bearer {JWT}"]},
            attempt=3,
        )
    )
    line = JSONFormatter().format(record)

    assert JWT not in line
    assert "raw-secret" not in line
    assert "hunter2" not in line
    entry = json.loads(line)
    assert entry["client_secret"] == REDACTED
    assert entry["body"]["password"] == REDACTED
    assert entry["attempt"] == 3


def test_filter_redacts_traceback() -> None:
    try:
        raise ValueError("bad password=hunter2")
    except ValueError:
        record = logging.getLogger("x").makeRecord(
            "x", logging.ERROR, __file__, 1, "failed", (), sys.exc_info()
        )
    line = JSONFormatter().format(_filtered(record))

    assert "hunter2" not in line
    assert "ValueError" in json.loads(line)["exception"]


def test_json_line_has_request_id_from_context() -> None:
    token = request_id_var.set("req_test_1")
    try:
        record = _filtered(_record("client created", client_id="c1"))
    finally:
        request_id_var.reset(token)
    entry = json.loads(JSONFormatter().format(record))

    assert entry["message"] == "client created"
    assert entry["request_id"] == "req_test_1"
    assert entry["client_id"] == "c1"
    assert entry["level"] == "info"
    assert entry["logger"] == "techcorp_server.test"
    assert entry["time"].endswith("Z")


def test_console_line_is_readable() -> None:
    record = _filtered(_record("client created", client_id="c1"))
    line = ConsoleFormatter().format(record)

    assert "INFO" in line
    assert "client created client_id=c1" in line


@pytest.fixture
def restore_logging() -> Iterator[None]:
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    yield
    for handler in list(root.handlers):
        if handler not in handlers:
            root.removeHandler(handler)
    root.setLevel(level)


@pytest.mark.usefixtures("restore_logging")
def test_configure_logging_twice_keeps_one_handler() -> None:
    configure_logging(Settings(log_format="json", log_level="debug"))
    configure_logging(Settings(log_format="json", log_level="warning"))

    root = logging.getLogger()
    ours = [handler for handler in root.handlers if handler.name == HANDLER_NAME]
    assert len(ours) == 1
    assert isinstance(ours[0].formatter, JSONFormatter)
    assert root.level == logging.WARNING
    for name in GRANIAN_LOGGERS:
        assert logging.getLogger(name).handlers == []
        assert logging.getLogger(name).propagate


@pytest.mark.usefixtures("restore_logging")
def test_configured_handler_writes_redacted_json(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    stream = io.StringIO()
    monkeypatch.setattr(sys, "stderr", stream)
    configure_logging(Settings(log_format="auto"))

    logging.getLogger("_granian").info("listening; secret=%s", "abc123")

    entry = json.loads(stream.getvalue().splitlines()[-1])
    assert entry["logger"] == "_granian"
    assert "abc123" not in entry["message"]


def test_granian_config_writes_redacted_json() -> None:
    # dictConfig replaces every root handler, so it runs in a process of its own.
    script = (
        "import logging, logging.config\n"
        "from techcorp_server.core.logging import granian_log_config\n"
        "from techcorp_server.settings import Settings\n"
        "logging.config.dictConfig(granian_log_config(Settings(log_format='json')))\n"
        "logging.getLogger('_granian').warning('started; password=%s', 'hunter2')\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=True
    )

    entry = json.loads(result.stderr.strip().splitlines()[-1])
    assert entry["logger"] == "_granian"
    assert entry["level"] == "warning"
    assert "hunter2" not in result.stderr


# A real server process, its stderr captured in a file: whatever the requests
# carry, no token, client secret or password may reach the log.


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    env = {**server_env(), "TECHCORP_LOG_LEVEL": "debug"}
    process = ServerProcess(tmp_path_factory.mktemp("logging"), env)
    process.start()
    yield process
    process.stop()


async def test_server_logs_no_secrets(server: ServerProcess) -> None:
    password = "Pa55word-never-logged-71"
    wrong_password = "Wrong-pa55word-never-logged-72"
    async with httpx.AsyncClient(base_url=server.base_url) as api:
        token = await client_token(api)
        email = unique_email("logged")
        created = await api.post(
            "/v2/users",
            json={"email": email, "password": password, "role": "member"},
            headers=bearer(token),
        )
        assert created.status_code == 201, created.text
        await api.post("/v2/auth/token", json={"email": email, "password": password})
        await api.post(
            "/v2/auth/token", json={"email": email, "password": wrong_password}
        )
        await api.post(
            "/v2/auth/token",
            data={"grant_type": "client_credentials"},
            auth=(ADMIN_CLIENT_ID, ADMIN_CLIENT_SECRET),
        )
        await api.post(
            "/v2/auth/token",
            data={
                "grant_type": "client_credentials",
                "client_id": ADMIN_CLIENT_ID,
                "client_secret": ADMIN_CLIENT_SECRET + "-wrong",
            },
        )
        await api.get("/v2/users", params={"access_token": token})
        await api.get("/v2/users", headers=bearer(token + "tampered"))
        await api.post(
            "/v2/users",
            content=f'{{"password": "{password}", broken'.encode(),
            headers={**bearer(token), "Content-Type": "application/json"},
        )

    logs = server.logs()
    assert "techcorp_server.access" in logs
    assert '"level":"debug"' in logs
    assert "$argon2" not in logs
    for secret in (token, ADMIN_CLIENT_SECRET, password, wrong_password):
        assert secret not in logs
    assert token.split(".")[2] not in logs
