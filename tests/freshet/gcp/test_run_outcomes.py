"""`freshet runs show --remote` on Vertex: the verification outcome and the registry version."""

from __future__ import annotations

import json

from google.cloud import aiplatform_v1 as v1
from typer.testing import CliRunner

from freshet.cli import app
from freshet.gcp.run_outcomes import run_outcomes
from tests.fakes.vertex_fixtures import VertexServices

State = v1.PipelineState
Task = v1.PipelineTaskDetail
REPORT = "gs://freshet-fake-root/runs/123/verify/report"


def _tasks(verify_state: Task.State, passed: bool | None, register: int | None) -> list[Task]:
    """Task details as Vertex records them: artifacts with metadata, outputs in execution."""
    report = v1.Artifact(uri=REPORT)
    if passed is not None:
        summary = "all 8 checks passed" if passed else "golden: 0/40 labels match"
        report.metadata = {"passed": passed, "summary": summary, "target": "vertex-endpoint"}
    verify = Task(task_id=7, task_name="verify", state=verify_state)
    if passed is not None:
        verify.outputs = {"report": Task.ArtifactList(artifacts=[report])}
    registered = Task(
        task_id=8,
        task_name="register",
        state=Task.State.SUCCEEDED if register else Task.State.SKIPPED,
    )
    if register:
        registered.execution = v1.Execution(metadata={"output:Output": register})
    return [Task(task_id=1, task_name="gate", state=Task.State.SUCCEEDED), verify, registered]


def test_runs_show_remote_shows_the_verification_and_the_registry_version(
    vertex: VertexServices,
) -> None:
    cli = CliRunner()
    vertex.vertex.script("training-r1", [State.PIPELINE_STATE_SUCCEEDED])
    assert cli.invoke(app, ["submit", "--run-id", "training-r1"]).exit_code == 0
    job = vertex.vertex.job("training-r1")
    assert job is not None
    job.job_detail = v1.PipelineJobDetail(task_details=_tasks(Task.State.SUCCEEDED, True, 4))

    shown = cli.invoke(
        app, ["runs", "show", "--remote", "--runner", "vertex", "--json"] + ["training-r1"]
    )
    assert shown.exit_code == 0, shown.output
    run = json.loads(shown.stdout)
    assert run["verification"] == "passed"
    assert run["verification_target"] == "vertex-endpoint"
    assert run["champion"] == {"version": 4, "promoted_by_this_run": True}
    assert run["artifacts"] == {"verification_report": REPORT}
    table = cli.invoke(
        app,
        ["runs", "show", "--remote", "--runner", "vertex", "training-r1"],
        env={"COLUMNS": "200"},
    )
    assert table.exit_code == 0, table.output
    assert "verification: passed" in table.stdout
    assert "champion: v4 (promoted by this run)" in table.stdout


def test_a_failed_verification_registers_nothing() -> None:
    job = v1.PipelineJob(
        job_detail=v1.PipelineJobDetail(task_details=_tasks(Task.State.FAILED, False, None))
    )
    assert run_outcomes(job) == {
        "verification": "failed",
        "verification_summary": "golden: 0/40 labels match",
        "verification_target": "vertex-endpoint",
        "artifacts": {"verification_report": REPORT},
    }
    # A verify task that failed before writing its report is read by its state.
    bare = v1.PipelineJob(
        job_detail=v1.PipelineJobDetail(task_details=_tasks(Task.State.FAILED, None, None))
    )
    assert run_outcomes(bare) == {"verification": "failed"}
    skipped = v1.PipelineJob(
        job_detail=v1.PipelineJobDetail(task_details=_tasks(Task.State.SKIPPED, None, None))
    )
    assert run_outcomes(skipped) == {"verification": "skipped"}
