"""The Vertex runner against the local fake of the Vertex API (real gRPC over TLS)."""

from __future__ import annotations

from typing import Any

import grpc
import pytest
import yaml

from freshet.config import load_settings
from freshet.errors import BadInput, ConfigError, FreshetError
from freshet.run_id import derive_run_id
from freshet.runners import RunRequest, get_runner, submit
from freshet.runners.local import LocalRunner
from freshet.runners.vertex import VertexRunner
from tests.fakes.vertex_fixtures import (
    NETWORK,
    PROJECT,
    REGION,
    SERVICE_ACCOUNT,
    VertexServices,
)


def _settings():  # type: ignore[no-untyped-def]
    return load_settings(runner="vertex")


def test_submit_sends_the_compiled_yaml_with_configured_fields(vertex: VertexServices) -> None:
    request = RunRequest(
        template=vertex.template,
        parameters={"epochs": "3", "learning_rate": "0.01"},
        data_uri="gs://data/digits/",
        data_version="gen-1700000000",
        run_id="training-0123456789abcdef",
    )
    result = submit(request, _settings())

    assert result.status == "submitted" and result.run_id == "training-0123456789abcdef"
    [sent] = vertex.vertex.requests("CreatePipelineJob")
    assert sent.parent == f"projects/{PROJECT}/locations/{REGION}"
    assert sent.pipeline_job_id == "training-0123456789abcdef"
    job = sent.pipeline_job
    assert dict(job.pipeline_spec) == yaml.safe_load(vertex.template.read_text())
    values = job.runtime_config.parameter_values
    assert values["epochs"] == 3  # integers travel as protobuf numbers (floats)
    assert values["learning_rate"] == 0.01
    assert values["data_uri"] == "gs://data/digits/"
    assert values["run_id"] == "training-0123456789abcdef"
    # Steps on Vertex share no disk: the registry and the checkpoints live in Cloud Storage.
    assert values["registry_uri"] == "gs://freshet-fake-root/runs/registry"
    assert values["checkpoint_root"] == "gs://freshet-fake-root/runs/checkpoints"
    assert set(values) == {
        "epochs",
        "learning_rate",
        "data_uri",
        "run_id",
        "registry_uri",
        "checkpoint_root",
        "template_version",  # a label of the registered version
    }
    assert values["template_version"].startswith("sha256-")
    assert job.runtime_config.gcs_output_directory == "gs://freshet-fake-root/runs"
    assert job.service_account == SERVICE_ACCOUNT
    assert job.network == NETWORK
    assert dict(job.labels) == {
        "team": "ml-platform",
        "freshet-pipeline": "training",
        "freshet-data-version": "gen-1700000000",
        "freshet-git-commit": "0123456789ab",
        "freshet-reason": "manual",
    }
    assert result.summary is not None
    assert result.summary["console_url"] == (
        f"https://console.cloud.google.com/vertex-ai/locations/{REGION}"
        f"/pipelines/runs/training-0123456789abcdef?project={PROJECT}"
    )


def test_a_given_registry_and_checkpoint_root_are_kept(vertex: VertexServices) -> None:
    given = {"checkpoint_root": "gs://elsewhere/ckpt", "registry_uri": "gs://models/registry"}
    request = RunRequest(
        template=vertex.template,
        parameters=given,
        data_uri="gs://data/digits/",
        run_id="training-00000000000000cc",
    )
    submit(request, _settings())

    [sent] = vertex.vertex.requests("CreatePipelineJob")
    values = sent.pipeline_job.runtime_config.parameter_values
    assert {name: values[name] for name in given} == given


