"""What happens after a local run's summary is written: history, report, and a failure alert.

None of it may change the run's outcome: each part logs a warning when it fails.
"""

from __future__ import annotations

import logging
from pathlib import Path

from freshet.alerts import Alert, post_alert
from freshet.ops_settings import OpsSettings
from freshet.summary import RunSummary

log = logging.getLogger(__name__)


def report_link(root: Path, run_id: str, ops: OpsSettings) -> str:
    """Where a person finds the report: the published URL when configured, else the file."""
    from freshet.report import REPORT_NAME, report_path

    if ops.report_base_url:
        return f"{ops.report_base_url.rstrip('/')}/{run_id}/{REPORT_NAME}"
    return str(report_path(root, run_id))


def failure_alert(summary: RunSummary, report: str | None) -> Alert:
    """The alert for a failed run: pipeline, run id, the failing step and its error."""
    from freshet.history import failed_step

    step = failed_step(summary)
    where = f" in step '{step}'" if step else ""
    return Alert(
        kind="run_failed",
        title=f"{summary.pipeline} run failed{where}",
        pipeline=summary.pipeline,
        run_id=summary.run_id,
        step=step,
        error=summary.error or "no error message",
        report=report,
        details={"trigger": summary.reason, "data version": summary.data_version or ""},
    )


def after_local_run(root: Path, summary: RunSummary, summary_path: Path, ops: OpsSettings) -> None:
    """Records the run in the history, writes its report and alerts when it failed.

    Args:
        root: The local root.
        summary: The summary just written (its `artifacts["report"]` names the report file).
        summary_path: Where it was written.
        ops: Webhook settings.
    """
    from freshet.history import record_run
    from freshet.report import figure_cache_path, report_path, write_report

    try:
        record_run(root, summary, summary_path)
    except Exception:  # noqa: BLE001  (the run is over; its history is a convenience)
        log.warning("Run %s not recorded in the history.", summary.run_id, exc_info=True)
    try:
        write_report(
            summary.model_dump(),
            summary.artifacts.get("report") or report_path(root, summary.run_id),
            figure_cache=figure_cache_path(root),
        )
    except Exception:  # noqa: BLE001
        log.warning("The report of run %s could not be written.", summary.run_id, exc_info=True)
    if summary.status == "failed":
        post_alert(failure_alert(summary, report_link(root, summary.run_id, ops)), ops)
