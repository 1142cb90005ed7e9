"""A byte-count progress bar on stderr, shown only on a terminal and only for sizeable work."""

from __future__ import annotations

from typing import Any

MIN_BYTES = 4 << 20


class ByteProgress:
    def __init__(self, enabled: bool, label: str, console: Any = None):
        self.enabled = enabled
        self.label = label
        self.console = console
        self._progress: Any = None
        self._task: Any = None

    def __enter__(self) -> ByteProgress:
        return self

    def update(self, done: int, total: int) -> None:
        if not self.enabled or total < MIN_BYTES:
            return
        if self._progress is None:
            from rich.console import Console
            from rich.progress import (
                BarColumn,
                DownloadColumn,
                Progress,
                TextColumn,
                TimeRemainingColumn,
                TransferSpeedColumn,
            )

            self._progress = Progress(TextColumn(self.label), BarColumn(), DownloadColumn(),
                                      TransferSpeedColumn(), TimeRemainingColumn(),
                                      console=self.console or Console(stderr=True), transient=True)
            self._progress.start()
            self._task = self._progress.add_task(self.label, total=total)
        self._progress.update(self._task, completed=done, total=total)

    def __exit__(self, *exc: object) -> None:
        if self._progress is not None:
            self._progress.stop()
