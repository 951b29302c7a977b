"""The record a run leaves behind: `<root>/runs/<run_id>/summary.json`."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, Field


class StepRecord(BaseModel):
    """One pipeline task as it ran."""

    name: str
    status: Literal["pending", "running", "succeeded", "failed", "skipped"] = "pending"
    seconds: float = 0.0
    cached: bool = False


class RunSummary(BaseModel):
    """Everything a person or a tool needs to know about one run."""

    run_id: str
    pipeline: str
    status: Literal["succeeded", "failed"]
    decision: Literal["passed", "rejected"] | None = None
    data_uri: str | None = None
    data_version: str | None = None
    reason: str = "manual"
    parameters: dict[str, Any] = Field(default_factory=dict)
    template: dict[str, str] = Field(default_factory=dict)
    started_at: str
    seconds: float
    steps: list[StepRecord] = Field(default_factory=list)
    metrics: dict[str, float] = Field(default_factory=dict)
    gate: dict[str, Any] = Field(default_factory=dict)
    champion: dict[str, Any] | None = None
    verification: Literal["passed", "failed"] | None = None
    artifacts: dict[str, str] = Field(default_factory=dict)
    log: str | None = None
    error: str | None = None


def verification_record(
    log_path: Path, artifacts_root: Path, verify_status: str | None
) -> tuple[dict[str, str], Literal["passed", "failed"] | None]:
    """The serving bundle, the verification report and the outcome of one local run.

    The report is read from this run's kfp.local folder (named in the run's log) because a
    failed run has no pipeline outputs; the report names the bundle it verified, which may
    come from an earlier run when the package step was served from cache.

    Args:
        log_path: The run's `pipeline.log`.
        artifacts_root: The kfp.local pipeline root.
        verify_status: The verify step's status, None when the pipeline has no such step.

    Returns:
        `({"bundle": ..., "verification_report": ...}, "passed" | "failed" | None)`.
    """
    found: dict[str, str] = {}
    try:
        log = log_path.read_text(errors="replace")
    except OSError:
        log = ""
    match = re.search(re.escape(str(artifacts_root)) + r"/([^/\s\"']+)/", log)
    report_path = artifacts_root / match.group(1) / "verify" / "report" if match else None
    if report_path is not None and report_path.is_file():
        found["verification_report"] = str(report_path)
        try:
            report = json.loads(report_path.read_text())
            found["bundle"] = str(report["bundle"])
            passed = bool(report["passed"])
        except (ValueError, KeyError, TypeError):
            passed = False
        return found, "passed" if passed and verify_status != "failed" else "failed"
    return found, "failed" if verify_status == "failed" else None
