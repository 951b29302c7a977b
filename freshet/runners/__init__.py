"""Runners behind one `submit()`: the CLI and the triggers submit the same way."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from freshet.runners.base import Runner, RunRequest, RunResult

if TYPE_CHECKING:  # kept out of the fork server's start (freshet.runners.fork_worker)
    from rich.console import Console

    from freshet.config import Settings


def get_runner(settings: Settings, console: Console | None = None) -> Runner:
    """The runner `settings.runner` chooses: "local" (the default), "vertex" or "kfp".

    Raises:
        ConfigError: Vertex or KFP is chosen and its settings are incomplete (all named at once).
    """
    if settings.runner == "vertex":
        from freshet.runners.vertex import VertexRunner

        return VertexRunner(settings, console=console)
    if settings.runner == "kfp":
        from freshet.runners.kfp import KfpRunner

        return KfpRunner(settings, console=console)
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
    runner = get_runner(settings, console)
    published_on_kfp = (request.template_uri or "").startswith("kfp://")
    if request.template_uri and settings.runner != "vertex" and not published_on_kfp:
        request = _with_local_copy(request, settings)
    return runner.submit(request)


def _with_local_copy(request: RunRequest, settings: Settings) -> RunRequest:
    """The request with its published template downloaded, for runners that read files."""
    from freshet.gcp.session import default_credentials
    from freshet.gcp.templates import fetch_template

    assert request.template_uri is not None
    path = fetch_template(
        request.template_uri, default_credentials(), Path(settings.root) / "templates"
    )
    return request.model_copy(update={"template": path, "template_uri": None})


__all__ = ["RunRequest", "RunResult", "Runner", "get_runner", "submit"]
