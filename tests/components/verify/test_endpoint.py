"""Verification on a Vertex AI endpoint, against the Vertex fake (real serving containers)."""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from freshet.components.verify.core import VerifyConfig
from freshet.components.verify.endpoint import EndpointTarget, verify_on_endpoint
from freshet.components.verify.server import default_command
from tests.fakes.bundles import faulty_command, without_preprocessing
from tests.fakes.vertex_fixtures import BUCKET, PROJECT, REGION, VertexServices

PARENT = f"projects/{PROJECT}/locations/{REGION}"
REGISTRY = f"vertex://{PARENT}?artifacts=gs://{BUCKET}/models"
MODEL = f"{PARENT}/models/digits"
IMAGE = "europe-docker.pkg.dev/fake-project/serving/digits@sha256:0123"
CONFIG = VerifyConfig(latency_requests=20, slo_p99_ms=2000.0)


def target(command: list[str] | None = None) -> EndpointTarget:
    return EndpointTarget(REGISTRY, "digits", IMAGE, command=tuple(command or ()))


def aliases(services: VertexServices) -> dict[str, list[str]]:
    return {m.version_id: sorted(m.version_aliases) for m in services.vertex.models.versions(MODEL)}


def nothing_left(services: VertexServices) -> None:
    assert services.vertex.endpoints.endpoints() == []
    assert services.vertex.endpoints.servers() == []


def test_a_good_bundle_passes_on_the_endpoint_and_is_torn_down(
    vertex_serving: VertexServices, bundle: Path, trained: tuple[Path, Path]
) -> None:
    report = verify_on_endpoint(bundle, target(), CONFIG, run_id="run-1")
    assert report.passed, report.summary()
    names = [c.name for c in report.checks]
    assert names == [
        "deployed",
        "golden_predict",
        "golden",
        "golden_objects",
        "malformed",
        "latency",
        "teardown",
    ]
    assert report.latency is not None and report.latency.requests == 20
    calls = vertex_serving.vertex.requests
    # Labelled endpoint first, deployed on the small machine, probed both ways, then gone.
    (created,) = calls("CreateEndpoint")
    assert dict(created.endpoint.labels)["freshet-verify"] == "run-1"
    (deploy,) = calls("DeployModel")
    assert deploy.deployed_model.dedicated_resources.machine_spec.machine_type == "n1-standard-2"
    assert deploy.deployed_model.model.endswith("/models/digits@1")
    assert len(calls("Predict")) == 1
    assert len(calls("UndeployModel")) == 1 and len(calls("DeleteEndpoint")) == 1
    nothing_left(vertex_serving)
    # The candidate is a version with its alias; the first version of a model is default.
    assert aliases(vertex_serving) == {"1": ["candidate-run-1", "default"]}
    # The register step, after verification, with the trained model (the same contract files):
    # the same version takes champion and default and gets its evaluation.
    from freshet.components.evaluate.core import score
    from freshet.components.register.core import register
    from freshet.registry.vertex import VertexRegistry

    dataset, model = trained
    evaluation = score(model, dataset)
    version = register(REGISTRY, "digits", model, evaluation, "digits-v1", "run-1")
    assert version.version == 1
    assert aliases(vertex_serving) == {"1": ["candidate-run-1", "champion", "default"]}
    assert len(calls("UploadModel")) == 1
    (imported,) = VertexRegistry(REGISTRY).evaluations("digits", 1)
    assert imported["accuracy"] == pytest.approx(evaluation.scalars()["accuracy"])


def _wrong_route(bundle: Path, tmp: Path) -> tuple[Path, list[str]]:
    # An image whose server ignores AIP_PREDICT_ROUTE and serves elsewhere.
    return bundle, ["env", "AIP_PREDICT_ROUTE=/v1/predict", *default_command(None)]


def _missing_module(bundle: Path, tmp: Path) -> tuple[Path, list[str]]:
    # An image whose entry point imports a module the Dockerfile did not install.
    return bundle, [sys.executable, "-m", "freshet_module_the_image_lacks"]


def _wrong_answers(bundle: Path, tmp: Path) -> tuple[Path, list[str]]:
    return without_preprocessing(bundle, tmp / "broken"), []


def _answers_500(bundle: Path, tmp: Path) -> tuple[Path, list[str]]:
    return bundle, faulty_command("error500")


@pytest.mark.parametrize(
    ("fault", "failed_check"),
    [
        (_wrong_route, "golden_predict"),
        (_missing_module, "deployed"),
        (_wrong_answers, "golden"),
        (_answers_500, "malformed"),
    ],
    ids=["wrong-route", "missing-module", "wrong-answers", "500s"],
)
def test_a_broken_image_or_bundle_fails_leaves_the_champion_and_no_endpoint(
    vertex_serving: VertexServices,
    regression_bundle: Path,
    bundle: Path,
    tmp_path: Path,
    fault: Callable[[Path, Path], tuple[Path, list[str]]],
    failed_check: str,
) -> None:
    from freshet.registry import open_registry
    from freshet.registry.vertex import UploadOptions, VertexRegistry

    champion_registry = VertexRegistry(REGISTRY, options=UploadOptions(serving_image=IMAGE))
    champion = champion_registry.register("digits", regression_bundle, run_id="run-0")
    broken, command = fault(bundle, tmp_path)
    report = verify_on_endpoint(broken, target(command), CONFIG, run_id="run-2")
    assert not report.passed
    failed = {c.name for c in report.failures()}
    assert failed_check in failed, report.summary()
    assert "teardown" not in failed
    assert aliases(vertex_serving) == {"1": ["champion", "default"], "2": ["candidate-run-2"]}
    assert open_registry(REGISTRY).champion("digits") == champion
    nothing_left(vertex_serving)
