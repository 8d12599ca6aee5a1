"""Progress reporting: a rich bar on a terminal, condensed `[NN%]` lines otherwise."""

from __future__ import annotations

import sys
from types import TracebackType
from typing import Protocol

from rich.console import Console
from rich.progress import (
    BarColumn,
    Progress,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
)


class Reporter(Protocol):
    """Receives the progress of one step at a time."""

    def start(self, label: str, total: float) -> None: ...
    def update(self, completed: float) -> None: ...
    def message(self, text: str) -> None: ...
    def close(self) -> None: ...


class SilentReporter:
    """Reports nothing."""

    def start(self, label: str, total: float) -> None:
        pass

    def update(self, completed: float) -> None:
        pass

    def message(self, text: str) -> None:
        pass

    def close(self) -> None:
        pass


class LineReporter:
    """Prints `[ NN%] label` whenever the percentage moves by `step` points."""

    def __init__(self, step: int = 5) -> None:
        self._step = step
        self._label = ""
        self._total = 1.0
        self._last = -1

    def start(self, label: str, total: float) -> None:
        self._label, self._total, self._last = label, max(total, 1.0), -1
        self.update(0)

    def update(self, completed: float) -> None:
        pct = min(100, int(100 * completed / self._total))
        due = pct >= 100 or self._last < 0 or pct - self._last >= self._step
        if due and pct != self._last:
            print(f"[{pct:3d}%] {self._label}", file=sys.stderr, flush=True)
            self._last = pct

    def message(self, text: str) -> None:
        print(text, file=sys.stderr, flush=True)

    def close(self) -> None:
        pass


class RichReporter:
    """A rich progress display on stderr."""

    def __init__(self) -> None:
        self._progress = Progress(
            TextColumn("{task.description}"),
            BarColumn(),
            TextColumn("{task.percentage:>3.0f}%"),
            TimeElapsedColumn(),
            console=Console(stderr=True),
        )
        self._progress.start()
        self._task: TaskID | None = None

    def start(self, label: str, total: float) -> None:
        self._task = self._progress.add_task(label, total=total)

    def update(self, completed: float) -> None:
        if self._task is not None:
            self._progress.update(self._task, completed=completed)

    def message(self, text: str) -> None:
        self._progress.console.print(text, markup=False, highlight=False)

    def close(self) -> None:
        self._progress.stop()

    def __enter__(self) -> RichReporter:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()


def make_reporter(progress: bool) -> Reporter:
    """Rich bars on a terminal, plain lines in logs, nothing when `progress` is False."""
    if not progress:
        return SilentReporter()
    if sys.stderr.isatty():
        return RichReporter()
    return LineReporter()
