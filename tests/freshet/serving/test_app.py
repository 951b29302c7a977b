"""The app in-process (starlette's TestClient drives the real ASGI app, nothing is mocked)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from fastapi.testclient import TestClient

from freshet.serving.app import ServingSettings, create_app
from freshet.serving.model import load_bundle
from freshet.serving.signature import load_golden

PREDICT = "/v1/models/m:predict"


def client_for(bundle: Path) -> TestClient:
    settings = ServingSettings(AIP_HEALTH_ROUTE="/ping", AIP_PREDICT_ROUTE=PREDICT)
    return TestClient(create_app(load_bundle(bundle), settings, max_instances=50))


@pytest.fixture(scope="module")
def client(bundle: Path) -> TestClient:
    return client_for(bundle)


@pytest.fixture(scope="module")
def mixed(mixed_bundle: Path) -> TestClient:
    return client_for(mixed_bundle)


@pytest.fixture(scope="module")
def regression(regression_bundle: Path) -> TestClient:
    return client_for(regression_bundle)


def test_health_on_the_configured_route(client: TestClient) -> None:
    assert client.get("/ping").json() == {"status": "ok", "features": 64}
    assert client.get("/health").status_code == 404


def test_golden_answers_match(client: TestClient, bundle: Path) -> None:
    golden = load_golden(bundle)
    names = load_bundle(bundle).signature.feature_names
    response = client.post(PREDICT, json={"instances": [e.row(names) for e in golden.examples]})
    assert response.status_code == 200
    predictions = response.json()["predictions"]
    assert [p["label"] for p in predictions] == [e.label for e in golden.examples]
    for p, e in zip(predictions, golden.examples, strict=True):
        assert p["probabilities"] == pytest.approx(e.probabilities, abs=1e-6)
        assert sum(p["probabilities"].values()) == pytest.approx(1.0, abs=1e-5)


def test_objects_keyed_by_feature_name(client: TestClient, bundle: Path) -> None:
    example = load_golden(bundle).examples[0]
    response = client.post(PREDICT, json={"instances": [example.instance]})
    assert response.json()["predictions"][0]["label"] == example.label


def test_mixed_rows_with_strings_nulls_and_booleans(mixed: TestClient, mixed_bundle: Path) -> None:
    golden = load_golden(mixed_bundle)
    with_gaps = [e for e in golden.examples if None in e.instance.values()]
    assert with_gaps, "the golden rows should hold missing values"
    response = mixed.post(PREDICT, json={"instances": [e.instance for e in with_gaps]})
    assert response.status_code == 200, response.text
    for p, e in zip(response.json()["predictions"], with_gaps, strict=True):
        assert p["label"] == e.label
        assert p["probabilities"] == pytest.approx(e.probabilities, abs=1e-6)
    as_lists = [[60.0, 41, True, "pro", None], [None, None, 0, None, "south"]]
    assert mixed.post(PREDICT, json={"instances": as_lists}).status_code == 200


def test_a_never_seen_category_gets_an_answer(mixed: TestClient) -> None:
    seen = {"income": 50.0, "age": 40, "member": True, "plan": "pro", "region": "north"}
    unseen = {**seen, "plan": "enterprise", "region": "mars"}
    response = mixed.post(PREDICT, json={"instances": [seen, unseen]})
    assert response.status_code == 200, response.text
    first, second = response.json()["predictions"]
    assert second["label"] in ("no", "yes")
    assert sum(second["probabilities"].values()) == pytest.approx(1.0, abs=1e-5)
    assert first["probabilities"] != second["probabilities"]  # the category did count


def test_regression_answers_values(regression: TestClient, regression_bundle: Path) -> None:
    golden = load_golden(regression_bundle)
    response = regression.post(PREDICT, json={"instances": [e.instance for e in golden.examples]})
    assert response.status_code == 200
    predictions = response.json()["predictions"]
    assert all(set(p) == {"value"} for p in predictions)
    got = np.array([p["value"] for p in predictions])
    want = np.array([e.value for e in golden.examples])
    np.testing.assert_allclose(got, want, rtol=1e-6)
    nulls = dict.fromkeys(golden.examples[0].instance)
    assert isinstance(
        regression.post(PREDICT, json={"instances": [nulls]}).json()["predictions"][0]["value"],
        float,
    )


@pytest.mark.parametrize(
    ("instance", "sentence"),
    [
        (
            {"income": "abc", "age": 1, "member": True, "plan": "pro", "region": "n"},
            "Instance 0, feature 'income' is not a number: \"abc\".",
        ),
        (
            [1.0, 1, "yes", "pro", "n"],
            "Instance 0, feature 'member' is not a boolean (true, false or null): \"yes\".",
        ),
        (
            [1.0, 1, True, {"name": "pro"}, "n"],
            "Instance 0, feature 'plan' is not a category (a string, a number or null): "
            '{"name": "pro"}.',
        ),
    ],
)
def test_mixed_refusals_name_instance_feature_and_value(
    mixed: TestClient, instance: object, sentence: str
) -> None:
    response = mixed.post(PREDICT, json={"instances": [instance]})
    assert response.status_code == 400
    assert response.json() == {"error": sentence}


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
    response = client.post(PREDICT, content=content)
    assert response.status_code == status
    assert words in response.json()["error"]


def test_oversized_body_is_413_before_reading(client: TestClient) -> None:
    response = client.post(PREDICT, content=b"{}", headers={"content-length": str(10**9)})
    assert response.status_code == 413


def test_wrong_method_and_route_are_json_4xx(client: TestClient) -> None:
    assert client.get(PREDICT).status_code == 405
    response = client.post("/nowhere", json={})
    assert response.status_code == 404
    assert "error" in response.json()


def test_a_model_failing_on_a_request_is_a_json_500(tmp_path: Path) -> None:
    """A graph that only takes batches of two (a fixed Reshape) fails on one instance."""
    from onnx import TensorProto, helper, save

    from freshet.contract import Feature, Signature

    graph = helper.make_graph(
        [helper.make_node("Reshape", ["numeric", "shape"], ["probabilities"])],
        "two_rows_only",
        [helper.make_tensor_value_info("numeric", TensorProto.FLOAT, [None, 2])],
        [helper.make_tensor_value_info("probabilities", TensorProto.FLOAT, [2, 2])],
        [helper.make_tensor("shape", TensorProto.INT64, [2], [2, 2])],
    )
    save(
        helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)]),
        tmp_path / "model.onnx",
    )
    signature = Signature(
        task="classification", features=[Feature(name="a"), Feature(name="b")], labels=["x", "y"]
    )
    (tmp_path / "signature.json").write_text(signature.to_json())
    client = client_for(tmp_path)
    two = client.post(PREDICT, json={"instances": [[0.2, 0.8], [0.9, 0.1]]})
    assert [p["label"] for p in two.json()["predictions"]] == ["y", "x"]
    one = client.post(PREDICT, json={"instances": [[0.2, 0.8]]})
    assert one.status_code == 500
    assert one.json()["error"].startswith("The model failed on this request: ")
