"""Run wrk against one URL and read back its totals and latency percentiles."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

REPORT_SCRIPT = Path(__file__).with_name("wrk_report.lua")
RESULT_PREFIX = "WRK_RESULT "


class WrkError(RuntimeError):
    """wrk failed to run, or its run had errors that void the measurement."""


@dataclass(frozen=True)
class WrkResult:
    """One wrk run. Latencies are microseconds, measured by wrk per request."""

    requests: int
    duration_us: int
    errors: dict[str, int]
    p50_us: int
    p90_us: int
    p99_us: int
    max_us: int

    @property
    def requests_per_second(self) -> float:
        return self.requests / (self.duration_us / 1_000_000)

    @property
    def error_count(self) -> int:
        return sum(self.errors.values())


def ensure_wrk() -> str:
    """Return the path of wrk, installing the Debian package when it is missing."""
    path = shutil.which("wrk")
    if path is None:
        print("wrk is not installed; running 'apt-get install -y wrk'")
        subprocess.run(["apt-get", "install", "-y", "wrk"], check=True)  # noqa: S607
        path = shutil.which("wrk")
    if path is None:
        raise WrkError("wrk is still missing after apt-get. Install it by hand.")
    return path


def wrk_version(wrk: str) -> str:
    # `wrk --version` prints the version above the usage text and exits with 1.
    completed = subprocess.run(  # noqa: S603
        [wrk, "--version"], capture_output=True, text=True, check=False
    )
    first_line = (completed.stdout or completed.stderr).splitlines()[0]
    return first_line.split(" Copyright")[0].removeprefix("wrk ").strip()


def parse_result(output: str) -> WrkResult:
    """Parse the line that `wrk_report.lua` prints when the run ends."""
    for line in output.splitlines():
        if line.startswith(RESULT_PREFIX):
            fields = json.loads(line.removeprefix(RESULT_PREFIX))
            latency = fields["latency_us"]
            return WrkResult(
                requests=fields["requests"],
                duration_us=fields["duration_us"],
                errors=fields["errors"],
                p50_us=latency["p50"],
                p90_us=latency["p90"],
                p99_us=latency["p99"],
                max_us=latency["max"],
            )
    raise WrkError(f"wrk printed no {RESULT_PREFIX.strip()} line:\n{output}")


def run_wrk(
    wrk: str,
    url: str,
    *,
    duration_seconds: float,
    connections: int,
    timeout_seconds: float,
    headers: dict[str, str] | None = None,
    json_body: str | None = None,
    random_pages: int | None = None,
) -> WrkResult:
    """Load `url` with one wrk thread, sending `json_body` as a POST if given.

    With `random_pages`, each request gets a random page from 1 to that
    number, appended to `url` (which must already have a query string).
    """
    command = [
        wrk,
        "--threads=1",
        f"--connections={connections}",
        f"--duration={duration_seconds:g}s",
        f"--timeout={timeout_seconds:g}s",
        f"--script={REPORT_SCRIPT}",
    ]
    for name, value in (headers or {}).items():
        command += ["--header", f"{name}: {value}"]
    command.append(url)

    # The body goes through the environment so that secrets in it stay out of
    # the process list.
    env = {
        **os.environ,
        "WRK_BODY": json_body or "",
        "WRK_PAGES": str(random_pages or ""),
    }
    completed = subprocess.run(  # noqa: S603
        command, env=env, capture_output=True, text=True, check=False
    )
    if completed.returncode != 0:
        raise WrkError(
            f"wrk exited with status {completed.returncode} on {url}:\n"
            f"{completed.stderr or completed.stdout}"
        )
    return parse_result(completed.stdout)
