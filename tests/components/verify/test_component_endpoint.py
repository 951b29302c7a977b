"""The verify component's function with verify_target = vertex-endpoint (no kfp runner)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from kfp.dsl import Artifact, Metrics, Model

from freshet.components.verify.component import verify
from tests.fakes.vertex_fixtures import BUCKET, PROJECT, REGION, VertexServices

PARENT = f"projects/{PROJECT}/locations/{REGION}"
REGISTRY = f"vertex://{PARENT}?artifacts=gs://{BUCKET}/models"
IMAGE = "europe-docker.pkg.dev/fake-project/serving/digits@sha256:0123"


def run_verify(bundle: Path, tmp_path: Path, **params: object) -> tuple[str, Artifact]:
    report = Artifact(uri=str(tmp_path / "report"))
    settings = {
        "run_id": "run-c",
        "serve_command": "",
        "startup_timeout_s": 30.0,
        "latency_requests": 10,
        "latency_slo_p99_ms": 2000.0,
        "tolerance": 1e-4,
        "verify_target": "vertex-endpoint",
        "registry_uri": REGISTRY,
        "model_name": "digits",
        "serving_image": IMAGE,
        **params,
    }
    outcome = verify(
        bundle=Model(uri=str(bundle)),
        report=report,
        metrics=Metrics(uri=str(tmp_path / "metrics")),
        **settings,  # type: ignore[arg-type]
    )
    return outcome, report


def test_the_endpoint_target_verifies_and_reports(
    vertex_serving: VertexServices, bundle: Path, tmp_path: Path
) -> None:
    outcome, report = run_verify(bundle, tmp_path)
    assert outcome == "passed"
    assert report.metadata["target"] == "vertex-endpoint" and report.metadata["passed"]
    record = json.loads((tmp_path / "report").read_text())
    assert record["checks"][0]["name"] == "deployed"
    assert record["teardown"].endswith("undeployed and deleted")
    assert vertex_serving.vertex.endpoints.endpoints() == []


@pytest.mark.parametrize(
    ("params", "sentence"),
    [
        ({"verify_target": "cloud-run"}, "verify_target must be one of process, vertex-endpoint"),
        ({"registry_uri": "gs://b/registry"}, "but registry_uri is 'gs://b/registry'"),
        ({"serving_image": ""}, r"but no image was built \(serving_image is ''\)"),
        ({"serving_image": "bundle only"}, "but no image was built"),
    ],
)
def test_an_unusable_target_is_one_sentence(
    bundle: Path, tmp_path: Path, params: dict[str, object], sentence: str
) -> None:
    with pytest.raises(SystemExit, match=f"^verify: .*{sentence}"):
        run_verify(bundle, tmp_path, **params)
    assert not (tmp_path / "report").exists()


@pytest.mark.parametrize(
    ("run_id", "alias"),
    [
        ("training-0123456789abcdef", "candidate-training-0123456789abcdef"),
        ("Nightly_Run.7", "candidate-nightly-run-7"),
        ("", "candidate-run"),
    ],
)
def test_the_candidate_alias_is_one_vertex_accepts(run_id: str, alias: str) -> None:
    from freshet.components.verify.endpoint import candidate_alias

    assert candidate_alias(run_id) == alias
