"""Live progress of a kfp.local run, read from the orchestrator's log records.

kfp.local reports each task through the root logger ("Executing task 'x'", "Task 'x'
finished with status SUCCESS", "Task x cache hit", "Skipping task x"). A filter on the
root logger turns those records into step states, timings and a live table, while the
records themselves and every line the task processes print go to the run's log file.
"""

from __future__ import annotations

import contextlib
import io
import logging
import re
import time
import warnings
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.live import Live
from rich.table import Table

from freshet.summary import StepRecord

_ANSI = re.compile(r"\x1b\[[0-9;]*m")
_EVENTS = [
    (re.compile(r"^Executing task '([^']+)'"), "running"),
    (re.compile(r"^Task '([^']+)' finished with status SUCCESS"), "succeeded"),
    (re.compile(r"^Task '([^']+)' finished with status FAILURE"), "failed"),
    (re.compile(r"^Task (\S+) cache hit"), "cached"),
    (re.compile(r"^Skipping (?:conditional )?task (\S+?):?\s"), "skipped"),
]
_STYLE = {
    "succeeded": "green",
    "failed": "red",
    "running": "yellow",
    "skipped": "dim",
    "pending": "dim",
}


def strip_ansi(text: str) -> str:
    """Removes terminal color codes."""
    return _ANSI.sub("", text)


def dag_task_names(spec: dict[str, Any]) -> list[str]:
    """Executable task names of a compiled pipeline, in DAG order, sub-DAGs flattened."""
    from freshet.lint.spec import tasks_of

    return [task.name for task in tasks_of(spec)]


class StepTracker(logging.Filter):
    """Follows task states from kfp.local's log records (the records pass through)."""

    def __init__(
        self, names: list[str], on_change: Callable[[StepRecord], None] | None = None
    ) -> None:
        """Follows the tasks `names` (DAG order); `on_change` gets each step that changed."""
        super().__init__()
        self.steps = {name: StepRecord(name=name) for name in names}
        self.current: str | None = None
        self._started: dict[str, float] = {}
        self._on_change = on_change

    def filter(self, record: logging.LogRecord) -> bool:
        """Updates the step states from one record; never drops the record."""
        message = strip_ansi(record.getMessage())
        for pattern, state in _EVENTS:
            match = pattern.match(message)
            if match:
                self._apply(match.group(1), state)
                break
        return True

    def _apply(self, name: str, state: str) -> None:
        if self.steps and name not in self.steps:
            return  # a sub-DAG (condition, nested pipeline): its tasks are reported themselves
        step = self.steps.setdefault(name, StepRecord(name=name))
        before = step.model_copy()
        now = time.perf_counter()
        if state == "running":
            self._started.setdefault(name, now)
            step.status = "running"
            self.current = name
        elif state == "cached":
            step.status, step.cached = "succeeded", True
        elif state == "skipped":
            step.status = "skipped"
        else:
            step.status = "succeeded" if state == "succeeded" else "failed"
            step.seconds = round(now - self._started.get(name, now), 3)
            self.current = None
        if self._on_change is not None and step != before:
            self._on_change(step.model_copy())

    def records(self) -> list[StepRecord]:
        """The steps in pipeline order: never reached counts as skipped, unfinished as failed."""
        out = []
        for step in self.steps.values():
            if step.status in ("pending", "running"):
                step = step.model_copy(
                    update={"status": "skipped" if step.status == "pending" else "failed"}
                )
            out.append(step)
        return out

    def table(self) -> Table:
        """The live progress table."""
        table = Table(title="freshet run", expand=False)
        for column in ("step", "status", "seconds", "cached"):
            table.add_column(column)
        for step in self.steps.values():
            seconds = step.seconds
            if step.status == "running":
                seconds = time.perf_counter() - self._started.get(step.name, time.perf_counter())
            style = _STYLE.get(step.status, "")
            table.add_row(
                step.name,
                f"[{style}]{step.status}[/]",
                f"{seconds:.1f}",
                "yes" if step.cached else "",
            )
        return table


class StepOutput(io.TextIOBase):
    """Stands in for stdout during a run: writes to the log file, keeps each step's lines."""

    def __init__(self, log: io.TextIOBase, tracker: StepTracker) -> None:
        self.log = log
        self.tracker = tracker
        self.lines: dict[str, list[str]] = {}

    def writable(self) -> bool:
        """Always writable."""
        return True

    def write(self, text: str) -> int:
        """Writes color-free text to the log and files task output under the running step."""
        clean = strip_ansi(text)
        self.log.write(clean)
        if self.tracker.current is not None:
            kept = self.lines.setdefault(self.tracker.current, [])
            kept.extend(line.strip() for line in clean.splitlines() if line.strip())
            del kept[:-200]
        return len(text)

    def flush(self) -> None:
        """Flushes the log file."""
        self.log.flush()


@contextlib.contextmanager
def capture_run(log_path: Path, tracker: StepTracker) -> Iterator[StepOutput]:
    """Routes a kfp.local run's logs and task output to `log_path` while `tracker` watches.

    Everything is restored on exit: root logger level, handlers, filters, stdout, warnings.
    """
    root = logging.getLogger()
    previous_level = root.level
    with open(log_path, "w") as log_file, warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=".*non-Python base image.*")
        warnings.filterwarnings("ignore", message=".*have no effect in the current local runner")
        capture = StepOutput(log_file, tracker)
        handler = logging.StreamHandler(capture)
        root.addFilter(tracker)
        root.addHandler(handler)
        # kfp.local logs cache hits and skips at INFO, outside its own logging context.
        root.setLevel(logging.INFO)
        try:
            with contextlib.redirect_stdout(capture):
                yield capture
        finally:
            root.setLevel(previous_level)
            root.removeHandler(handler)
            root.removeFilter(tracker)


def live_display(tracker: StepTracker, console: Console) -> contextlib.AbstractContextManager[Any]:
    """A live table on a terminal; elsewhere nothing is redrawn (the summary says it all).

    Under JSON logging the step records stand in for the table, even on a terminal.
    """
    from freshet.logs import json_logging

    if not console.is_terminal or json_logging():
        return contextlib.nullcontext()
    return Live(get_renderable=tracker.table, console=console, refresh_per_second=4, transient=True)
