"""The app in-process (starlette's TestClient drives the real ASGI app, nothing is mocked)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from freshet.serving.app import ServingSettings, create_app
from freshet.serving.model import ServedModel
from freshet.serving.signature import load_golden


@pytest.fixture(scope="module")
def client(bundle: Path) -> TestClient:
    settings = ServingSettings(AIP_HEALTH_ROUTE="/ping", AIP_PREDICT_ROUTE="/v1/models/m:predict")
    return TestClient(create_app(ServedModel.load(bundle), settings, max_instances=50))


def test_health_on_the_configured_route(client: TestClient) -> None:
    assert client.get("/ping").status_code == 200
    assert client.get("/health").status_code == 404


def test_golden_answers_match_pytorch(client: TestClient, bundle: Path) -> None:
    golden = load_golden(bundle)
    response = client.post(
        "/v1/models/m:predict", json={"instances": [e.instance for e in golden.examples]}
    )
    assert response.status_code == 200
    predictions = response.json()["predictions"]
    assert [p["label"] for p in predictions] == [e.label for e in golden.examples]
    for p, e in zip(predictions, golden.examples, strict=True):
        assert p["probabilities"] == pytest.approx(e.probabilities, abs=1e-5)
        assert sum(p["probabilities"].values()) == pytest.approx(1.0, abs=1e-5)


def test_objects_keyed_by_feature_name(client: TestClient, bundle: Path) -> None:
    model = ServedModel.load(bundle)
    example = load_golden(bundle).examples[0]
    instance = dict(zip(model.signature.feature_names, example.instance, strict=True))
    response = client.post("/v1/models/m:predict", json={"instances": [instance]})
    assert response.json()["predictions"][0]["label"] == example.label


@pytest.mark.parametrize(
    ("content", "status", "words"),
    [
        (b"not json", 400, "not valid JSON"),
        (json.dumps({"instances": [[1.0]]}).encode(), 400, "Instance 0 has 1 values"),
        (json.dumps({"instances": [[0.0] * 64] * 51}).encode(), 413, "at most 50"),
    ],
)
def test_refusals_are_json_sentences(
    client: TestClient, content: bytes, status: int, words: str
) -> None:
    response = client.post("/v1/models/m:predict", content=content)
    assert response.status_code == status
    assert words in response.json()["error"]


def test_oversized_body_is_413_before_reading(client: TestClient) -> None:
    response = client.post(
        "/v1/models/m:predict", content=b"{}", headers={"content-length": str(10**9)}
    )
    assert response.status_code == 413


def test_wrong_method_and_route_are_json_4xx(client: TestClient) -> None:
    assert client.get("/v1/models/m:predict").status_code == 405
    response = client.post("/nowhere", json={})
    assert response.status_code == 404
    assert "error" in response.json()
