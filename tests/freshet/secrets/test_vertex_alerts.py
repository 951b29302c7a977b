"""A Vertex run's alert webhook travels as a Secret Manager reference, never as the URL.

The run is submitted with the `freshet submit` command to the Vertex fake, which records the
CreatePipelineJob request and fails the job; its exit task (notify) then runs the way Vertex
runs it (tests/fakes/vertex_task.py) with the inputs the submitted job gives it, and resolves
the reference against the Secret Manager fake with the run's credentials.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml
from google.cloud import aiplatform_v1 as v1
from typer.testing import CliRunner

from freshet.cli import app
from tests.fakes.secret_manager_server import FakeSecretManager
from tests.fakes.vertex_fixtures import PROJECT, VertexServices
from tests.fakes.vertex_task import find_task, run_task
from tests.fakes.webhook import webhook_receiver

cli = CliRunner()
State = v1.PipelineState


def notify_inputs(spec: dict[str, Any], job: v1.PipelineJob) -> dict[str, Any]:
    """The notify task's inputs as Vertex gives them: from the job's parameters and status."""
    root = spec["root"]["inputDefinitions"]["parameters"]
    values = dict(job.runtime_config.parameter_values)
    inputs: dict[str, Any] = {}
    for name, source in find_task(spec, "notify")["inputs"]["parameters"].items():
        if "componentInputParameter" in source:
            parameter = source["componentInputParameter"]
            inputs[name] = values.get(parameter, root[parameter].get("defaultValue"))
        elif "runtimeValue" in source:
            inputs[name] = source["runtimeValue"]["constant"]
        else:
            producer = source["taskFinalStatus"]["producerTask"]
            inputs[name] = {
                "state": job.state.name.removeprefix("PIPELINE_STATE_"),
                "pipelineJobResourceName": job.name,
                "pipelineTaskName": producer,
                "error": {"code": job.error.code, "message": job.error.message},
            }
    return inputs


def test_a_failed_vertex_run_alerts_through_a_secret_reference(
    secret_manager: FakeSecretManager,
    vertex: VertexServices,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
) -> None:
    with webhook_receiver() as hook:
        reference = secret_manager.add(PROJECT, "alerts-webhook", hook.url + "\n")
        monkeypatch.setenv("FRESHET_OPS__WEBHOOK_URL", reference)
        vertex.vertex.script(
            "training-s1",
            [State.PIPELINE_STATE_PENDING, State.PIPELINE_STATE_RUNNING,
             State.PIPELINE_STATE_FAILED],
        )  # fmt: skip
        result = cli.invoke(app, ["submit", "--run-id", "training-s1", "--wait"])
        assert result.exit_code == 1, result.output

        [sent] = vertex.vertex.requests("CreatePipelineJob")
        assert sent.pipeline_job.runtime_config.parameter_values["alert_webhook"] == reference
        assert hook.url not in v1.CreatePipelineJobRequest.to_json(sent)
        assert secret_manager.requests == []  # the submitter never reads the secret

        # The exit task, as Vertex runs it: this interpreter is the components' image.
        monkeypatch.setenv("PATH", f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}")
        job = vertex.vertex.job("training-s1")
        assert job is not None
        spec = yaml.safe_load(vertex.template.read_text())
        inputs = notify_inputs(spec, job)
        assert inputs["webhook_url"] == reference
        run = run_task(
            vertex.template, "notify", inputs, tmp_path / "notify", vertex.vertex.endpoint
        )

    assert run.returncode == 0, run.output
    [alert] = hook.received
    assert "training run failed" in alert["text"] and "training-s1" in alert["text"]
    assert [r.name for r in secret_manager.requests] == [
        f"projects/{PROJECT}/secrets/alerts-webhook/versions/latest"
    ]
    assert run.executor_output()["parameterValues"]["Output"] == "posted"
    assert hook.url not in run.output and reference in run.output


@pytest.mark.parametrize(
    ("arguments", "variables"),
    [
        (["--param", "alert_webhook=https://hooks.slack.com/services/T/B/x"], {}),
        ([], {"FRESHET_OPS__WEBHOOK_URL": "https://hooks.slack.com/services/T/B/x"}),
    ],
    ids=["parameter", "setting"],
)
def test_a_literal_webhook_for_vertex_is_refused_before_any_call(
    vertex: VertexServices,
    monkeypatch: pytest.MonkeyPatch,
    arguments: list[str],
    variables: dict[str, str],
) -> None:
    for name, value in variables.items():
        monkeypatch.setenv(name, value)
    result = cli.invoke(app, ["submit", "--run-id", "training-lit", *arguments])

    assert result.exit_code == 2, result.output
    [line] = result.output.strip().splitlines()
    assert line.startswith("error: ") and "literal" in line
    assert "`gcloud secrets create alerts-webhook --data-file=-`" in line
    assert f'"sm://projects/{PROJECT}/secrets/alerts-webhook"' in line
    assert "hooks.slack.com" not in line
    assert vertex.vertex.calls == []


def test_a_schedule_stores_the_reference_and_refuses_a_literal(
    vertex: VertexServices, monkeypatch: pytest.MonkeyPatch
) -> None:
    from freshet.config import load_settings
    from freshet.errors import BadInput
    from freshet.gcp.schedules import ScheduleSpec, create_schedule
    from freshet.runners import RunRequest
    from freshet.runners.vertex import VertexRunner

    def create(name: str) -> None:
        create_schedule(
            VertexRunner(load_settings(runner="vertex")),
            RunRequest(template=vertex.template),
            ScheduleSpec(display_name=name, cron="0 3 * * *"),
        )

    reference = f"sm://projects/{PROJECT}/secrets/alerts-webhook"
    monkeypatch.setenv("FRESHET_OPS__WEBHOOK_URL", reference)
    create("nightly")
    [sent] = vertex.vertex.requests("CreateSchedule")
    values = sent.schedule.create_pipeline_job_request.pipeline_job.runtime_config
    assert values.parameter_values["alert_webhook"] == reference

    monkeypatch.setenv("FRESHET_OPS__WEBHOOK_URL", "https://hooks.slack.com/services/T/B/x")
    with pytest.raises(BadInput, match="literal URL"):
        create("nightly-2")
    assert len(vertex.vertex.requests("CreateSchedule")) == 1
