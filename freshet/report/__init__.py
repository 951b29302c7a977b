"""The visual report of one run: a single self-contained HTML file next to its summary."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from freshet.atomic import write_file

REPORT_NAME = "report.html"


def report_path(root: str | Path, run_id: str) -> Path:
    """Where a run's report is written by default: `<root>/runs/<run_id>/report.html`."""
    return Path(root) / "runs" / run_id / REPORT_NAME


def write_report(summary: dict[str, Any], out: str | Path) -> Path:
    """Renders the report of a run and writes it atomically.

    Args:
        summary: The run's summary (as in `summary.json` or the history).
        out: The HTML file to write.

    Returns:
        The written path.
    """
    from freshet.report.data import gather
    from freshet.report.page import render

    html = render(gather(summary))
    return write_file(out, html)


__all__ = ["REPORT_NAME", "report_path", "write_report"]
