"""Which worker process of `serve --workers N` served a request.

The server logs JSON lines with the process id, and each access line carries
the request's id, which a client may choose with `X-Request-Id`. So a test
sends its own request ids and reads the pid of each from the log. Nothing
of this reaches a client.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterable
from pathlib import Path

import httpx

from .server import ServerProcess

LOG_DEADLINE_SECONDS = 5.0
"""How long an access line may take to reach the log after its response."""


def worker_pids(server: ServerProcess) -> list[int]:
    """Return the ids of the server's child processes, its workers."""
    assert server.process is not None
    pid = server.process.pid
    children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
    return sorted(int(child) for child in children)


def _access_pids(server: ServerProcess) -> dict[str, int]:
    pids = {}
    for line in server.logs().splitlines():
        try:
            entry = json.loads(line)
        except json.JSONDecodeError:
            continue
        if entry.get("logger") == "techcorp_server.access":
            pids[entry["request_id"]] = entry["pid"]
    return pids


def served_by(server: ServerProcess, request_ids: Iterable[str]) -> dict[str, int]:
    """Return the pid of the worker that served each request, from the log."""
    wanted = set(request_ids)
    deadline = time.monotonic() + LOG_DEADLINE_SECONDS
    while True:
        pids = _access_pids(server)
        if wanted <= pids.keys():
            return {request_id: pids[request_id] for request_id in wanted}
        if time.monotonic() > deadline:
            missing = sorted(wanted - pids.keys())[:5]
            raise AssertionError(f"no access line for {missing} in {server.log_path}")
        time.sleep(0.05)


def metric_value(text: str, sample: str) -> float:
    """Return the value of one sample (`name{labels}`) in a Prometheus page."""
    for line in text.splitlines():
        name, _, value = line.rpartition(" ")
        if name == sample:
            return float(value)
    return 0.0


def metric_by_worker(
    server: ServerProcess, sample: str, attempts: int = 60
) -> dict[int, float]:
    """Scrape `/metrics` on new connections until every worker has answered.

    Each worker serves its own figures, so each scrape shows one worker's
    value of `sample`; the access line of the scrape names the worker.
    """
    workers = set(worker_pids(server))
    values: dict[int, float] = {}
    for attempt in range(attempts):
        request_id = f"scrape-{time.monotonic_ns()}-{attempt}"
        response = httpx.get(
            f"{server.base_url}/metrics", headers={"X-Request-Id": request_id}
        )
        pid = served_by(server, [request_id])[request_id]
        values[pid] = metric_value(response.text, sample)
        if values.keys() == workers:
            return values
    raise AssertionError(f"scrapes reached only workers {sorted(values)}")
