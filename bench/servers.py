"""Start HTTP servers on loopback for a benchmark run and stop them after it."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import time
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path

import httpx

HOST = "127.0.0.1"
START_TIMEOUT_SECONDS = 60.0
STOP_TIMEOUT_SECONDS = 15.0
POLL_INTERVAL_SECONDS = 0.1


class ServerError(RuntimeError):
    """A server did not start, or exited while it was needed."""


def free_port() -> int:
    """Return a loopback port that was free a moment ago."""
    with socket.socket() as sock:
        sock.bind((HOST, 0))
        port: int = sock.getsockname()[1]
        return port


def _log_tail(log_path: Path, lines: int = 30) -> str:
    text = log_path.read_text(errors="replace") if log_path.exists() else ""
    return "\n".join(text.splitlines()[-lines:])


def _wait_until_ready(
    process: subprocess.Popen[bytes],
    ready_url: str,
    log_path: Path,
    timeout_seconds: float = START_TIMEOUT_SECONDS,
) -> None:
    deadline = time.monotonic() + timeout_seconds
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise ServerError(
                f"The server exited with status {process.returncode} before "
                f"{ready_url} returned 200. Its log ends with:\n{_log_tail(log_path)}"
            )
        try:
            if httpx.get(ready_url, timeout=1.0).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(POLL_INTERVAL_SECONDS)
    raise ServerError(
        f"{ready_url} did not return 200 within {timeout_seconds:g} s. "
        f"The server log ends with:\n{_log_tail(log_path)}"
    )


def _stop(process: subprocess.Popen[bytes]) -> None:
    # granian runs workers in child processes, so the whole process group is
    # signalled. The group is the server's own: it was started in a new session.
    try:
        os.killpg(process.pid, signal.SIGTERM)
    except ProcessLookupError:
        return
    try:
        process.wait(timeout=STOP_TIMEOUT_SECONDS)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
        process.wait()


@contextmanager
def running_server(
    command: Sequence[str],
    *,
    env: Mapping[str, str],
    ready_url: str,
    log_path: Path,
    start_timeout_seconds: float = START_TIMEOUT_SECONDS,
) -> Iterator[subprocess.Popen[bytes]]:
    """Run `command` while the block runs, entering it once `ready_url` returns 200.

    The server's output goes to `log_path`, which error messages quote.
    """
    log_path.parent.mkdir(parents=True, exist_ok=True)
    with log_path.open("wb") as log:
        process = subprocess.Popen(  # noqa: S603
            list(command),
            env=dict(env),
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        try:
            _wait_until_ready(process, ready_url, log_path, start_timeout_seconds)
            yield process
            if process.poll() is not None:
                raise ServerError(
                    f"The server for {ready_url} exited during the run. Its log "
                    f"ends with:\n{_log_tail(log_path)}"
                )
        finally:
            _stop(process)
