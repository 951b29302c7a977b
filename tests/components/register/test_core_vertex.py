"""The register step with the Vertex AI Model Registry, against the Vertex fake."""

from __future__ import annotations

from pathlib import Path

import pytest

from freshet.components.evaluate.core import score
from freshet.components.register.core import register
from freshet.errors import RegistryError
from freshet.registry.vertex import VertexRegistry
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

REGISTRY = f"vertex://projects/{PROJECT}/locations/{REGION}?artifacts=gs://{BUCKET}/models"
MODEL = f"projects/{PROJECT}/locations/{REGION}/models/digits"
IMAGE = "europe-docker.pkg.dev/fake-project/serving/digits@sha256:0123"


def test_register_uploads_a_new_champion_with_its_evaluation_and_labels(
    vertex_serving: VertexServices,  # noqa: F811
    trained: tuple[Path, Path],
) -> None:
    dataset, model = trained
    evaluation = score(model, dataset)
    version = register(
        REGISTRY, "digits", model, evaluation, "digits-v1", "run-9", IMAGE, "0123456789ab"
    )
    (stored,) = vertex_serving.vertex.models.versions(MODEL)
    assert sorted(stored.version_aliases) == ["champion", "default"]
    assert stored.container_spec.image_uri == IMAGE
    assert dict(stored.labels)["git-commit"] == "0123456789ab"
    assert dict(stored.labels)["run-id"] == "run-9"
    registry = VertexRegistry(REGISTRY)
    assert registry.champion("digits") == version
    assert version.metrics == evaluation.scalars()
    (imported,) = registry.evaluations("digits", 1)
    assert imported == pytest.approx(evaluation.scalars())


def test_register_without_the_serving_image_is_one_sentence(
    vertex_serving: VertexServices,  # noqa: F811
    trained: tuple[Path, Path],
) -> None:
    dataset, model = trained
    with pytest.raises(RegistryError, match="needs the serving image"):
        register(REGISTRY, "digits", model, score(model, dataset), "v1", "run-9")
    assert vertex_serving.vertex.models.versions(MODEL) == []
