"""The local runner runs any compiled pipeline: it injects only the system inputs declared."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from typer.testing import CliRunner

from freshet.cli import app
from freshet.report import write_report
from tests.freshet import preflight_checks
from tests.freshet.tiny_pipelines import adder, checked, compile_to, reporting

runner = CliRunner()


@pytest.fixture(autouse=True)
def _fresh_calls() -> None:
    preflight_checks.CALLS.clear()


def run(template: Path, root: Path, *args: str) -> tuple[int, str, str]:
    result = runner.invoke(app, ["run", str(template), "--root", str(root), *args])
    return result.exit_code, result.stdout, result.stderr


def summary_of(root: Path) -> dict[str, object]:
    [path] = (root / "runs").glob("*/summary.json")
    loaded: dict[str, object] = json.loads(path.read_text())
    return loaded


def test_a_pipeline_with_one_parameter_runs_as_it_is(tmp_path: Path) -> None:
    template = compile_to(adder(), tmp_path / "adder.yaml")
    root = tmp_path / "root"
    code, out, err = run(template, root, "-p", "x=4")
    assert code == 0, out + err
    summary = summary_of(root)
    assert summary["status"] == "succeeded"
    assert summary["parameters"] == {"x": 4}  # no registry_uri, no run_id
    assert [s["name"] for s in summary["steps"]] == ["add"]  # type: ignore[attr-defined, index]
    assert summary["decision"] is None and summary["metrics"] == {} and summary["gate"] == {}


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            [],
            "error: Pipeline 'adder' needs parameter 'x' (integer); give it with --param x=VALUE.",
        ),
        (
            ["-p", "x=1", "--data", "data.csv"],
            "error: Pipeline 'adder' has no data_uri parameter, so it cannot be given data "
            "('data.csv').",
        ),
        (["-p", "x=one"], "error: Parameter 'x' must be integer, not 'one'."),
    ],
)
def test_what_a_pipeline_cannot_take_is_one_sentence_and_nothing_written(
    tmp_path: Path, args: list[str], message: str
) -> None:
    template = compile_to(adder(), tmp_path / "adder.yaml")
    code, _, err = run(template, tmp_path / "root", *args)
    assert (code, err) == (2, message + "\n")
    assert not (tmp_path / "root").exists()


def test_declared_preflights_run_first_and_their_notes_reach_the_user(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls = tmp_path / "calls.jsonl"
    monkeypatch.setenv("PREFLIGHT_CALLS_FILE", str(calls))
    template = compile_to(checked(), tmp_path / "checked.yaml")
    root = tmp_path / "root"
    code, out, err = run(template, root, "-p", "x=4")
    assert code == 0, out + err
    recorded = [json.loads(line) for line in calls.read_text().splitlines()]
    assert [call["name"] for call in recorded] == ["tie", "first", "second", "nested"]
    # each in a child of the run's fork server, which imports their libraries for the steps
    assert len({call["pid"] for call in recorded}) == 4
    assert os.getpid() not in {call["pid"] for call in recorded}
    assert recorded[2]["context"]["data_version"] == "v4"  # what `first` returned
    assert "note: x is 4\nnote: second looked\n" in err
    summary = summary_of(root)
    assert summary["data_version"] == "v4"  # from the preflights' context
    assert [s["name"] for s in summary["steps"]] == ["beta", "zeta", "alpha", "add"]  # type: ignore[attr-defined, index]


def test_a_preflight_refusing_the_input_stops_the_run_before_anything_is_written(
    tmp_path: Path,
) -> None:
    template = compile_to(checked(refuse=True), tmp_path / "checked.yaml")
    code, _, err = run(template, tmp_path / "root", "-p", "x=-2")
    assert (code, err) == (2, "error: x must not be negative: -2.\n")
    assert not (tmp_path / "root").exists()


def test_system_inputs_metrics_gate_and_decision_come_from_what_the_template_declares(
    tmp_path: Path,
) -> None:
    template = compile_to(reporting(), tmp_path / "reporting.yaml")
    root = tmp_path / "root"
    code, out, err = run(template, root)
    assert code == 0, out + err
    summary = summary_of(root)
    run_id = str(summary["run_id"])
    registry = str((root / "registry").resolve())
    assert summary["parameters"] == {"registry_uri": registry}
    log = Path(str(summary["log"])).read_text()
    assert f'"run_id": "{run_id}"' in log and f'"registry_uri": "{registry}"' in log
    # every system.Metrics output, merged; the gate report whatever its keys; the decision
    assert summary["metrics"] == {"rmse": 0.5, "mae": 0.25, "rows_per_s": 1000.0}
    assert summary["gate"]["metric"] == "rmse"  # type: ignore[index]
    assert summary["gate"]["direction"] == "lower"  # type: ignore[index]
    assert summary["decision"] == "passed"
    assert set(summary["artifacts"]) >= {"quality", "speed", "gate_report", "report"}  # type: ignore[arg-type]
    assert "metrics: rmse=0.5000, mae=0.2500, rows_per_s=1000" in out
    assert "gate: passed (rmse 0.5000 is under the ceiling 1.0000)" in out

    html = Path(str(summary["artifacts"]["report"])).read_text()  # type: ignore[index]
    assert 'id="confusion-matrix"' not in html
    for shown in ("rmse", "mae", "rows_per_s", "rmse 0.5000 is under the ceiling 1.0000"):
        assert shown in html
    assert "direction = lower" in html


def test_the_report_compares_a_regression_run_with_its_champion_in_the_gate_direction(
    tmp_path: Path,
) -> None:
    from freshet.registry import LocalRegistry

    model = tmp_path / "model"
    model.mkdir()
    (model / "model.onnx").write_bytes(b"m")
    (model / "signature.json").write_text("{}")
    version = LocalRegistry(tmp_path / "registry").register(
        "regressor", model, run_id="old", data_version="d0", metrics={"rmse": 0.7, "r2": 0.8}
    )
    summary = {
        "run_id": "new",
        "pipeline": "regression",
        "status": "succeeded",
        "decision": "passed",
        "started_at": "2026-01-01T12:00:00+00:00",
        "seconds": 3.0,
        "parameters": {"registry_uri": str(tmp_path / "registry"), "model_name": "regressor"},
        "metrics": {"r2": 0.85, "rmse": 0.5},
        "gate": {"metric": "rmse", "direction": "lower", "champion_version": version.version},
    }
    html = write_report(summary, tmp_path / "r.html").read_text()
    rmse_row = html[html.index("<tr><td>rmse</td>") :].split("</tr>")[0]
    assert 'class="up">▼ -0.2000' in rmse_row  # lower rmse is better: shown as better
    r2_row = html[html.index("<tr><td>r2</td>") :].split("</tr>")[0]
    assert 'class="up">▲ +0.0500' in r2_row
    assert html.index("<tr><td>rmse</td>") < html.index("<tr><td>r2</td>")  # gate metric first
