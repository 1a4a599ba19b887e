"""A real Redis server on loopback, from the `redis-server` program."""

from __future__ import annotations

import shutil
import subprocess
import time
from pathlib import Path

import redis

from .ports import free_port

STARTUP_TIMEOUT_SECONDS = 10.0

MISSING_MESSAGE = (
    "redis-server is not installed; install the Debian package redis-server "
    "(scripts/test.sh does) to run the tests that need Redis."
)


class RedisServer:
    """`redis-server` listening on 127.0.0.1 only.

    By default it keeps nothing on disk, so a restart comes back empty. With
    `persistent`, it writes an append-only file, and a restart after `stop`
    comes back with the data it had.
    """

    def __init__(
        self, data_dir: Path, databases: int = 16, *, persistent: bool = False
    ) -> None:
        self.data_dir = data_dir
        self.databases = databases
        self.persistent = persistent
        self.port = free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.log_path = data_dir / "redis.log"
        self.process: subprocess.Popen[bytes] | None = None

    @staticmethod
    def program() -> str | None:
        return shutil.which("redis-server")

    def start(self) -> None:
        program = self.program()
        if program is None:
            raise RuntimeError(MISSING_MESSAGE)
        command = [
            program,
            "--bind", "127.0.0.1",
            "--port", str(self.port),
            "--save", "",
            "--appendonly", "yes" if self.persistent else "no",
            "--dir", str(self.data_dir),
            "--databases", str(self.databases),
            "--logfile", str(self.log_path),
        ]  # fmt: skip
        self.process = subprocess.Popen(command)
        self._wait_until_ready()

    def _wait_until_ready(self) -> None:
        client = redis.Redis(port=self.port, socket_timeout=1)
        deadline = time.monotonic() + STARTUP_TIMEOUT_SECONDS
        try:
            while time.monotonic() < deadline:
                try:
                    if client.ping():
                        return
                except redis.ConnectionError:
                    time.sleep(0.05)
        finally:
            client.close()
        raise RuntimeError(f"redis-server did not start; see {self.log_path}")

    def start_on_same_port(self) -> None:
        """Start again after `stop`, as a restarted Redis would come back."""
        self.stop()
        self.start()

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(timeout=10)

    def flush(self) -> None:
        client = redis.Redis(port=self.port, socket_timeout=1)
        try:
            client.flushall()
        finally:
            client.close()
