"""A local run's life as log records, for operators who read JSON logs (Cloud Logging).

Under JSON logging (`freshet.logs.json_logging`) a run logs: run started (run id, pipeline,
data version, parameters), each step transition (step, status, seconds, cached), and run
finished (status, decision, metrics, summary path; ERROR with the run's error sentence when
it failed). The labels run_id and pipeline come from the runner's `log_context`, so one log
query finds a whole run. On a terminal the live table and the printed summary tell a person
the same, so nothing is logged there.

While kfp.local executes it replaces the root logger's handlers with its own (the run's
log), so the records go straight to the JSON handler found when the run began.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from freshet.logs import json_handler
from freshet.summary import RunSummary, StepRecord

log = logging.getLogger("freshet.run")


class RunEvents:
    """The records of one run, written to the JSON handler installed when it was created."""

    def __init__(self) -> None:
        """Finds the JSON handler; without one (a terminal, a library call) nothing is logged."""
        self.handler = json_handler()

    def _emit(self, level: int, message: str, fields: dict[str, Any]) -> None:
        if self.handler is None or not log.isEnabledFor(level):
            return
        path, line, function, _ = log.findCaller(stacklevel=2)  # the method that called us
        record = log.makeRecord(
            log.name, level, path, line, message, (), None, func=function, extra=fields
        )
        self.handler.handle(record)

    def started(
        self, run_id: str, pipeline: str, data_version: str | None, parameters: dict[str, Any]
    ) -> None:
        """Logs that a run starts, with what it runs on."""
        self._emit(
            logging.INFO,
            f"run {run_id} of {pipeline} started (data version {data_version or 'unknown'})",
            {
                "event": "run_started",
                "run_id": run_id,
                "pipeline": pipeline,
                "data_version": data_version,
                "parameters": parameters,
            },
        )

    def step_changed(self, step: StepRecord) -> None:
        """Logs one step transition (`StepTracker`'s `on_change`)."""
        took = f" after {step.seconds:.1f} s" if step.status in ("succeeded", "failed") else ""
        self._emit(
            logging.ERROR if step.status == "failed" else logging.INFO,
            f"step {step.name} {step.status}{took}{' (cached)' if step.cached else ''}",
            {
                "event": "step",
                "step": step.name,
                "status": step.status,
                "seconds": step.seconds,
                "cached": step.cached,
                "labels": {"step": step.name},
            },
        )

    def finished(self, summary: RunSummary, path: Path) -> None:
        """Logs how a run ended; a failed run's record is an ERROR with its error sentence."""
        outcome = f"run {summary.run_id} {summary.status} in {summary.seconds:.1f} s"
        if summary.decision:
            outcome += f", decision {summary.decision}"
        if summary.error:
            outcome += f": {summary.error}"
        self._emit(
            logging.INFO if summary.status == "succeeded" else logging.ERROR,
            outcome,
            {
                "event": "run_finished",
                "status": summary.status,
                "decision": summary.decision,
                "metrics": summary.metrics,
                "data_version": summary.data_version,
                "seconds": summary.seconds,
                "summary": str(path),
                "report": summary.artifacts.get("report"),
                "error": summary.error,
            },
        )

    def exists(self, run_id: str, path: Path) -> None:
        """Logs that a run id was started before, so nothing runs again."""
        self._emit(
            logging.INFO,
            f"run {run_id} already exists: {path}",
            {"event": "run_exists", "run_id": run_id, "summary": str(path)},
        )
