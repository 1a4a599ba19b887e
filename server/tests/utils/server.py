"""A real server process on loopback, started the way an operator starts it."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Mapping, Sequence
from pathlib import Path

import httpx

from .backends import backend_env
from .ports import free_port

STARTUP_TIMEOUT_SECONDS = 30.0


class ServerProcess:
    """`techcorp-server serve` in a child process, with its own database."""

    def __init__(
        self,
        data_dir: Path,
        env: Mapping[str, str],
        arguments: Sequence[str] = (),
    ) -> None:
        self.data_dir = data_dir
        self.arguments = list(arguments)
        """More `serve` arguments, such as `--workers 2`."""
        self.port = free_port()
        self.base_url = f"http://127.0.0.1:{self.port}"
        self.log_path = data_dir / "server.log"
        self.env = {
            **os.environ,
            **backend_env(data_dir),
            "TECHCORP_LOG_FORMAT": "json",
            **env,
        }
        self.process: subprocess.Popen[bytes] | None = None

    def start(self, *, own_process_group: bool = False) -> None:
        """Start the server; `own_process_group` lets `stop` signal it as a
        terminal does, to every process of its group."""
        command = [sys.executable, "-m", "techcorp_server", "serve"]
        command += ["--host", "127.0.0.1", "--port", str(self.port), *self.arguments]
        # The child keeps its own copy of the log file handle.
        with self.log_path.open("ab") as log:
            self.process = subprocess.Popen(
                command,
                env=self.env,
                stdout=log,
                stderr=subprocess.STDOUT,
                process_group=0 if own_process_group else None,
            )
        self._wait_until_ready()

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

    def stop(
        self, sig: int = signal.SIGTERM, timeout: float = 15.0, *, group: bool = False
    ) -> int:
        """Send `sig` to the server, or with `group` to its process group."""
        assert self.process is not None
        if self.process.poll() is None:
            if group:
                os.killpg(self.process.pid, sig)
            else:
                self.process.send_signal(sig)
            try:
                self.process.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        return self.process.returncode

    @property
    def database_url(self) -> str:
        return self.env["TECHCORP_DATABASE_URL"]

    def logs(self) -> str:
        return self.log_path.read_text(errors="replace")
