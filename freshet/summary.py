"""The record a run leaves behind: `<root>/runs/<run_id>/summary.json`."""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
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
    decision: str | None = Field(
        default=None, description="The pipeline's `decision` output, e.g. passed or rejected."
    )
    data_uri: str | None = None
    data_version: str | None = None
    reason: str = "manual"
    parameters: dict[str, Any] = Field(default_factory=dict)
    template: dict[str, str] = Field(default_factory=dict)
    started_at: str
    seconds: float
    steps: list[StepRecord] = Field(default_factory=list)
    metrics: dict[str, float] = Field(default_factory=dict)
    breakdowns: dict[str, dict[str, float]] = Field(
        default_factory=dict,
        description="Counts by category from metrics artifacts (e.g. rows per class or reason).",
    )
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


METRICS_TYPE = "system.Metrics"


def read_outputs(
    spec: dict[str, Any], outputs: dict[str, Any]
) -> tuple[dict[str, str], dict[str, float], dict[str, Any]]:
    """What a run's pipeline outputs say, whatever the pipeline is.

    Args:
        spec: The compiled pipeline (its root `outputDefinitions` give the output types).
        outputs: Output name -> value (parameters) or artifact (with `uri` and `metadata`).

    Returns:
        `(artifacts, metrics, gate)`: the URI of every output artifact; the numeric metadata
        of every `system.Metrics` output, merged in output order; the JSON of an output
        artifact named `gate_report` (empty when absent or unreadable).
    """
    declared = spec.get("root", {}).get("outputDefinitions", {}).get("artifacts", {})
    artifacts: dict[str, str] = {}
    metrics: dict[str, float] = {}
    for name in sorted(declared):
        artifact = outputs.get(name)
        uri = getattr(artifact, "uri", None)
        if artifact is None or not uri:
            continue
        artifacts[name] = str(uri)
        schema = declared[name].get("artifactType", {}).get("schemaTitle", "")
        if schema == METRICS_TYPE:
            metadata = getattr(artifact, "metadata", None) or {}
            metrics.update(
                {
                    str(k): float(v)
                    for k, v in metadata.items()
                    if isinstance(v, int | float) and not isinstance(v, bool)
                }
            )
    gate: dict[str, Any] = {}
    path = Path(artifacts["gate_report"]) if "gate_report" in artifacts else None
    if path is not None and path.is_file():
        try:
            loaded = json.loads(path.read_text())
        except (OSError, ValueError):
            loaded = None
        gate = loaded if isinstance(loaded, dict) else {}
    return artifacts, metrics, gate


def read_breakdowns(spec: dict[str, Any], outputs: dict[str, Any]) -> dict[str, dict[str, float]]:
    """The maps of counts a run's `system.Metrics` outputs carry, whatever the pipeline is.

    A step logs scalars with `log_metric`; a metadata entry that maps names to numbers (rows
    per class, per histogram bin, per rejection reason) is a breakdown, shown as a table and
    a bar chart.

    Args:
        spec: The compiled pipeline (its root `outputDefinitions` give the output types).
        outputs: Output name -> value or artifact (with `metadata`).

    Returns:
        Metadata key -> {category: number}, merged in output order.
    """
    declared = spec.get("root", {}).get("outputDefinitions", {}).get("artifacts", {})
    found: dict[str, dict[str, float]] = {}
    for name in sorted(declared):
        schema = declared[name].get("artifactType", {}).get("schemaTitle", "")
        metadata = getattr(outputs.get(name), "metadata", None) or {}
        if schema != METRICS_TYPE:
            continue
        for key, value in metadata.items():
            if isinstance(value, dict) and all(
                isinstance(v, int | float) and not isinstance(v, bool) for v in value.values()
            ):
                found[str(key)] = {str(k): float(v) for k, v in value.items()}
    return found


# Metric names where a lower value is better (besides `*_loss`, `*_error`, `*_ms`); the gate
# record's `direction` decides for the metric it judged.
LOWER_IS_BETTER = frozenset({"log_loss", "loss", "rmse", "mse", "mae", "mape", "brier_score"})


def lower_is_better(name: str, gate: dict[str, Any] | None = None) -> bool:
    """Whether a lower value of metric `name` is better (the gate's direction wins)."""
    if gate and gate.get("metric") == name and gate.get("direction") in ("higher", "lower"):
        return bool(gate["direction"] == "lower")
    return name in LOWER_IS_BETTER or name.endswith(("_loss", "_error", "_ms"))


def metric_order(names: Iterable[str], gate: dict[str, Any] | None = None) -> list[str]:
    """Metric names with the gate's metric first, the others in their given order."""
    listed = list(dict.fromkeys(names))
    first = (gate or {}).get("metric")
    return ([first] if first in listed else []) + [n for n in listed if n != first]
