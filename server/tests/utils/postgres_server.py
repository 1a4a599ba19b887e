"""A real PostgreSQL server on loopback, from Debian's `postgresql` package.

The cluster lives in a temporary folder and is thrown away afterwards.
PostgreSQL refuses to run as root, so as root the programs run as the
`postgres` user that the package creates. Durability settings are off: the
data does not outlive the tests, and the tests run faster without them.
"""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import subprocess
import tempfile
from pathlib import Path

from .ports import free_port

MISSING_MESSAGE = (
    "PostgreSQL is not installed; install the Debian package postgresql "
    "(scripts/test.sh does) to run the tests against PostgreSQL."
)

SPEED_OVER_DURABILITY = (
    "-c fsync=off -c synchronous_commit=off -c full_page_writes=off "
    "-c max_connections=300"
)


def _bin_dir() -> Path:
    candidates = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))
    if not candidates:
        raise RuntimeError(MISSING_MESSAGE)
    return Path(candidates[-1]).parent


class PostgresServer:
    """A throwaway cluster that accepts the `postgres` user without a password."""

    def __init__(self) -> None:
        self.bin_dir = _bin_dir()
        self.port = free_port()
        self.folder = Path(tempfile.mkdtemp(prefix="techcorp-postgres-"))
        self.data_dir = self.folder / "data"
        self.log_path = self.folder / "postgres.log"
        self._databases = 0

    def _run(self, program: str, *arguments: str) -> None:
        command = [str(self.bin_dir / program), *arguments]
        if os.geteuid() == 0:
            command = ["runuser", "-u", "postgres", "--", *command]
        subprocess.run(command, check=True, capture_output=True)

    def start(self) -> None:
        if os.geteuid() == 0:
            owner = pwd.getpwnam("postgres")
            os.chown(self.folder, owner.pw_uid, owner.pw_gid)
        self._run(
            "initdb", "-D", str(self.data_dir), "-U", "postgres",
            "--auth=trust", "--encoding=UTF8", "--no-sync",
        )  # fmt: skip
        self.resume()

    def resume(self) -> None:
        """Start the server on the existing cluster, as after an outage."""
        options = (
            f"-p {self.port} -c listen_addresses=127.0.0.1 "
            f"-c unix_socket_directories='{self.folder}' {SPEED_OVER_DURABILITY}"
        )
        self._run(
            "pg_ctl", "-D", str(self.data_dir), "-l", str(self.log_path),
            "-o", options, "-w", "start",
        )  # fmt: skip

    def create_database(self) -> str:
        """Create an empty database and return its SQLAlchemy URL."""
        self._databases += 1
        name = f"techcorp_{os.getpid()}_{self._databases}"
        self._run(
            "createdb", "-h", "127.0.0.1", "-p", str(self.port), "-U", "postgres",
            name,
        )  # fmt: skip
        return f"postgresql://postgres@127.0.0.1:{self.port}/{name}"

    def pause(self) -> None:
        """Stop the server and keep its data, so that `resume` brings it back."""
        self._run("pg_ctl", "-D", str(self.data_dir), "-m", "fast", "-w", "stop")

    def stop(self) -> None:
        if (self.data_dir / "postmaster.pid").exists():
            self.pause()
        shutil.rmtree(self.folder, ignore_errors=True)
