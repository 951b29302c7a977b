from __future__ import annotations

import re
from pathlib import Path

from freshet.history import record_run
from freshet.report import report_path, write_report
from freshet.report.dag import dag_edges, layers, load_edges, render_svg
from tests.freshet.ops_fixtures import at, make_summary, register_champion, write_summary
from tests.integration.helpers import freshet


def test_a_run_with_a_champion_shows_every_part(tmp_path: Path) -> None:
    version = register_champion(tmp_path, "training-old", accuracy=0.95)
    summary = make_summary(tmp_path, "training-new", accuracy=0.97, champion_version=version)
    html = write_report(summary.model_dump(), tmp_path / "r.html").read_text()
    assert html.startswith("<!DOCTYPE html>")
    assert 'id="confusion-matrix"' in html
    assert len(re.findall(r'src="data:image/png;base64,', html)) == 2  # matrix, per class
    assert '<svg class="durations"' in html  # the step durations: inline, no PNG
    assert "<svg" in html and "train" in html
    assert "accuracy 0.9700 meets the floor 0.9000" in html
    assert "champion v1" in html and "training-old" in html
    assert "▲ +0.0200" in html  # accuracy against the champion's 0.95
    assert not re.search(r'(src|href)="(https?:)?//', html)  # nothing to fetch


def test_a_failed_run_says_which_step_and_why(tmp_path: Path) -> None:
    summary = make_summary(tmp_path, "training-bad", status="failed", failed_step="train")
    html = write_report(summary.model_dump(), tmp_path / "r.html").read_text()
    assert "Step <b>train</b> failed." in html
    assert "RuntimeError: out of memory" in html
    assert "step-failed" in html and "step-skipped" in html
    assert "The gate did not run." in html
    assert 'id="confusion-matrix"' not in html


def test_verification_latency_percentiles_are_shown(tmp_path: Path) -> None:
    summary = make_summary(tmp_path, "training-v").model_dump()
    summary["verification"] = {
        "passed": True,
        "checks": [{"name": "latency", "passed": True, "detail": "p99 2.7 ms"}],
        "latency": {
            "requests": 200,
            "errors": 0,
            "p50_ms": 1.61,
            "p99_ms": 2.73,
            "mean_ms": 1.76,
            "requests_per_s": 557.4,
            "slo_p99_ms": 100.0,
        },
        "startup_s": 1.04,
    }
    html = write_report(summary, tmp_path / "r.html").read_text()
    assert "1.61 ms" in html and "2.73 ms" in html and "SLO ≤ 100 ms" in html


def test_dag_edges_flatten_conditions_and_drop_implied_edges() -> None:
    spec = {
        "components": {
            "comp-cond": {"dag": {"tasks": {"register": {"componentRef": {"name": "r"}}}}}
        },
        "root": {
            "dag": {
                "tasks": {
                    "fetch": {"componentRef": {"name": "f"}},
                    "train": {"componentRef": {"name": "t"}, "dependentTasks": ["fetch"]},
                    "gate": {"componentRef": {"name": "g"}, "dependentTasks": ["train", "fetch"]},
                    "cond": {"componentRef": {"name": "comp-cond"}, "dependentTasks": ["gate"]},
                }
            }
        },
    }
    edges = dag_edges(spec)
    assert edges == [("fetch", "train"), ("gate", "register"), ("train", "gate")]
    assert layers(["fetch", "train", "gate", "register"], edges) == [
        ["fetch"],
        ["train"],
        ["gate"],
        ["register"],
    ]
    svg = render_svg([{"name": "fetch", "status": "succeeded", "seconds": 2.0}], None)
    assert "fetch" in svg and "2.0 s" in svg


def test_cli_writes_the_report_of_a_recorded_run(tmp_path: Path) -> None:
    summary = make_summary(tmp_path, "training-20260101", started=at(0))
    record_run(tmp_path, summary, write_summary(tmp_path, summary))
    result = freshet("report", "training-2026", "--root", str(tmp_path))
    assert result.returncode == 0, result.stderr
    path = Path(result.stdout.strip())
    assert path == report_path(tmp_path.resolve(), "training-20260101")
    assert 'id="confusion-matrix"' in path.read_text()


def test_edges_are_read_from_a_template_with_a_platform_spec(tmp_path: Path) -> None:
    template = tmp_path / "t.yaml"
    template.write_text(
        "root:\n  dag:\n    tasks:\n"
        "      fetch: {componentRef: {name: f}}\n"
        "      score: {componentRef: {name: s}}\n"
        "      train: {componentRef: {name: t}, dependentTasks: [fetch]}\n"
        "---\nplatforms:\n  kubernetes: {}\n"
    )
    assert load_edges(str(template)) == [("fetch", "train")]  # not a chain of all steps
    template.write_text("root: [unclosed\n")
    assert load_edges(str(template)) is None
