"""A shutdown that tells stream clients before their connections close.

granian 2.8 drops open WebSocket connections as soon as a worker receives
SIGTERM or SIGINT, before the ASGI lifespan shutdown runs, so a notice sent
from the lifespan would come too late. The handler below takes SIGTERM
instead: it closes every stream connection with a notice and code 1001,
then raises SIGINT, which granian's own handler turns into its usual
graceful stop.

Ctrl-C in a terminal sends SIGINT to every process of the foreground process
group. So the worker leaves its parent's group: the SIGINT reaches only
granian's main process, which stops the worker with SIGTERM, and the
clients receive the notice.
"""

from __future__ import annotations

import asyncio
import logging
import os
import signal

from .hub import StreamHub

logger = logging.getLogger(__name__)


def close_streams_on_sigterm(hub: StreamHub) -> None:
    """Replace this worker's SIGTERM handler; call it from the running loop.

    It also moves the worker out of its parent's process group. A SIGINT
    sent to the worker alone still stops it at once, without the notice.
    """
    _leave_parent_process_group()
    loop = asyncio.get_running_loop()
    closing: list[asyncio.Task[None]] = []

    def on_sigterm() -> None:
        if not closing:
            logger.info("SIGTERM received; closing stream connections first")
            closing.append(loop.create_task(_close_then_interrupt(hub)))

    loop.add_signal_handler(signal.SIGTERM, on_sigterm)


async def _close_then_interrupt(hub: StreamHub) -> None:
    try:
        await hub.close_all()
    finally:
        signal.raise_signal(signal.SIGINT)


def _leave_parent_process_group() -> None:
    if os.getpgrp() == os.getpgid(os.getppid()):
        os.setpgid(0, 0)
