"""The Vertex AI Model Registry store, against the Vertex fake and the storage emulator."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from freshet.errors import RegistryError
from freshet.registry import ModelVersion, Registry, model_digest, open_registry
from freshet.registry.vertex import UploadOptions, VertexRegistry
from tests.fakes.vertex_fixtures import BUCKET, PROJECT, REGION, VertexServices

PARENT = f"projects/{PROJECT}/locations/{REGION}"
MODEL = f"{PARENT}/models/digits"


def _registry(gcs_client: Any, **options: Any) -> VertexRegistry:
    registry = open_registry(f"vertex://{PARENT}?artifacts=gs://{BUCKET}/models", gcs_client)
    assert isinstance(registry, VertexRegistry)
    registry.options = UploadOptions(
        serving_image="europe-docker.pkg.dev/p/r/serve@sha256:abc",
        git_commit="0123456789ab",
        template_version="sha256:def",
        **options,
    )
    return registry


def _aliases(vertex: VertexServices) -> dict[str, list[str]]:
    return {m.version_id: list(m.version_aliases) for m in vertex.vertex.models.versions(MODEL)}


def test_first_registration_is_champion_and_default_with_its_evaluation(
    vertex_sdk: VertexServices, gcs_client: Any, bundle: Path
) -> None:
    registry = _registry(gcs_client)
    version = registry.register(
        "digits", bundle, data_version="Digits-V1", run_id="run-1", metrics={"accuracy": 0.9}
    )
    assert version.version == 1
    assert _aliases(vertex_sdk) == {"1": ["default", "champion"]}
    stored = vertex_sdk.vertex.models.versions(MODEL)[0]
    assert stored.container_spec.image_uri == "europe-docker.pkg.dev/p/r/serve@sha256:abc"
    assert stored.container_spec.predict_route == "/predict"
    assert stored.container_spec.health_route == "/health"
    assert dict(stored.labels) == {
        "managed-by": "freshet",
        "freshet-digest": model_digest(bundle),
        "data-version": "digits-v1",
        "run-id": "run-1",
        "git-commit": "0123456789ab",
        "template-version": "sha256-def",
    }
    # The bundle is in Cloud Storage, whole, at the artifact_uri.
    prefix = f"models/digits/{model_digest(bundle)}/"
    stored_files = {b.name[len(prefix) :] for b in gcs_client.list_blobs(BUCKET, prefix=prefix)}
    assert {p.name for p in bundle.iterdir() if p.is_file()} <= stored_files
    assert stored.artifact_uri == f"gs://{BUCKET}/{prefix.rstrip('/')}"
    assert registry.evaluations("digits", 1) == [{"accuracy": 0.9}]
    # The record comes back exactly (the labels are lossy, the description is not).
    assert registry.champion("digits") == version
    assert registry.versions("digits") == [version]


def test_a_candidate_takes_no_alias_from_the_champion_until_registered(
    vertex_sdk: VertexServices, gcs_client: Any, bundle: Path, regression_bundle: Path
) -> None:
    registry = _registry(gcs_client)
    first = registry.register("digits", regression_bundle, run_id="run-1")
    candidate = registry.register("digits", bundle, run_id="run-2", aliases=("candidate-run-2",))
    assert _aliases(vertex_sdk) == {"1": ["default", "champion"], "2": ["candidate-run-2"]}
    assert registry.champion("digits") == first
    assert registry.alias("digits", "candidate-run-2") == candidate
    # Registering the verified candidate finds its version: no new upload, the aliases move.
    uploads = len(vertex_sdk.vertex.requests("UploadModel"))
    assert registry.register("digits", bundle, run_id="run-2") == candidate
    assert len(vertex_sdk.vertex.requests("UploadModel")) == uploads
    assert _aliases(vertex_sdk) == {"1": [], "2": ["candidate-run-2", "champion", "default"]}
    merges = vertex_sdk.vertex.requests("MergeVersionAliases")
    assert list(merges[-1].version_aliases) == ["champion", "default"]


def test_the_gate_reads_the_champion_files_from_the_artifact_uri(
    vertex_sdk: VertexServices, gcs_client: Any, trained: tuple[Path, Path]
) -> None:
    from freshet.components.evaluate.core import score
    from freshet.components.gate.core import champion_score

    dataset, model = trained
    registry: Registry = _registry(gcs_client)
    registry.register("digits", model, run_id="run-1")
    champion = registry.champion("digits")
    assert isinstance(champion, ModelVersion)
    with registry.model_files(champion) as files:
        assert (files / "model.onnx").read_bytes() == (model / "model.onnx").read_bytes()
        kept = files
    assert not kept.exists()
    candidate = score(model, dataset)
    result = champion_score(registry, champion, candidate, dataset, "accuracy")
    assert result.version == 1 and result.score == candidate.metrics["accuracy"]


def test_unknown_models_and_aliases_read_as_absent(
    vertex_sdk: VertexServices, gcs_client: Any
) -> None:
    registry = _registry(gcs_client)
    assert registry.champion("nothing-here") is None
    assert registry.versions("nothing-here") == []
    with pytest.raises(RegistryError, match="has no version 3"):
        registry.get("nothing-here", 3)


@pytest.mark.parametrize(
    ("uri", "sentence"),
    [
        ("vertex://projects/p/regions/x", "is not of the form projects/PROJECT/locations/REGION"),
        ("vertex?artifacts=s3://bucket/x", "is not a gs:// URI"),
    ],
)
def test_malformed_vertex_locations_are_named(uri: str, sentence: str) -> None:
    with pytest.raises(RegistryError, match=sentence):
        open_registry(uri)


def test_registering_without_an_artifact_root_says_so(
    vertex_sdk: VertexServices, gcs_client: Any, bundle: Path
) -> None:
    registry = VertexRegistry(f"vertex://{PARENT}", options=UploadOptions(serving_image="i"))
    with pytest.raises(RegistryError, match=r"add \?artifacts=gs://BUCKET/PATH"):
        registry.register("digits", bundle)
    assert vertex_sdk.vertex.models.versions(MODEL) == []


def test_uploading_without_a_serving_image_says_so(
    vertex_sdk: VertexServices, gcs_client: Any, bundle: Path
) -> None:
    registry = open_registry(f"vertex://{PARENT}?artifacts=gs://{BUCKET}/models", gcs_client)
    with pytest.raises(RegistryError, match=r"needs the serving image .*none was given"):
        registry.register("digits", bundle)
    assert vertex_sdk.vertex.models.versions(MODEL) == []


def test_a_model_name_vertex_cannot_hold_is_named() -> None:
    with pytest.raises(RegistryError, match="'9lives' cannot name a Vertex AI model"):
        open_registry("vertex://projects/fake-project/locations/x").champion("9lives")


def test_a_failed_candidate_version_can_be_deleted_but_not_the_default(
    vertex_sdk: VertexServices, gcs_client: Any, bundle: Path, regression_bundle: Path
) -> None:
    from google.cloud import aiplatform

    registry = _registry(gcs_client)
    registry.register("digits", regression_bundle, run_id="run-1")
    registry.register("digits", bundle, run_id="run-2", aliases=("candidate-run-2",))
    with pytest.raises(RegistryError, match="default version of a model cannot be deleted"):
        registry.delete_version("digits", 1)
    registry.delete_version("digits", 2)
    assert [v.version for v in registry.versions("digits")] == [1]
    # The whole model goes with the SDK's delete (an operation, returned done by the fake).
    aiplatform.Model(MODEL).delete()
    assert registry.versions("digits") == []
