"""The visual report of one run: a single self-contained HTML file next to its summary."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from freshet.atomic import write_file

REPORT_NAME = "report.html"
FIGURE_CACHE = "report-figures"


def report_path(root: str | Path, run_id: str) -> Path:
    """Where a run's report is written by default: `<root>/runs/<run_id>/report.html`."""
    return Path(root) / "runs" / run_id / REPORT_NAME


def figure_cache_path(root: str | Path) -> Path:
    """The figure cache of a local root: `<root>/cache/report-figures` (beside kfp.local's)."""
    return Path(root) / "cache" / FIGURE_CACHE


def write_report(
    summary: dict[str, Any], out: str | Path, figure_cache: str | Path | None = None
) -> Path:
    """Renders the report of a run and writes it atomically.

    Args:
        summary: The run's summary (as in `summary.json` or the history).
        out: The HTML file to write.
        figure_cache: A folder where PNG figures are kept by what they show, so a report of
            an evaluation seen before reuses them without importing matplotlib; None draws
            every figure.

    Returns:
        The written path.
    """
    from freshet.report.data import gather
    from freshet.report.figure_cache import FigureCache
    from freshet.report.page import render

    html = render(gather(summary), FigureCache(figure_cache))
    return write_file(out, html)


__all__ = ["FIGURE_CACHE", "REPORT_NAME", "figure_cache_path", "report_path", "write_report"]
