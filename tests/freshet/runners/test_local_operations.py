"""A failing local run, end to end: one alert with the step and error, history and report."""

from __future__ import annotations

import json
from pathlib import Path

from tests.fakes.webhook import webhook_receiver
from tests.freshet.tiny_pipelines import compile_to, failing
from tests.integration.helpers import freshet, summary_of


def test_a_failing_step_gives_one_alert_a_history_row_and_a_report(tmp_path: Path) -> None:
    root = tmp_path / "root"
    template = compile_to(failing(), tmp_path / "failing.yaml")
    with webhook_receiver() as hook:
        env = {"FRESHET_OPS__WEBHOOK_URL": hook.url, "FRESHET_OPS__WEBHOOK_DEADLINE_S": "5"}
        result = freshet("run", str(template), "--root", str(root), cwd=tmp_path, env=env)
    assert result.returncode == 1, result.stderr + result.stdout
    summary = summary_of(root, result.stdout)

    [alert] = hook.received
    assert "failing run failed in step 'explode'" in alert["text"]
    assert "RuntimeError: the disk is corrupt (x=4)" in alert["text"]
    assert summary["run_id"] in alert["text"]

    report = Path(summary["artifacts"]["report"])
    assert f"report: {report}" in result.stdout
    html = report.read_text()
    assert "Step <b>explode</b> failed." in html and "the disk is corrupt" in html

    listed = freshet("runs", "list", "--root", str(root), "--status", "failed", "--json")
    [row] = json.loads(listed.stdout)
    assert (row["run_id"], row["failed_step"]) == (summary["run_id"], "explode")
