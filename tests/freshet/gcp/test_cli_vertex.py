"""`freshet submit`, `publish` and `schedule` against the local fakes (real connections)."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest
from google.cloud import aiplatform_v1 as v1
from typer.testing import CliRunner

from freshet.cli import app
from tests.fakes.vertex_fixtures import PROJECT, REGION, VertexServices

cli = CliRunner()
State = v1.PipelineState


def url(run_id: str) -> str:
    return (
        f"https://console.cloud.google.com/vertex-ai/locations/{REGION}"
        f"/pipelines/runs/{run_id}?project={PROJECT}"
    )


def test_submit_wait_follows_the_run_to_success(vertex: VertexServices) -> None:
    """Out of process, as a person types it: the console script, environment and all."""
    done = subprocess.run(
        [sys.executable, "-m", "freshet", "submit", "training", "--run-id", "training-w1",
         "--param", "epochs=2", "--data", "gs://data/d/", "--wait"],
        capture_output=True, text=True, env=os.environ.copy(), timeout=120, check=False,
    )  # fmt: skip

    assert done.returncode == 0, done.stderr
    assert f"Submitted run training-w1: {url('training-w1')}" in done.stdout
    assert f"Run training-w1 SUCCEEDED: {url('training-w1')}" in done.stdout
    progress = [line for line in done.stderr.splitlines() if line.startswith("training-w1: ")]
    states = [line.split()[1] for line in progress]
    assert states == ["PENDING", "RUNNING", "SUCCEEDED"]
    [sent] = vertex.vertex.requests("CreatePipelineJob")
    assert sent.pipeline_job.runtime_config.parameter_values["epochs"] == 2


def test_submit_wait_prints_the_runs_metrics_and_gate_decision(vertex: VertexServices) -> None:
    reasons = ["accuracy 0.9630 meets the floor 0.9000.", "No champion yet: floor only."]
    vertex.vertex.script(
        "training-m1",
        [State.PIPELINE_STATE_RUNNING, State.PIPELINE_STATE_SUCCEEDED],
        outputs={
            "evaluate": {"metrics": {"accuracy": 0.963, "log_loss": 0.12, "test_rows": 270}},
            "gate": {"report": {"decision": "passed", "reasons": reasons, "metric": "accuracy"}},
        },
    )
    result = cli.invoke(app, ["submit", "--run-id", "training-m1", "--wait"], env={"COLUMNS": "60"})

    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    [metrics] = [line for line in lines if line.startswith("metrics: ")]
    assert metrics.startswith("metrics: accuracy=0.9630, ")  # the gate's metric first
    assert set(metrics[len("metrics: ") :].split(", ")) == {
        "accuracy=0.9630",
        "log_loss=0.1200",
        "test_rows=270",
    }
    assert (
        "gate: passed (accuracy 0.9630 meets the floor 0.9000; No champion yet: floor only)"
        in lines
    )
    shown = cli.invoke(
        app, ["runs", "show", "--remote", "--runner", "vertex", "--json", "training-m1"]
    )
    assert shown.exit_code == 0, shown.output
    assert '"decision": "passed"' in shown.stdout and '"accuracy": 0.963' in shown.stdout


def test_submit_wait_exits_1_when_the_run_fails(vertex: VertexServices) -> None:
    vertex.vertex.script(
        "training-f1", [State.PIPELINE_STATE_PENDING, State.PIPELINE_STATE_RUNNING,
                        State.PIPELINE_STATE_FAILED]
    )  # fmt: skip
    result = cli.invoke(app, ["submit", "--run-id", "training-f1", "--wait"])

    assert result.exit_code == 1
    assert f"Run training-f1 FAILED: {url('training-f1')}" in result.output
    assert "error: The DAG failed because task" in result.output
    assert "Traceback" not in result.output


def test_repeated_submit_is_reported_already_submitted(vertex: VertexServices) -> None:
    first = cli.invoke(app, ["submit", "--run-id", "training-twice"])
    second = cli.invoke(app, ["submit", "--run-id", "training-twice"])

    assert (first.exit_code, second.exit_code) == (0, 0)
    assert f"Run training-twice already submitted: {url('training-twice')}" in second.output
    assert len(vertex.vertex.requests("CreatePipelineJob")) == 2
    assert vertex.vertex.job("training-twice") is not None


def test_submit_a_published_template(vertex: VertexServices) -> None:
    published = cli.invoke(app, ["publish", str(vertex.template), "--tag", "v1"])
    assert published.exit_code == 0, published.output
    uri = f"{vertex.registry.repo_url}/training/v1"

    result = cli.invoke(app, ["submit", uri, "--run-id", "training-tpl"])

    assert result.exit_code == 0, result.output
    [sent] = vertex.vertex.requests("CreatePipelineJob")
    assert sent.pipeline_job.template_uri == uri


def test_publish_prints_the_template_uris(vertex: VertexServices) -> None:
    result = cli.invoke(app, ["publish", "--tag", "v2.0.0"])

    assert result.exit_code == 0, result.output
    repo = vertex.registry.repo_url
    assert f"training: {repo}/training/sha256-" in result.output
    assert "v2.0.0, latest" in result.output
    assert {u["package"] for u in vertex.registry.uploads} >= {"training"}


def test_schedule_commands(vertex: VertexServices) -> None:
    created = cli.invoke(
        app, ["schedule", "create", "--cron", "0 3 * * *", "--time-zone", "Europe/Berlin",
              "--name", "nightly", "--param", "epochs=5", "--max-concurrent-runs", "1"],
    )  # fmt: skip
    assert created.exit_code == 0, created.output
    assert "Created schedule nightly (id 1): TZ=Europe/Berlin 0 3 * * *, ACTIVE" in created.output

    listed = cli.invoke(app, ["schedule", "list"])
    assert "nightly" in listed.output and "ACTIVE" in listed.output

    for command, word in (("pause", "Paused"), ("resume", "Resumed"), ("delete", "Deleted")):
        result = cli.invoke(app, ["schedule", command, "nightly"])
        assert result.exit_code == 0, result.output
        assert f"{word} schedule nightly (id 1)." in result.output
    assert vertex.vertex.schedules() == []


@pytest.mark.parametrize(
    ("args", "sentence"),
    [
        (["submit", "--param", "epoch=3"], "error: Unknown parameter 'epoch' for pipeline"),
        (["submit", "--param", "epochs"], "error: Parameter 'epochs' is not in the form KEY=VALUE"),
        (["submit", "--data", "./data.csv"], "error: Data URI './data.csv' cannot be read"),
        (["submit", "nosuch"], "error: Unknown pipeline 'nosuch'"),
        (["submit", "--run-id", "Bad_Id"], "error: Run id 'Bad_Id' is not valid"),
        (["schedule", "create", "--cron", "0 25 * * *"], "error: Cron expression '0 25 * * *'"),
        (["schedule", "create"], "error: Option --cron is required"),
        (["schedule", "create", "--cron", "0 3 * * *", "--time-zone", "Moon"], "Time zone 'Moon'"),
        (["schedule", "pause", "weekly"], "error: No schedule 'weekly'"),
        (["publish", "--tag", "sha256:x"], "error: Tag 'sha256:x' is not valid"),
    ],
)
def test_bad_input_is_one_sentence_and_exit_2(
    vertex: VertexServices, args: list[str], sentence: str
) -> None:
    result = cli.invoke(app, args)

    assert result.exit_code == 2, result.output
    assert sentence in result.output
    assert "Traceback" not in result.output
    assert vertex.vertex.requests("CreatePipelineJob") == []
    assert vertex.vertex.requests("CreateSchedule") == []


def test_missing_settings_are_one_sentence_and_exit_2(
    vertex: VertexServices, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in ("PROJECT", "PIPELINE_ROOT", "TEMPLATE_REPO"):
        monkeypatch.delenv(f"FRESHET_GCP__{name}")

    submitted = cli.invoke(app, ["submit"])
    published = cli.invoke(app, ["publish"])

    assert (submitted.exit_code, published.exit_code) == (2, 2)
    assert "gcp.project: required here" in submitted.output
    assert "gcp.pipeline_root: required here" in submitted.output
    assert "gcp.template_repo: required here" in published.output
    assert vertex.vertex.calls == [] and vertex.registry.uploads == []
