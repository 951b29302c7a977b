"""`freshet runs list --vertex`: freshet's runs read from the Vertex API (the fake, over TLS)."""

from __future__ import annotations

import json
from datetime import UTC, datetime

from google.cloud import aiplatform_v1 as v1
from typer.testing import CliRunner

from freshet.cli import app
from freshet.gcp.runs import job_filter, row_of
from tests.fakes.vertex_fixtures import VertexServices

cli = CliRunner()
State = v1.PipelineState
Task = v1.PipelineTaskDetail


def listed(*args: str) -> list[dict[str, object]]:
    result = cli.invoke(app, ["runs", "list", "--vertex", "--json", *args])
    assert result.exit_code == 0, result.output
    rows: list[dict[str, object]] = json.loads(result.stdout)
    return rows


def test_runs_list_vertex_shows_freshet_runs_newest_first(vertex: VertexServices) -> None:
    ok = cli.invoke(app, ["submit", "--run-id", "training-ok", "--data", "gs://d/x/"])
    assert ok.exit_code == 0, ok.output
    vertex.vertex.script(
        "training-bad", [State.PIPELINE_STATE_RUNNING, State.PIPELINE_STATE_FAILED]
    )
    bad = cli.invoke(app, ["submit", "--run-id", "training-bad", "--wait"])
    assert bad.exit_code == 1

    rows = listed()

    assert [r["run_id"] for r in rows] == ["training-bad", "training-ok"]
    failed, pending = rows
    assert failed["pipeline"] == "training" and failed["status"] == "failed"
    failing_task = vertex.vertex.job("training-bad").error.message.split("'")[1]  # type: ignore[union-attr]
    assert failed["failed_step"] == failing_task
    assert "failed" in str(failed["error"])
    assert pending["status"] == "pending" and pending["reason"] == "manual"
    [request] = vertex.vertex.requests("ListPipelineJobs")
    assert request.filter == "labels.freshet-pipeline:*"
    assert request.order_by == "create_time desc"


def test_runs_list_vertex_filters_on_the_server(vertex: VertexServices) -> None:
    for run_id in ("training-a", "training-b"):
        assert cli.invoke(app, ["submit", "--run-id", run_id]).exit_code == 0
    vertex.vertex.script("training-c", [State.PIPELINE_STATE_SUCCEEDED])
    assert cli.invoke(app, ["submit", "--run-id", "training-c"]).exit_code == 0

    assert [r["run_id"] for r in listed("--status", "succeeded")] == ["training-c"]
    assert [r["run_id"] for r in listed("--limit", "2")] == ["training-c", "training-b"]
    assert listed("--pipeline", "other") == []
    filters = [r.filter for r in vertex.vertex.requests("ListPipelineJobs")]
    assert filters == [
        'labels.freshet-pipeline:* AND state="PIPELINE_STATE_SUCCEEDED"',
        "labels.freshet-pipeline:*",
        'labels.freshet-pipeline="other"',
    ]
    table = cli.invoke(app, ["runs", "list", "--vertex", "--pipeline", "other"])
    assert table.exit_code == 0 and "No runs recorded yet." in table.stdout


def test_bad_listing_options_exit_2_before_any_call(vertex: VertexServices) -> None:
    result = cli.invoke(app, ["runs", "list", "--vertex", "--status", "done"])
    assert result.exit_code == 2
    assert result.stderr == "error: Unknown run status 'done'; use one of: succeeded, failed.\n"
    assert vertex.vertex.requests("ListPipelineJobs") == []


def test_the_failed_step_is_the_leaf_not_the_dag_that_contains_it() -> None:
    start = datetime(2030, 1, 1, 3, 0, tzinfo=UTC)
    job = v1.PipelineJob(
        name="projects/p/locations/r/pipelineJobs/training-x",
        state=State.PIPELINE_STATE_FAILED,
        labels={"freshet-pipeline": "training", "freshet-data-version": "gen-7"},
        start_time=start,
        end_time=datetime(2030, 1, 1, 3, 2, tzinfo=UTC),
        job_detail=v1.PipelineJobDetail(
            task_details=[
                Task(task_id=1, task_name="training", state=Task.State.FAILED),
                Task(
                    task_id=2, parent_task_id=1, task_name="training-steps", state=Task.State.FAILED
                ),
                Task(task_id=3, parent_task_id=2, task_name="fetch", state=Task.State.SUCCEEDED),
                Task(task_id=4, parent_task_id=2, task_name="train", state=Task.State.FAILED),
                Task(task_id=5, parent_task_id=1, task_name="notify", state=Task.State.SUCCEEDED),
            ]
        ),
    )

    row = row_of(job)

    assert (row.run_id, row.status, row.failed_step) == ("training-x", "failed", "train")
    assert row.data_version == "gen-7" and row.seconds == 120.0


def test_job_filter() -> None:
    assert job_filter(None, None) == "labels.freshet-pipeline:*"
    assert job_filter("training", "failed") == (
        'labels.freshet-pipeline="training" AND state="PIPELINE_STATE_FAILED"'
    )


def test_runs_show_vertex_prints_one_run_like_a_local_summary(vertex: VertexServices) -> None:
    vertex.vertex.script("training-s1", [State.PIPELINE_STATE_RUNNING, State.PIPELINE_STATE_FAILED])
    assert (
        cli.invoke(app, ["submit", "--run-id", "training-s1", "-p", "epochs=3", "--wait"]).exit_code
        == 1
    )

    shown = cli.invoke(app, ["runs", "show", "--vertex", "training-s1", "--json"])

    assert shown.exit_code == 0, shown.output
    run = json.loads(shown.stdout)
    assert (run["run_id"], run["pipeline"], run["status"]) == ("training-s1", "training", "failed")
    assert run["parameters"]["epochs"] == 3
    failing = run["failed_step"]
    assert (
        failing
        and {"name": failing, "status": "failed"}.items()
        <= next(s for s in run["steps"] if s["name"] == failing).items()
    )
    assert run["console_url"].endswith("/pipelines/runs/training-s1?project=fake-project")
    table = cli.invoke(app, ["runs", "show", "--vertex", "training-s1"], env={"COLUMNS": "200"})
    assert table.exit_code == 0
    assert "status: failed" in table.stdout and "console: https://" in table.stdout


def test_runs_show_vertex_unknown_run_is_one_sentence(vertex: VertexServices) -> None:
    result = cli.invoke(app, ["runs", "show", "--vertex", "training-nope"])
    assert result.exit_code == 2
    assert result.stderr == (
        "error: No run 'training-nope' on Vertex AI in "
        "projects/fake-project/locations/europe-west4.\n"
    )
