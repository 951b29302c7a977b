"""`FRESHET_LOG_FORMAT=json freshet run`: nothing but Cloud Logging records on stderr.

Each case runs the real command in a subprocess on a purpose-built pipeline and parses every
line of stderr as JSON: run started, each step transition, run finished, errors.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from freshet.logs import LABELS_KEY
from tests.freshet.tiny_pipelines import compile_to, failing, reporting
from tests.integration.helpers import freshet

CHECKOUT = str(Path(__file__).resolve().parents[3])  # where tests.freshet imports from


def run_json(*args: str, cwd: Path) -> tuple[int, str, list[dict[str, Any]]]:
    """Runs `freshet run ARGS` with JSON logs; every stderr line must be a record."""
    result = freshet(
        "run", *args, cwd=cwd, env={"FRESHET_LOG_FORMAT": "json", "PYTHONPATH": CHECKOUT}
    )
    records = []
    for line in result.stderr.splitlines():
        record = json.loads(line)  # a line that is not JSON fails here
        assert isinstance(record["severity"], str) and isinstance(record["message"], str)
        records.append(record)
    return result.returncode, result.stdout, records


def events(records: list[dict[str, Any]], name: str) -> list[dict[str, Any]]:
    return [r for r in records if r.get("event") == name]


def test_a_run_logs_its_start_each_step_and_its_end_with_labels(tmp_path: Path) -> None:
    template = compile_to(reporting(), tmp_path / "reporting.yaml")
    code, out, records = run_json(str(template), "--root", str(tmp_path / "root"), cwd=tmp_path)
    assert code == 0, records

    [started] = events(records, "run_started")
    run_id = started["run_id"]
    assert started["pipeline"] == "reporting"
    assert started["parameters"] == {"registry_uri": str((tmp_path / "root/registry").resolve())}
    assert "data_version" in started
    assert started["message"] == f"run {run_id} of reporting started (data version unknown)"

    steps = events(records, "step")
    assert {(s["step"], s["status"]) for s in steps} == {
        ("score", "running"),
        ("score", "succeeded"),
        ("echo", "running"),
        ("echo", "succeeded"),
    }
    for step in steps:
        assert step["cached"] is False and isinstance(step["seconds"], float)
        assert step[LABELS_KEY]["step"] == step["step"]

    [finished] = events(records, "run_finished")
    assert finished["severity"] == "INFO"
    assert finished["status"] == "succeeded"
    assert finished["decision"] == "passed"
    assert finished["metrics"] == {"rmse": 0.5, "mae": 0.25, "rows_per_s": 1000.0}
    summary = Path(finished["summary"])
    assert json.loads(summary.read_text())["run_id"] == run_id
    assert f"summary: {summary}" in out  # stdout keeps the human summary for scripts

    for record in [started, *steps, finished]:
        labels = record[LABELS_KEY]
        assert (labels["run_id"], labels["pipeline"]) == (run_id, "reporting")
    assert not [r for r in records if r["severity"] in ("ERROR", "CRITICAL")]


def test_a_failed_step_and_run_are_error_records(tmp_path: Path) -> None:
    template = compile_to(failing(), tmp_path / "failing.yaml")
    code, _, records = run_json(str(template), "--root", str(tmp_path / "root"), cwd=tmp_path)
    assert code == 1
    failed = [s for s in events(records, "step") if s["status"] == "failed"]
    assert [(s["step"], s["severity"]) for s in failed] == [("explode", "ERROR")]
    [finished] = events(records, "run_finished")
    assert finished["severity"] == "ERROR"
    assert finished["status"] == "failed"
    assert finished["error"].startswith("Step 'explode' failed")
    assert finished["message"].endswith(f": {finished['error']}")


def test_bad_input_is_one_error_record_and_exit_2(tmp_path: Path) -> None:
    template = compile_to(reporting(), tmp_path / "reporting.yaml")
    root = tmp_path / "root"
    code, out, records = run_json(str(template), "--root", str(root), "-p", "x=1", cwd=tmp_path)
    assert (code, out) == (2, "")
    [record] = records
    assert record["severity"] == "ERROR"
    assert record["message"] == (
        "Unknown parameter 'x' for pipeline 'reporting'; known: registry_uri, run_id."
    )
    assert (record["event"], record["exit_code"]) == ("error", 2)
    assert not root.exists()
