"""The visual report of one run: a single self-contained HTML file next to its summary."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import Any

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
    target = Path(out)
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", dir=target.parent)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write(html)
    os.chmod(tmp, 0o644)
    os.replace(tmp, target)
    return target


__all__ = ["REPORT_NAME", "report_path", "write_report"]
