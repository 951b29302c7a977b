"""The exit task removes the verification endpoint a killed verify step left on Vertex AI.

A run is submitted with `freshet submit` to the Vertex fake (verify_target vertex-endpoint,
registry vertex) and fails. A verify worker of that run, killed with SIGKILL while it probes,
leaves its labelled endpoint; the compiled notify task, run the way Vertex runs it with the
job's inputs (tests/fakes/vertex_task.py), then deletes it with the unmodified SDK.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest
import yaml
from google.cloud import aiplatform_v1 as v1
from typer.testing import CliRunner

from freshet.cli import app
from freshet.components.notify.core import FinalStatus, cleanup_verification
from tests.fakes.vertex_fixtures import (  # noqa: F401  (fixtures)
    VertexServices,
    pipeline_bucket,
    vertex,
    vertex_services,
)
from tests.fakes.vertex_serving import vertex_front_door, vertex_serving  # noqa: F401
from tests.fakes.vertex_steps import task_inputs, vertex_api_override
from tests.fakes.vertex_task import run_task

State = v1.PipelineState
RUN = "training-exit1"
KILLED_VERIFY = textwrap.dedent(
    """
    import sys
    from freshet.components.verify.core import VerifyConfig
    from freshet.components.verify.endpoint import EndpointTarget, verify_on_endpoint
    from freshet.config import load_settings
    from freshet.gcp.session import open_session

    open_session(load_settings())
    target = EndpointTarget(sys.argv[2], "digits", "europe-docker.pkg.dev/p/r/serve@sha256:1")
    verify_on_endpoint(sys.argv[1], target, VerifyConfig(latency_requests=100000), sys.argv[3])
    """
)


def _killed_verify(services: VertexServices, bundle: Path, registry: str, run_id: str) -> None:
    """A verify worker of the run, SIGKILLed while it probes its endpoint."""
    endpoints = services.vertex.endpoints
    worker = subprocess.Popen(
        [sys.executable, "-c", KILLED_VERIFY, str(bundle), registry, run_id], env={**os.environ}
    )
    try:
        deadline = time.monotonic() + 120
        while not endpoints.servers() and time.monotonic() < deadline:
            assert worker.poll() is None, "the verify worker ended before it deployed"
            time.sleep(0.1)
        assert endpoints.servers(), "nothing was deployed within 120 s"
        time.sleep(0.5)  # now probing the endpoint
    finally:
        worker.send_signal(signal.SIGKILL)  # no finally block of the step runs
        worker.wait(timeout=30)


def test_the_exit_task_of_a_failed_run_deletes_the_endpoint_its_verify_left(
    vertex_serving: VertexServices,  # noqa: F811
    bundle: Path,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
) -> None:
    from freshet.gcp.endpoints import create_endpoint

    monkeypatch.setenv("FRESHET_GCP__MODEL_REGISTRY", "true")
    fake = vertex_serving.vertex
    fake.script(RUN, [State.PIPELINE_STATE_RUNNING, State.PIPELINE_STATE_FAILED])
    result = CliRunner().invoke(
        app,
        ["submit", "--run-id", RUN, "--param", "verify_target=vertex-endpoint", "--wait"],
    )
    assert result.exit_code == 1, result.output
    job = fake.job(RUN)
    assert job is not None
    spec = yaml.safe_load(vertex_serving.template.read_text())
    inputs = task_inputs(spec, job, "notify")
    assert inputs["verify_target"] == "vertex-endpoint" and inputs["run_id"] == RUN
    assert inputs["registry_uri"].startswith("vertex://projects/")

    _killed_verify(vertex_serving, bundle, inputs["registry_uri"], RUN)
    other = create_endpoint("training-other").resource_name  # another run's: kept
    (left,) = [e for e in fake.endpoints.endpoints() if e.name != other]
    assert dict(left.labels)["freshet-verify"] == RUN and len(left.deployed_models) == 1

    vertex_api_override(monkeypatch, tmp_path / "site", fake.endpoint, sys.executable)
    run = run_task(vertex_serving.template, "notify", inputs, tmp_path / "notify", fake.endpoint)

    assert run.returncode == 0, run.output
    assert f"deleted 1 verification endpoint(s) of run {RUN}: {left.name}" in run.output
    assert [e.name for e in fake.endpoints.endpoints()] == [other]
    assert fake.endpoints.servers() == []
    assert run.executor_output()["parameterValues"]["Output"] == "no webhook"


def test_a_cleanup_that_cannot_run_is_one_sentence_and_the_exit_task_succeeds(
    vertex: VertexServices,  # noqa: F811
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
) -> None:
    fake = vertex.vertex
    fake.script(RUN, [State.PIPELINE_STATE_RUNNING, State.PIPELINE_STATE_CANCELLED])
    params = ["--param", "verify_target=vertex-endpoint", "--param", "registry_uri=vertex://x"]
    result = CliRunner().invoke(app, ["submit", "--run-id", RUN, *params, "--wait"])
    assert result.exit_code != 0, result.output
    job = fake.job(RUN)
    assert job is not None
    spec = yaml.safe_load(vertex.template.read_text())
    vertex_api_override(monkeypatch, tmp_path / "site", fake.endpoint, sys.executable)
    run = run_task(
        vertex.template, "notify", task_inputs(spec, job, "notify"), tmp_path / "n", fake.endpoint
    )

    assert run.returncode == 0, run.output
    said = next(line for line in run.output.splitlines() if "notify: could not clean" in line)
    assert f"could not clean up the verification endpoints of run {RUN}" in said
    assert "location 'x' is not of the form projects/PROJECT/locations/REGION" in said
    assert said.endswith(f"'freshet verify cleanup --run {RUN}' removes them")
    assert "Traceback" not in run.output
    assert fake.requests("ListEndpoints") == []


@pytest.mark.parametrize(
    ("state", "target", "run_id", "said"),
    [
        ("FAILED", "process", "r", "no endpoint to clean up (verify_target process)"),
        ("SUCCEEDED", "vertex-endpoint", "r", "the run succeeded"),
        ("FAILED", "vertex-endpoint", "", "the run has no run_id"),
    ],
)
def test_cleanup_is_only_attempted_for_a_run_that_can_have_left_an_endpoint(
    state: str, target: str, run_id: str, said: str
) -> None:
    # No Vertex call is made in these cases: no fake runs, and none is needed.
    assert said in cleanup_verification(FinalStatus(state=state), target, "vertex", run_id)
