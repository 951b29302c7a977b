"""Follow a Vertex pipeline job to its end: a live task table on a terminal, lines elsewhere."""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from rich.console import Console
from rich.live import Live
from rich.table import Table

from freshet.gcp.session import VertexSession

TERMINAL = {"SUCCEEDED", "FAILED", "CANCELLED"}
_STYLE = {"SUCCEEDED": "green", "FAILED": "red", "RUNNING": "yellow", "CANCELLED": "red"}


@dataclass
class JobView:
    """What one poll saw: the job state, each task's state, the error if any."""

    state: str
    tasks: dict[str, str] = field(default_factory=dict)
    error: str = ""

    @classmethod
    def of(cls, job: Any) -> JobView:
        """Reads a `google.cloud.aiplatform_v1.PipelineJob`."""
        state = job.state.name.removeprefix("PIPELINE_STATE_")
        tasks = {
            task.task_name: task.state.name
            for task in job.job_detail.task_details
            if task.task_name and not task.task_name.startswith(("root", "exit-handler"))
        }
        return cls(state=state, tasks=tasks, error=job.error.message if job.error else "")

    def table(self, run_id: str, seconds: float) -> Table:
        """The live table."""
        style = _STYLE.get(self.state, "dim")
        table = Table(title=f"{run_id}: [{style}]{self.state}[/] ({seconds:.0f} s)", min_width=60)
        table.add_column("task")
        table.add_column("state")
        for name, state in self.tasks.items():
            table.add_row(name, f"[{_STYLE.get(state, 'dim')}]{state}[/]")
        return table


def follow(
    session: VertexSession,
    run_id: str,
    console: Console,
    sleep: Callable[[float], None] = time.sleep,
) -> JobView:
    """Polls a Vertex job every `gcp.poll_seconds` until it ends (see `watch`)."""
    from google.cloud import aiplatform

    job = aiplatform.PipelineJob.get(session.job_name(run_id), credentials=session.credentials)
    first = True

    def fetch() -> JobView:
        nonlocal first
        if not first:
            _ = job.state  # reading the state fetches the job again
        first = False
        return JobView.of(job.gca_resource)

    return watch(fetch, run_id, console, session.gcp.poll_seconds, sleep)


def watch(
    fetch: Callable[[], JobView],
    run_id: str,
    console: Console,
    poll_seconds: float,
    sleep: Callable[[float], None] = time.sleep,
) -> JobView:
    """Polls a run on any engine until it ends: the one follow loop of Vertex and KFP.

    Args:
        fetch: Reads the run's current view (state names as in `TERMINAL`).
        run_id: Shown in the table title.
        console: Where progress goes: a live table on a terminal, one line per change elsewhere.
        poll_seconds: Wait between polls.
        sleep: Waits between polls (tests pass a shorter one).

    Returns:
        The last view: state SUCCEEDED, FAILED or CANCELLED.
    """
    started = time.monotonic()
    last: JobView | None = None
    live: contextlib.AbstractContextManager[Any] = contextlib.nullcontext()
    if console.is_terminal:
        live = Live(console=console, refresh_per_second=4, transient=True)
    with live as display:
        while True:
            view = fetch()
            seconds = time.monotonic() - started
            if display is not None:
                display.update(view.table(run_id, seconds))
            elif last is None or view.state != last.state:
                console.print(f"{run_id}: {view.state} ({seconds:.0f} s)")
            last = view
            if view.state in TERMINAL:
                break
            sleep(poll_seconds)
    if console.is_terminal:
        console.print(view.table(run_id, time.monotonic() - started))
    return view
