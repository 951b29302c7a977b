"""Breakdowns: maps of counts a pipeline's metrics artifacts declare, in summary and report."""

from __future__ import annotations

import re
from pathlib import Path
from types import SimpleNamespace
from typing import Any

from freshet.report import write_report
from freshet.summary import RunSummary, read_breakdowns

SPEC: dict[str, Any] = {
    "root": {
        "outputDefinitions": {
            "artifacts": {
                "metrics": {"artifactType": {"schemaTitle": "system.Metrics"}},
                "table": {"artifactType": {"schemaTitle": "system.Dataset"}},
            }
        }
    }
}


def test_only_maps_of_numbers_from_metrics_artifacts_are_breakdowns() -> None:
    outputs = {
        "metrics": SimpleNamespace(
            uri="/m",
            metadata={
                "rows_in": 10.0,
                "by_class": {"cat": 7, "dog": 3.0},
                "notes": {"a": "text"},
                "flags": {"a": True},
            },
        ),
        "table": SimpleNamespace(uri="/t", metadata={"by_file": {"a.csv": 1}}),
    }
    assert read_breakdowns(SPEC, outputs) == {"by_class": {"cat": 7.0, "dog": 3.0}}
    assert read_breakdowns(SPEC, {}) == {}


def test_the_report_shows_each_breakdown_and_no_gate_for_a_pipeline_without_one(
    tmp_path: Path,
) -> None:
    summary = RunSummary(
        run_id="scoring-1",
        pipeline="scoring",
        status="succeeded",
        started_at="2026-11-30T10:00:00+00:00",
        seconds=3.0,
        steps=[{"name": "score", "status": "succeeded", "seconds": 2.0}],
        metrics={"rows_in": 10.0},
        breakdowns={
            "prediction_distribution": {"cat": 7.0, "dog": 3.0},
            "rejected_reasons": {},
        },
    )
    assert summary.model_dump()["breakdowns"]["prediction_distribution"] == {"cat": 7, "dog": 3}
    html = write_report(summary.model_dump(), tmp_path / "r.html").read_text()
    assert "<h2>Prediction distribution</h2>" in html
    assert '<td>cat</td><td class="n">7</td><td class="n">70.0%</td>' in html
    assert "Rejected reasons" not in html  # an empty breakdown is not shown
    assert len(re.findall(r'src="data:image/png;base64,', html)) == 1  # the bars
    assert '<svg class="durations"' in html  # the steps' durations
    assert "Gate" not in html and "Against the champion" not in html
