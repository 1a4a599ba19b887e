"""wrk against granian servers started on loopback, as the benchmark runs them."""

import argparse
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest

from api_throughput import bare_command, run_once
from catalog import plain_env
from sample_page import DEFAULT_TOTAL, PAGE_SIZE
from scenarios import Request
from servers import HOST, ServerError, free_port, running_server
from wrk_runner import WrkError, ensure_wrk, run_wrk

TESTS = Path(__file__).resolve().parent
POST_BODY = '{"client_id": "cli_test", "client_secret": "cs_test"}'


def _serve(
    command_for_port: Callable[[int], list[str]],
    env: dict[str, str],
    log_path: Path,
    ready_path: str = "/",
) -> Iterator[str]:
    port = free_port()
    url = f"http://{HOST}:{port}/"
    with running_server(
        command_for_port(port),
        env=env,
        ready_url=url.rstrip("/") + ready_path,
        log_path=log_path,
    ):
        yield url


@pytest.fixture(scope="module")
def wrk() -> str:
    return ensure_wrk()


@pytest.fixture
def bare_url(tmp_path: Path) -> Iterator[str]:
    yield from _serve(bare_command, plain_env(), tmp_path / "bare.log")


@pytest.fixture
def strict_url(tmp_path: Path) -> Iterator[str]:
    def command(port: int) -> list[str]:
        return [
            str(Path(sys.executable).parent / "granian"),
            "--interface=asgi",
            f"--host={HOST}",
            f"--port={port}",
            f"--working-dir={TESTS}",
            "strict_app:app",
        ]

    env = plain_env(EXPECTED_BODY=POST_BODY, PYTHONPATH=str(TESTS.parent))
    yield from _serve(command, env, tmp_path / "strict.log", ready_path="/ready")


def test_bare_app_serves_sample_page(bare_url: str) -> None:
    response = httpx.get(bare_url)

    assert response.status_code == 200
    assert response.headers["content-type"] == "application/json"
    assert len(response.json()["data"]) == PAGE_SIZE
    assert response.json()["total"] == DEFAULT_TOTAL


def test_bare_app_reads_post_body(bare_url: str) -> None:
    body = b'{"client_id": "' + b"c" * 100_000 + b'"}'

    response = httpx.post(bare_url + "/v2/auth/token", content=body)

    assert response.status_code == 200
    token = response.json()
    assert token["token_type"] == "Bearer"  # noqa: S105 - a token type
    assert len(token["access_token"]) == 250
    assert int(response.headers["content-length"]) == len(response.content)


def test_bare_app_serves_page_file(tmp_path: Path) -> None:
    page_file = tmp_path / "page.json"
    page_file.write_bytes(b'{"data": [], "total": 0}')
    env = plain_env(BENCH_PAGE_FILE=str(page_file))

    for url in _serve(bare_command, env, tmp_path / "bare.log"):
        assert httpx.get(url).content == b'{"data": [], "total": 0}'


def test_run_wrk_measures_bare_app(wrk: str, bare_url: str) -> None:
    result = run_wrk(
        wrk, bare_url, duration_seconds=1, connections=4, timeout_seconds=5
    )

    assert result.requests > 100
    assert result.error_count == 0
    assert 0 < result.p50_us <= result.p99_us <= result.max_us


def test_run_wrk_posts_json_body(wrk: str, strict_url: str) -> None:
    result = run_wrk(
        wrk,
        strict_url,
        duration_seconds=1,
        connections=2,
        timeout_seconds=5,
        json_body=POST_BODY,
    )

    assert result.requests > 0
    assert result.errors["status"] == 0


def test_run_once_fails_on_non_2xx(wrk: str, strict_url: str) -> None:
    get_request = Request(strict_url, {}, None)
    args = argparse.Namespace(connections=2)

    with pytest.raises(WrkError, match=r"'status': [1-9]"):
        run_once(wrk, get_request, 1, args)


def test_running_server_reports_early_exit(tmp_path: Path) -> None:
    command = [sys.executable, "-c", "import sys; print('boom'); sys.exit(3)"]

    with (
        pytest.raises(ServerError, match=r"status 3(.|\n)*boom"),
        running_server(
            command,
            env=plain_env(),
            ready_url=f"http://{HOST}:{free_port()}/",
            log_path=tmp_path / "early-exit.log",
        ),
    ):
        pass
