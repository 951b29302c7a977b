"""What a report shows, gathered from a run's summary, its artifacts and the model registry."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from freshet.errors import RegistryError
from freshet.summary import metric_order


@dataclass(frozen=True)
class Comparison:
    """The run's metrics next to the champion's it was judged against."""

    champion_version: int
    champion_run_id: str
    champion_data_version: str
    champion_created_at: str
    rows: list[tuple[str, float | None, float | None]]
    note: str


@dataclass
class ReportData:
    """Everything the page needs; each part may be missing for a failed or partial run."""

    summary: dict[str, Any]
    evaluation: dict[str, Any] | None = None
    verification: dict[str, Any] | None = None
    edges: list[tuple[str, str]] | None = None
    comparison: Comparison | None = None
    notes: list[str] = field(default_factory=list)


def _read_json(path: str | None) -> dict[str, Any] | None:
    if not path:
        return None
    candidate = Path(path)
    if candidate.is_dir():
        return None
    try:
        data = json.loads(candidate.read_text())
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def verification_of(summary: dict[str, Any]) -> dict[str, Any] | None:
    """The verification report: inline in the summary, or the verify step's report artifact."""
    inline = summary.get("verification")
    if isinstance(inline, dict) and "checks" in inline:
        return inline
    artifacts = summary.get("artifacts") or {}
    return _read_json(artifacts.get("verification_report") or artifacts.get("verification"))


def champion_comparison(summary: dict[str, Any]) -> Comparison | None:
    """The champion this run was judged against (or the current one), from the registry.

    Returns:
        None when there was no champion or the registry cannot be read.
    """
    from freshet.registry import ModelVersion, open_registry

    params = summary.get("parameters") or {}
    registry_uri, model = params.get("registry_uri"), params.get("model_name")
    if not registry_uri or not model:
        return None
    gate = summary.get("gate") or {}
    previous: ModelVersion | None
    try:
        registry = open_registry(registry_uri)
        if gate.get("champion_version") is not None:
            previous = registry.get(model, int(gate["champion_version"]))
            note = f"the champion the gate judged this run against (v{previous.version})"
        else:
            previous = registry.champion(model)
            if previous is None or previous.run_id == summary.get("run_id"):
                return None
            note = f"the current champion (v{previous.version})"
    except (RegistryError, OSError, ValueError):
        return None
    metrics = summary.get("metrics") or {}
    names = metric_order([*metrics, *previous.metrics], gate)
    rows = [(n, metrics.get(n), previous.metrics.get(n)) for n in names]
    return Comparison(
        champion_version=previous.version,
        champion_run_id=previous.run_id,
        champion_data_version=previous.data_version,
        champion_created_at=previous.created_at,
        rows=rows,
        note=note,
    )


def gather(summary: dict[str, Any]) -> ReportData:
    """Collects the report's parts; whatever cannot be read is noted, never fatal."""
    from freshet.report.dag import load_edges

    artifacts = summary.get("artifacts") or {}
    data = ReportData(summary=summary)
    data.evaluation = _read_json(artifacts.get("evaluation"))
    if artifacts.get("evaluation") and data.evaluation is None:
        data.notes.append(f"The evaluation artifact could not be read: {artifacts['evaluation']}")
    data.verification = verification_of(summary)
    data.edges = load_edges((summary.get("template") or {}).get("path"))
    data.comparison = champion_comparison(summary)
    return data
