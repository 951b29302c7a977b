"""`freshet verify cleanup` and `freshet verify image`, against the Vertex fake."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest
from typer.testing import CliRunner

from freshet.cli import app
from tests.fakes.vertex_fixtures import BUCKET, PROJECT, REGION, VertexServices
from tests.fakes.vertex_serving import vertex_front_door, vertex_serving  # noqa: F401

PARENT = f"projects/{PROJECT}/locations/{REGION}"
KILLED_VERIFY = textwrap.dedent(
    """
    import sys
    from freshet.components.verify.core import VerifyConfig
    from freshet.components.verify.endpoint import EndpointTarget, verify_on_endpoint
    from freshet.config import load_settings
    from freshet.gcp.session import open_session

    open_session(load_settings())
    target = EndpointTarget(sys.argv[2], "digits", "europe-docker.pkg.dev/p/r/serve@sha256:1")
    verify_on_endpoint(sys.argv[1], target, VerifyConfig(latency_requests=100000), "run-k")
    """
)


def _cli(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(app, list(args))
    return result.exit_code, result.output


def test_a_killed_verify_leaves_an_endpoint_that_cleanup_removes(
    vertex_serving: VertexServices,  # noqa: F811
    bundle: Path,
) -> None:
    endpoints = vertex_serving.vertex.endpoints
    registry = f"vertex://{PARENT}?artifacts=gs://{BUCKET}/models"
    worker = subprocess.Popen(
        [sys.executable, "-c", KILLED_VERIFY, str(bundle), registry], env={**os.environ}
    )
    try:
        deadline = time.monotonic() + 120
        while not endpoints.servers() and time.monotonic() < deadline:
            assert worker.poll() is None, "the verify worker ended before it deployed"
            time.sleep(0.1)
        assert endpoints.servers(), "nothing was deployed within 120 s"
        time.sleep(0.5)  # now probing the endpoint
    finally:
        worker.send_signal(signal.SIGKILL)  # a killed worker: no finally block runs
        worker.wait(timeout=30)
    (left,) = endpoints.endpoints()
    assert dict(left.labels)["freshet-verify"] == "run-k" and len(left.deployed_models) == 1

    # Younger than the threshold: kept, and said so.
    assert _cli("verify", "cleanup", "--older-than", "2h") == (
        0,
        "No verification endpoints left behind (label freshet-verify).\n",
    )
    assert len(endpoints.endpoints()) == 1
    code, said = _cli("verify", "cleanup")
    assert code == 0
    assert said == f"Deleted {left.name} (1 deployed model(s) undeployed).\n"
    assert endpoints.endpoints() == [] and endpoints.servers() == []


def test_a_cancelled_verify_tears_its_endpoint_down_itself(
    vertex_serving: VertexServices,  # noqa: F811
    bundle: Path,
) -> None:
    endpoints = vertex_serving.vertex.endpoints
    registry = f"vertex://{PARENT}?artifacts=gs://{BUCKET}/models"
    worker = subprocess.Popen(
        [sys.executable, "-c", KILLED_VERIFY, str(bundle), registry],
        env={**os.environ},
        stderr=subprocess.PIPE,
        text=True,
    )
    deadline = time.monotonic() + 120
    while not endpoints.servers() and time.monotonic() < deadline:
        assert worker.poll() is None, "the verify worker ended before it deployed"
        time.sleep(0.1)
    time.sleep(0.5)  # now probing the endpoint
    worker.send_signal(signal.SIGTERM)  # what cancelling the run does to the step
    _, stderr = worker.communicate(timeout=60)
    assert worker.returncode != 0
    assert "verification was cancelled by SIGTERM" in stderr
    assert endpoints.endpoints() == [] and endpoints.servers() == []
    assert len(vertex_serving.vertex.requests("DeleteEndpoint")) == 1


def test_cleanup_of_one_run_leaves_the_others(vertex_serving: VertexServices) -> None:  # noqa: F811
    from freshet.gcp.endpoints import cleanup, create_endpoint

    mine = create_endpoint("run-a").resource_name
    other = create_endpoint("run-b").resource_name
    results = cleanup(run_id="run-a")
    assert [(r.endpoint, r.deleted) for r in results] == [(mine, True)]
    assert [e.name for e in vertex_serving.vertex.endpoints.endpoints()] == [other]
    # The gapic filter went inside the request, on the label.
    listed = vertex_serving.vertex.requests("ListEndpoints")[-1]
    assert listed.filter == 'labels.freshet-verify="run-a"'


@pytest.mark.parametrize("value", ["2 hours", "h", "-1h", "2w"])
def test_a_malformed_age_is_named(value: str) -> None:
    code, said = _cli("verify", "cleanup", "--older-than", value)
    assert code == 2
    assert f"--older-than '{value}' is not a duration" in said


def test_image_verification_without_a_docker_engine_is_skipped_with_a_sentence(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))  # no docker command at all
    code, said = _cli("verify", "image", "europe-docker.pkg.dev/p/r/serve:1")
    assert code == 3
    assert said == (
        "Skipped: no Docker engine here (no 'docker' command on PATH); "
        "the image europe-docker.pkg.dev/p/r/serve:1 was not verified.\n"
    )


def test_image_verification_with_a_docker_command_but_no_engine_says_why(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    docker = tmp_path / "docker"  # a docker CLI whose daemon is not running
    docker.write_text("#!/bin/sh\necho 'Cannot connect to the Docker daemon' >&2\nexit 1\n")
    docker.chmod(0o755)
    monkeypatch.setenv("PATH", str(tmp_path))
    code, said = _cli("verify", "image", "serve:1")
    assert code == 3
    assert "'docker info' failed: Cannot connect to the Docker daemon" in said
