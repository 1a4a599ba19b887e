"""Compare a bare ASGI app, Starlette and FastAPI on uvicorn and granian.

Run from the repository root:

    .venv/bin/pip install fastapi==0.163.2   # only for this comparison
    .venv/bin/python bench/framework_choice.py [--duration 6] [--connections 64]

Every app serves the same fixed page, so the table shows what each framework
and server cost per request, before any of the API's own work. It prints a
Markdown table; docs/benchmarks.md records the run behind the choice.
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import sys
from contextlib import ExitStack
from pathlib import Path

from servers import HOST, free_port, running_server
from wrk_runner import ensure_wrk, run_wrk

BENCH_DIR = Path(__file__).resolve().parent
BIN_DIR = Path(sys.executable).parent
APPS = {
    "bare ASGI app": "bare_app:app",
    "Starlette route": "framework_apps:starlette_app",
    "FastAPI route": "framework_apps:fastapi_app",
}
PATH = "/v2/products?limit=20"


def server_command(server: str, target: str, port: int) -> list[str]:
    factory = target.endswith("fastapi_app")
    if server == "uvicorn":
        command = [str(BIN_DIR / "uvicorn"), target, "--port", str(port)]
        command += ["--host", HOST, "--log-level", "error", "--no-access-log"]
        return [*command, "--factory"] if factory else command
    command = [str(BIN_DIR / "granian"), "--interface", "asgi", target]
    command += ["--host", HOST, "--port", str(port), "--log-level", "error"]
    return [*command, "--factory"] if factory else command


def measure(server: str, target: str, args: argparse.Namespace, wrk: str) -> float:
    port = free_port()
    url = f"http://{HOST}:{port}{PATH}"
    log_path = BENCH_DIR / "results" / "framework" / f"{server}-{port}.log"
    with ExitStack() as stack:
        stack.enter_context(
            running_server(
                server_command(server, target, port),
                env={**os.environ, "PYTHONPATH": str(BENCH_DIR)},
                ready_url=url,
                log_path=log_path,
            )
        )
        result = run_wrk(
            wrk,
            url,
            duration_seconds=args.duration,
            connections=args.connections,
            timeout_seconds=10,
        )
    return result.requests_per_second


def main(argv: list[str]) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--duration", type=float, default=6.0, help="seconds per run")
    parser.add_argument("--connections", type=int, default=64)
    args = parser.parse_args(argv)

    if importlib.util.find_spec("fastapi") is None:
        sys.exit("FastAPI is missing: run `.venv/bin/pip install fastapi==0.163.2`.")
    wrk = ensure_wrk()

    print("| app | uvicorn req/s | granian req/s | granian / uvicorn |")
    print("|---|---:|---:|---:|")
    for name, target in APPS.items():
        uvicorn_rate = measure("uvicorn", target, args, wrk)
        granian_rate = measure("granian", target, args, wrk)
        ratio = granian_rate / uvicorn_rate
        print(f"| {name} | {uvicorn_rate:,.0f} | {granian_rate:,.0f} | {ratio:.2f} |")


if __name__ == "__main__":
    main(sys.argv[1:])
