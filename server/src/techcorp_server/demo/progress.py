"""Progress of a long load: a rich bar on a terminal, plain lines otherwise."""

from __future__ import annotations

import sys
from types import TracebackType
from typing import IO

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)

LINE_STEP_PERCENT = 10
"""Without a terminal, a line is printed each time this share is passed."""


class LoadProgress:
    """Count rows as they are written and show the count on `stream`.

    Use it as a context manager and call it with the rows each step added.
    """

    def __init__(
        self, description: str, total: int, stream: IO[str] | None = None
    ) -> None:
        self.description = description
        self.total = total
        self.done = 0
        self.stream = stream or sys.stderr
        self._next_percent = LINE_STEP_PERCENT
        self._bar: Progress | None = None
        if self.stream.isatty():
            self._bar = Progress(
                TextColumn("{task.description}"),
                BarColumn(),
                MofNCompleteColumn(),
                TimeElapsedColumn(),
                TimeRemainingColumn(),
                console=Console(file=self.stream),
            )
            self._task = self._bar.add_task(description, total=total)

    def __enter__(self) -> LoadProgress:
        if self._bar is not None:
            self._bar.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        if self._bar is not None:
            self._bar.stop()

    def __call__(self, rows: int) -> None:
        self.done += rows
        if self._bar is not None:
            self._bar.update(self._task, completed=self.done)
            return

        percent = 100 * self.done // max(self.total, 1)
        if percent < self._next_percent:
            return
        print(
            f"{self.description}: {self.done:,} of {self.total:,} ({percent}%)",
            file=self.stream,
            flush=True,
        )
        self._next_percent = (percent // LINE_STEP_PERCENT + 1) * LINE_STEP_PERCENT
