"""What a Vertex run's steps found and decided, read from the job's task details.

The evaluate task's `metrics` artifact carries the logged metrics in its metadata; the gate
task's `report` artifact its `decision` and `reasons`; the verify task's `report` artifact
`passed`, `summary` and `target`; the register task's output parameter (`output:Output` in
its execution's metadata) is the registry version it made the champion. A task that failed
before writing them is read by its state.
"""

from __future__ import annotations

from typing import Any

_STATE_OUTCOME = {"FAILED": "failed", "SKIPPED": "skipped", "CANCELLED": "cancelled"}


def _first_artifact(task: Any, name: str) -> Any:
    found = task.outputs.get(name) if task.outputs else None
    return found.artifacts[0] if found is not None and found.artifacts else None


def run_outcomes(job: Any) -> dict[str, Any]:
    """`metrics`, `gate`, `decision`, `verification`, `champion`, `artifacts` of a pipeline job.

    Keys are present only for what the job's tasks recorded, in the shape of a local run's
    summary (what `freshet runs show` prints).
    """
    result: dict[str, Any] = {}
    artifacts: dict[str, str] = {}
    for task in job.job_detail.task_details:
        state = task.state.name
        if task.task_name == "evaluate":
            found = _first_artifact(task, "metrics")
            logged = dict(found.metadata or {}) if found is not None else {}
            numbers = {
                k: float(v)
                for k, v in logged.items()
                if isinstance(v, int | float) and not isinstance(v, bool)
            }
            if numbers:
                result["metrics"] = numbers
        elif task.task_name == "gate":
            found = _first_artifact(task, "report")
            said = dict(found.metadata or {}) if found is not None else {}
            if said.get("decision"):
                result["decision"] = str(said["decision"])
                reasons = [str(r) for r in said.get("reasons") or []]
                result["gate"] = {"decision": result["decision"], "reasons": reasons}
                if said.get("metric"):  # the gate's metric leads the metrics line
                    result["gate"]["metric"] = str(said["metric"])
        elif task.task_name == "verify":
            report = _first_artifact(task, "report")
            metadata = dict(report.metadata or {}) if report is not None else {}
            if "passed" in metadata:
                result["verification"] = "passed" if metadata["passed"] else "failed"
                if metadata.get("summary"):
                    result["verification_summary"] = str(metadata["summary"])
            elif state in _STATE_OUTCOME:
                result["verification"] = _STATE_OUTCOME[state]
            elif state == "SUCCEEDED":
                result["verification"] = "passed"  # the step fails on any failed check
            if metadata.get("target"):
                result["verification_target"] = str(metadata["target"])
            if report is not None and report.uri:
                artifacts["verification_report"] = report.uri
        elif task.task_name == "register" and state == "SUCCEEDED":
            version = dict(task.execution.metadata or {}).get("output:Output")
            if version is not None:
                result["champion"] = {"version": int(version), "promoted_by_this_run": True}
    if artifacts:
        result["artifacts"] = artifacts
    return result
