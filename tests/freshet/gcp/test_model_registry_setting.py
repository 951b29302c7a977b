"""`[gcp] model_registry = true`: Vertex runs register in the Vertex AI Model Registry."""

from __future__ import annotations

import pytest

from freshet.config import load_settings
from freshet.errors import ConfigError
from freshet.registry import open_registry
from freshet.registry.vertex import VertexRegistry, parse_uri
from freshet.runners import RunRequest, submit
from tests.fakes.vertex_fixtures import PROJECT, REGION, VertexServices


def _registry_uri(vertex: VertexServices) -> str:
    request = RunRequest(template=vertex.template, run_id="training-00000000000000aa")
    submit(request, load_settings(runner="vertex"))
    [sent] = vertex.vertex.requests("CreatePipelineJob")
    return str(sent.pipeline_job.runtime_config.parameter_values["registry_uri"])


def test_vertex_runs_use_the_model_registry_when_configured(
    vertex: VertexServices, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("FRESHET_GCP__MODEL_REGISTRY", "true")
    uri = _registry_uri(vertex)
    assert uri == (
        f"vertex://projects/{PROJECT}/locations/{REGION}"
        "?artifacts=gs://freshet-fake-root/runs/models"
    )
    location, artifacts = parse_uri(uri)
    assert location is not None and (location.project, location.region) == (PROJECT, REGION)
    assert artifacts == "gs://freshet-fake-root/runs/models"
    assert isinstance(open_registry(uri), VertexRegistry)


def test_without_it_the_registry_stays_in_cloud_storage(vertex: VertexServices) -> None:
    assert _registry_uri(vertex) == "gs://freshet-fake-root/runs/registry"


def test_a_malformed_value_is_named(
    vertex: VertexServices, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("FRESHET_GCP__MODEL_REGISTRY", "sometimes")
    with pytest.raises(ConfigError, match="model_registry"):
        load_settings(runner="vertex")
