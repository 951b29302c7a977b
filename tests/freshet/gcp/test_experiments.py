"""`[gcp] experiment = NAME`: Vertex runs are logged to a Vertex AI Experiment (the fake)."""

from __future__ import annotations

import pytest

from freshet.config import load_settings
from freshet.errors import ConfigError
from freshet.runners import RunRequest, submit
from tests.fakes.vertex_fixtures import PROJECT, REGION, VertexServices

STORE = f"projects/{PROJECT}/locations/{REGION}/metadataStores/default"


def _submit(vertex: VertexServices, run_id: str) -> str:
    request = RunRequest(template=vertex.template, run_id=run_id)
    return submit(request, load_settings(runner="vertex")).status


def test_runs_are_logged_to_the_experiment(
    vertex: VertexServices, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("FRESHET_GCP__EXPERIMENT", "digits-ct")
    assert _submit(vertex, "training-00000000000000e1") == "submitted"
    assert _submit(vertex, "training-00000000000000e2") == "submitted"
    metadata = vertex.vertex.metadata
    experiment = metadata.context(f"{STORE}/contexts/digits-ct")
    assert experiment is not None and experiment.schema_title == "system.Experiment"
    assert metadata.children(f"{STORE}/contexts/digits-ct") == [
        f"{STORE}/contexts/training-00000000000000e1",
        f"{STORE}/contexts/training-00000000000000e2",
    ]
    # The experiment is made once, before the first job; the second run finds it.
    assert len(vertex.vertex.requests("CreateContext")) == 1
    first_context = vertex.vertex.calls.index(
        next(c for c in vertex.vertex.calls if c.method == "CreateContext")
    )
    first_job = vertex.vertex.calls.index(
        next(c for c in vertex.vertex.calls if c.method == "CreatePipelineJob")
    )
    assert first_context < first_job


def test_without_an_experiment_no_metadata_is_touched(vertex: VertexServices) -> None:
    assert _submit(vertex, "training-00000000000000e3") == "submitted"
    assert vertex.vertex.requests("AddContextChildren") == []
    assert vertex.vertex.requests("GetMetadataStore") == []


def test_a_malformed_experiment_name_is_named(
    vertex: VertexServices, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("FRESHET_GCP__EXPERIMENT", "Digits CT")
    with pytest.raises(ConfigError, match="experiment.*Vertex AI Experiment name"):
        load_settings(runner="vertex")