def test_cache_keeps_compiled_task_options_unless_switched_off(vertex: VertexServices) -> None:
    submit(RunRequest(template=vertex.template, run_id="training-cache-on"), _settings())
    submit(
        RunRequest(template=vertex.template, run_id="training-cache-off", enable_cache=False),
        _settings(),
    )
    on, off = (r.pipeline_job.pipeline_spec for r in vertex.vertex.requests("CreatePipelineJob"))
    on_tasks = _all_tasks(on)
    assert on_tasks["gate"]["cachingOptions"] == {}  # compiled uncached: must stay so
    assert on_tasks["train"]["cachingOptions"] == {"enableCache": True}
    assert all(t["cachingOptions"] == {"enableCache": False} for t in _all_tasks(off).values())


def _all_tasks(spec: Any) -> dict[str, Any]:
    """Tasks of the root DAG and of every sub-DAG (the steps run inside a nested pipeline)."""
    tasks = dict(spec["root"]["dag"]["tasks"])
    for component in spec["components"].values():
        tasks.update(component.get("dag", {}).get("tasks", {}))
    return tasks


def test_same_run_id_twice_is_one_run(vertex: VertexServices) -> None:
    run_id = derive_run_id("training", "sha256-abc", "gen-42")
    request = RunRequest(template=vertex.template, run_id=run_id, data_version="gen-42")

    first = submit(request, _settings())
    second = submit(request, _settings())

    assert (first.status, second.status) == ("submitted", "already_exists")
    assert len(vertex.vertex.requests("CreatePipelineJob")) == 2
    assert vertex.vertex.job(run_id) is not None


def test_unavailable_is_retried_with_backoff(vertex: VertexServices) -> None:
    vertex.vertex.fail_next("CreatePipelineJob", grpc.StatusCode.UNAVAILABLE, times=2)

    result = submit(RunRequest(template=vertex.template, run_id="training-retry"), _settings())

    assert result.status == "submitted"
    assert len(vertex.vertex.requests("CreatePipelineJob")) == 3
    assert vertex.vertex.job("training-retry") is not None


def test_unavailable_past_the_budget_is_reported(vertex: VertexServices) -> None:
    vertex.vertex.fail_next("CreatePipelineJob", grpc.StatusCode.UNAVAILABLE, times=1000)

    with pytest.raises(FreshetError, match="stayed unavailable for 1 s") as raised:
        submit(RunRequest(template=vertex.template, run_id="training-down"), _settings())

    assert not isinstance(raised.value, BadInput)  # transient: a trigger nacks and retries
    assert len(vertex.vertex.requests("CreatePipelineJob")) >= 3


def test_runner_is_chosen_by_settings(vertex: VertexServices) -> None:
    assert isinstance(get_runner(load_settings()), LocalRunner)
    assert isinstance(get_runner(load_settings(runner="vertex")), VertexRunner)


def test_missing_settings_are_named_together_before_any_call(
    vertex: VertexServices, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in ("PROJECT", "REGION", "PIPELINE_ROOT"):
        monkeypatch.delenv(f"FRESHET_GCP__{name}")

    with pytest.raises(ConfigError) as raised:
        submit(RunRequest(template=vertex.template), _settings())

    message = str(raised.value)
    assert all(f in message for f in ("gcp.project", "gcp.region", "gcp.pipeline_root"))
    assert vertex.vertex.calls == []


@pytest.mark.parametrize(
    ("request_fields", "expected"),
    [
        ({"parameters": {"epoch": "3"}}, "Unknown parameter 'epoch'"),
        ({"parameters": {"epochs": "many"}}, "Parameter 'epochs' must be integer, not 'many'"),
        ({"data_uri": "/home/me/data.csv"}, "Data URI '/home/me/data.csv' cannot be read"),
        ({"run_id": "Training_1"}, "Run id 'Training_1' is not valid"),
    ],
)
def test_bad_requests_fail_before_any_call(
    vertex: VertexServices, request_fields: dict[str, object], expected: str
) -> None:
    with pytest.raises(BadInput, match=expected):
        submit(RunRequest(template=vertex.template, **request_fields), _settings())  # type: ignore[arg-type]
    assert vertex.vertex.calls == []
