"""Runners behind one `submit()`: the CLI and the triggers submit the same way."""

from __future__ import annotations

from rich.console import Console

from freshet.config import Settings
from freshet.runners.base import Runner, RunRequest, RunResult


def get_runner(settings: Settings, console: Console | None = None) -> Runner:
    """The runner the settings choose (the local runner on a machine without cloud settings)."""
    from freshet.runners.local import LocalRunner

    return LocalRunner(settings, console=console)


def submit(request: RunRequest, settings: Settings, console: Console | None = None) -> RunResult:
    """Submits one run request through the configured runner.

    Args:
        request: What to run.
        settings: Where and how to run it.
        console: Where live progress goes (stderr by default).

    Returns:
        What happened: succeeded, failed, submitted, or already_exists for a repeated run id.
    """
    return get_runner(settings, console).submit(request)


__all__ = ["RunRequest", "RunResult", "Runner", "get_runner", "submit"]
