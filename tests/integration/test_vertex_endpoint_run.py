"""Acceptance: a Vertex run verifies the candidate on an endpoint and registers it in Vertex.

`freshet submit training` (runner vertex, `[gcp] model_registry = true`) sends the job to the
Vertex fake with `verify_target=vertex-endpoint`. Its verify and register tasks then run the
way Vertex runs them (tests/fakes/vertex_task.py), with the inputs the submitted job gives them
and, for what upstream tasks would have made, a real bundle and model (tests/fakes/bundles.py).
The fake deploys the bundle with a real `freshet serve` and the unmodified SDK drives it all.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml
from google.cloud import aiplatform_v1 as v1
from kfp import dsl
from typer.testing import CliRunner

from freshet.cli import app
from tests.fakes.bundles import without_preprocessing
from tests.fakes.vertex_fixtures import (  # noqa: F401  (fixtures)
    BUCKET,
    PROJECT,
    REGION,
    VertexServices,
    pipeline_bucket,
    vertex,
    vertex_services,
)
from tests.fakes.vertex_serving import vertex_front_door, vertex_serving  # noqa: F401
from tests.fakes.vertex_steps import task_inputs, vertex_api_override
from tests.fakes.vertex_task import TaskRun, run_task

MODEL = f"projects/{PROJECT}/locations/{REGION}/models/digits"
IMAGE = "europe-docker.pkg.dev/fake-project/serving/digits@sha256:0123"


ENDPOINT_TARGET = (
    *("--param", "verify_target=vertex-endpoint"),
    *("--param", "latency_requests=20"),
    *("--param", "latency_slo_p99_ms=2000"),
)


def submit(
    services: VertexServices, run_id: str, params: tuple[str, ...] = ENDPOINT_TARGET
) -> tuple[dict[str, Any], v1.PipelineJob]:
    """`freshet submit training` of one run; the compiled spec and the job the fake got."""
    result = CliRunner().invoke(
        app, ["submit", "training", "--run-id", run_id, "--param", "model_name=digits", *params]
    )
    assert result.exit_code == 0, result.output
    job = services.vertex.job(run_id)
    assert job is not None
    return yaml.safe_load(services.template.read_text()), job


def run_step(services: VertexServices, spec: dict[str, Any], job: v1.PipelineJob, task: str,
             given: dict[str, Any], root: Path) -> TaskRun:  # fmt: skip
    inputs = task_inputs(spec, job, task, given)
    return run_task(services.template, task, inputs, root / task, services.vertex.endpoint)


def register_inputs(trained: tuple[Path, Path], directory: Path) -> dict[str, Any]:
    """What the register task gets from upstream: the model, its evaluation, the data version."""
    from freshet.components.evaluate.core import score

    dataset, model = trained
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "evaluation.json").write_text(score(model, dataset).to_json())
    return {
        "model": dsl.Model(uri=str(model)),
        "evaluation": dsl.Artifact(uri=str(directory / "evaluation.json")),
        "data_version": "digits-v1",
        "serving_image": IMAGE,
    }


def aliases(services: VertexServices) -> dict[str, list[str]]:
    return {m.version_id: sorted(m.version_aliases) for m in services.vertex.models.versions(MODEL)}


def test_a_vertex_run_verifies_on_an_endpoint_then_registers_and_a_broken_one_changes_nothing(
    vertex_serving: VertexServices,  # noqa: F811
    bundle: Path,
    trained: tuple[Path, Path],
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
) -> None:
    from freshet.compile import template_version
    from freshet.components.evaluate.core import score
    from freshet.registry import open_registry
    from freshet.registry.vertex import VertexRegistry, label_value

    fake = vertex_serving.vertex
    monkeypatch.setenv("FRESHET_GCP__MODEL_REGISTRY", "true")
    spec, job = submit(vertex_serving, "training-good")
    registry = job.runtime_config.parameter_values["registry_uri"]
    assert registry == (
        f"vertex://projects/{PROJECT}/locations/{REGION}?artifacts=gs://{BUCKET}/runs/models"
    )
    vertex_api_override(monkeypatch, tmp_path / "site", fake.endpoint, sys.executable)

    # verify: upload as candidate, labelled endpoint, deploy, probe, undeploy, delete.
    given = {
        "bundle": dsl.Model(uri=str(bundle)),
        "serving_image": IMAGE,
        "data_version": "digits-v1",
    }
    verified = run_step(vertex_serving, spec, job, "verify", given, tmp_path / "good")
    assert verified.returncode == 0, verified.output
    assert verified.executor_output()["parameterValues"]["Output"] == "passed"
    (created,) = fake.requests("CreateEndpoint")
    assert dict(created.endpoint.labels)["freshet-verify"] == "training-good"
    (deployed,) = fake.requests("DeployModel")
    assert deployed.deployed_model.model == f"{MODEL}@1"
    assert len(fake.requests("Predict")) == 1  # gRPC; the REST raw_predict probes follow
    report = verified.executor_input["outputs"]["artifacts"]["report"]["artifacts"][0]["uri"]
    checks = [c["name"] for c in json.loads(Path(report).read_text())["checks"]]
    assert {"deployed", "golden_predict", "golden", "malformed", "latency"} <= set(checks)
    assert len(fake.requests("UndeployModel")) == 1 and len(fake.requests("DeleteEndpoint")) == 1
    assert fake.endpoints.endpoints() == [] and fake.endpoints.servers() == []
    assert aliases(vertex_serving) == {"1": ["candidate-training-good", "default"]}

    # register: the verified version (found by digest, not uploaded again) takes the aliases.
    given = register_inputs(trained, tmp_path / "upstream")
    dataset, model = trained
    evaluation = score(model, dataset)  # what register_inputs wrote
    registered = run_step(vertex_serving, spec, job, "register", given, tmp_path / "good")
    assert registered.returncode == 0, registered.output
    assert registered.executor_output()["parameterValues"]["Output"] == 1
    assert aliases(vertex_serving) == {"1": ["candidate-training-good", "champion", "default"]}
    assert len(fake.requests("UploadModel")) == 1
    (imported,) = VertexRegistry(registry).evaluations("digits", 1)
    assert imported["accuracy"] == pytest.approx(evaluation.scalars()["accuracy"])
    champion = open_registry(registry).champion("digits")
    assert champion is not None and champion.version == 1 and champion.run_id == "training-good"
    # The champion is the version verify uploaded: it carries register's record too.
    labels = dict(vertex_serving.vertex.models.versions(MODEL)[0].labels)
    assert labels["data-version"] == "digits-v1" and labels["run-id"] == "training-good"
    assert labels["template-version"] == label_value(template_version(vertex_serving.template))
    assert labels["template-version"] != ""

    # A broken bundle (wrong answers): verify fails, champion stays, no endpoint is left.
    spec, job = submit(vertex_serving, "training-broken")
    broken = without_preprocessing(bundle, tmp_path / "broken-bundle")
    given = {"bundle": dsl.Model(uri=str(broken)), "serving_image": IMAGE, "data_version": "v2"}
    failed = run_step(vertex_serving, spec, job, "verify", given, tmp_path / "broken")
    assert failed.returncode != 0
    assert "the serving artifact failed verification" in failed.output
    assert aliases(vertex_serving) == {
        "1": ["candidate-training-good", "champion", "default"],
        "2": ["candidate-training-broken"],
    }
    assert open_registry(registry).champion("digits") == champion
    assert fake.endpoints.endpoints() == [] and fake.endpoints.servers() == []
    assert len(fake.requests("CreateEndpoint")) == len(fake.requests("DeleteEndpoint")) == 2


def test_the_version_a_vertex_run_registers_is_labelled_with_the_template_version(
    vertex_serving: VertexServices,  # noqa: F811
    trained: tuple[Path, Path],
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
) -> None:
    from freshet.compile import template_version
    from freshet.registry.vertex import label_value

    monkeypatch.setenv("FRESHET_GCP__MODEL_REGISTRY", "true")
    spec, job = submit(vertex_serving, "training-labels", ())  # verify_target process
    version = template_version(vertex_serving.template)
    assert job.runtime_config.parameter_values["template_version"] == version  # system input
    vertex_api_override(monkeypatch, tmp_path / "site", vertex_serving.vertex.endpoint,
                        sys.executable)  # fmt: skip
    given = register_inputs(trained, tmp_path / "upstream")
    registered = run_step(vertex_serving, spec, job, "register", given, tmp_path)

    assert registered.returncode == 0, registered.output
    (uploaded,) = vertex_serving.vertex.models.versions(MODEL)
    labels = dict(uploaded.labels)
    assert labels["template-version"] == label_value(version) != ""
    assert labels["run-id"] == "training-labels" and labels["data-version"] == "digits-v1"
    assert sorted(uploaded.version_aliases) == ["champion", "default"]
