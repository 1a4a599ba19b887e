"""The main process of a running server: granian and its workers.

`techcorp-server serve` migrates the database with the whole application
loaded, then replaces itself with this module through `exec`. The process
id stays the same, so signals and process managers see no change, while
the application's imports are dropped: this process only starts and watches
the workers, and each worker imports the application itself.
"""

from __future__ import annotations

import importlib.util

from .core.logging import granian_log_config
from .settings import Settings

APP_FACTORY = "techcorp_server.app:create_served_app"


def run_granian(settings: Settings) -> None:
    """Serve with Granian, which stops gracefully on SIGTERM and SIGINT."""
    from granian import Granian
    from granian.constants import Interfaces, Loops
    from granian.log import LogLevels

    has_uvloop = importlib.util.find_spec("uvloop") is not None
    server = Granian(
        target=APP_FACTORY,
        factory=True,
        interface=Interfaces.ASGI,
        address=settings.host,
        port=settings.port,
        workers=settings.workers,
        loop=Loops.uvloop if has_uvloop else Loops.asyncio,
        # The application writes its own access log, with the request id.
        log_access=False,
        log_level=LogLevels(settings.log_level),
        log_dictconfig=granian_log_config(settings),
        # A worker still running this many seconds after the signal is killed.
        workers_kill_timeout=settings.shutdown_timeout_seconds,
    )
    server.serve()


if __name__ == "__main__":
    run_granian(Settings())
