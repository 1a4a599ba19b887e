"""nginx on loopback, running the repository's `deploy/nginx.conf`."""

from __future__ import annotations

import re
import shutil
import subprocess
import time
from collections.abc import Sequence
from pathlib import Path

import httpx

from .ports import free_port

CONFIG = Path(__file__).resolve().parents[3] / "deploy" / "nginx.conf"
STARTUP_TIMEOUT_SECONDS = 10.0

MISSING_MESSAGE = (
    "nginx is not installed; install the Debian package nginx-light "
    "(scripts/test.sh does) to run the tests behind nginx."
)

MAIN_CONFIG = """
worker_processes 1;
error_log {folder}/error.log warn;
pid {folder}/nginx.pid;
events {{ worker_connections 4096; }}
http {{
    access_log off;
    client_body_temp_path {folder}/body;
    proxy_temp_path {folder}/proxy;
    fastcgi_temp_path {folder}/fastcgi;
    uwsgi_temp_path {folder}/uwsgi;
    scgi_temp_path {folder}/scgi;
    include {folder}/techcorp.conf;
}}
"""


class Nginx:
    """`deploy/nginx.conf` with its ports replaced by the given ones."""

    def __init__(self, folder: Path, upstream_ports: Sequence[int]) -> None:
        self.folder = folder
        self.port = free_port()
        self.base_url = f"http://127.0.0.1:{self.port}"
        self.upstream_ports = upstream_ports
        self.process: subprocess.Popen[bytes] | None = None

    def _write_config(self) -> Path:
        site = CONFIG.read_text()
        servers = "".join(
            f"    server 127.0.0.1:{port};\n" for port in self.upstream_ports
        )
        site = re.sub(r"(    server 127\.0\.0\.1:\d+;\n)+", servers, site, count=1)
        site = site.replace("listen 8080;", f"listen 127.0.0.1:{self.port};")
        (self.folder / "techcorp.conf").write_text(site)
        main = self.folder / "nginx.conf"
        main.write_text(MAIN_CONFIG.format(folder=self.folder))
        return main

    def start(self) -> None:
        program = shutil.which("nginx") or "/usr/sbin/nginx"
        if not Path(program).exists():
            raise RuntimeError(MISSING_MESSAGE)
        main = self._write_config()
        command = [program, "-c", str(main), "-p", str(self.folder), "-e", "stderr"]
        command += ["-g", "daemon off;"]
        # The child keeps its own copy of the log file handle.
        with (self.folder / "nginx.out").open("ab") as log:
            self.process = subprocess.Popen(command, stdout=log, stderr=log)
        self._wait_until_ready()

    def _wait_until_ready(self) -> None:
        deadline = time.monotonic() + STARTUP_TIMEOUT_SECONDS
        while time.monotonic() < deadline:
            assert self.process is not None
            if self.process.poll() is not None:
                output = (self.folder / "nginx.out").read_text(errors="replace")
                raise RuntimeError(f"nginx exited early: {output}")
            try:
                httpx.get(f"{self.base_url}/healthz", timeout=1)
                return
            except httpx.TransportError:
                time.sleep(0.05)
        raise RuntimeError("nginx did not start in time")

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(timeout=10)
