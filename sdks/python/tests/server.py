"""A real TechCorp server on loopback for the SDK's tests.

It runs `techcorp-server serve` from the same checkout on a SQLite file in a
temporary folder. `restart` keeps the port and the database, so a client
that reconnects finds the same server state again.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import httpx

from techcorp import AsyncTechCorp, TechCorp

ADMIN_CLIENT_ID = "sdk-test-admin"
ADMIN_CLIENT_SECRET = "sdk-test-admin-secret-value"
STARTUP_TIMEOUT_SECONDS = 30.0


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


class LocalServer:
    """`techcorp-server serve` in a child process, with its own database."""

    def __init__(self, data_dir: Path, env: Mapping[str, str] | None = None) -> None:
        self.data_dir = data_dir
        self.port = free_port()
        self.base_url = f"http://127.0.0.1:{self.port}"
        self.log_path = data_dir / "server.log"
        self.env = {
            **os.environ,
            "TECHCORP_DATABASE_URL": f"sqlite:///{data_dir / 'techcorp.db'}",
            "TECHCORP_BOOTSTRAP_CLIENT_ID": ADMIN_CLIENT_ID,
            "TECHCORP_BOOTSTRAP_CLIENT_SECRET": ADMIN_CLIENT_SECRET,
            "TECHCORP_RATE_LIMIT_PER_MINUTE": str(10**9),
            "TECHCORP_LOG_FORMAT": "json",
            **(env or {}),
        }
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        command = [sys.executable, "-m", "techcorp_server", "serve"]
        command += ["--host", "127.0.0.1", "--port", str(self.port)]
        with self.log_path.open("ab") as log:
            self.process = subprocess.Popen(
                command, env=self.env, stdout=log, stderr=subprocess.STDOUT
            )
        self._wait_until_ready()

    def load_demo_data(self) -> None:
        """Load the demo catalog and users, as `scripts/demo.sh` does."""
        command = [sys.executable, "-m", "techcorp_server", "demo-data", "--if-empty"]
        with self.log_path.open("ab") as log:
            subprocess.run(
                command, env=self.env, stdout=log, stderr=subprocess.STDOUT, check=True
            )

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 15.0) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        self.process.send_signal(sig)
        try:
            self.process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()

    def restart(self) -> None:
        self.stop()
        self.start()

    def logs(self) -> str:
        return self.log_path.read_text(errors="replace")

    def _wait_until_ready(self) -> None:
        deadline = time.monotonic() + STARTUP_TIMEOUT_SECONDS
        while time.monotonic() < deadline:
            assert self.process is not None
            if self.process.poll() is not None:
                raise RuntimeError(f"server exited early; see {self.log_path}")
            try:
                if httpx.get(f"{self.base_url}/readyz", timeout=1).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            time.sleep(0.1)
        raise RuntimeError(f"server not ready in time; see {self.log_path}")


def admin_client(server: LocalServer, **options: Any) -> TechCorp:
    """A sync client logged in as the server's bootstrap admin client."""
    return TechCorp(
        client_id=ADMIN_CLIENT_ID,
        client_secret=ADMIN_CLIENT_SECRET,
        base_url=server.base_url,
        **options,
    )


def async_admin_client(server: LocalServer, **options: Any) -> AsyncTechCorp:
    """An async client logged in as the server's bootstrap admin client."""
    return AsyncTechCorp(
        client_id=ADMIN_CLIENT_ID,
        client_secret=ADMIN_CLIENT_SECRET,
        base_url=server.base_url,
        **options,
    )
