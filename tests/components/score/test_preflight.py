"""The prediction preflights: each bad input is one sentence before anything is written."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from freshet.components.score.preflight import check_input, check_model, check_output
from freshet.errors import BadInput
from freshet.registry import open_registry


@pytest.fixture(scope="module")
def registry(trained: tuple[Path, Path], tmp_path_factory: pytest.TempPathFactory) -> str:
    root = tmp_path_factory.mktemp("registry")
    open_registry(str(root)).register("digits", trained[1], data_version="dv", run_id="r1")
    # a model with versions but no champion
    open_registry(str(root)).register("unpromoted", trained[1], aliases=())
    return str(root)


def model_inputs(registry: str, **changes: Any) -> dict[str, Any]:
    inputs = {
        "registry_uri": registry,
        "model_name": "digits",
        "model_alias": "champion",
        "model_version": 0,
        "use_batch_prediction_job": False,
    }
    return {**inputs, **changes}


def test_the_champion_and_its_columns_go_into_the_context(registry: str) -> None:
    found = check_model(model_inputs(registry), {"notes": []})
    assert found["model_version"] == 1 and found["model_label"] == "digits@1"
    assert found["model_features"][:2] == ["pixel_0_0", "pixel_0_1"]
    assert found["notes"] == ["scoring with digits@1 (classification)"]
    assert check_model(model_inputs(registry, model_version=1), {})["model_version"] == 1


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"model_name": "nope"}, "has no model 'nope'; train and register one first"),
        ({"model_name": "Bad Name"}, "Model name 'Bad Name' is not valid"),
        ({"model_name": "unpromoted"}, "'unpromoted' in '.*' has no champion; register one"),
        ({"model_alias": "staging"}, "has no alias 'staging'"),
        ({"model_version": 7}, "has no version 7"),
        ({"model_version": -1}, "model_version must be a version number"),
        ({"use_batch_prediction_job": True}, r'needs the Vertex AI Model Registry .*"vertex"'),
    ],
)
def test_model_refusals(registry: str, changes: dict[str, Any], message: str) -> None:
    with pytest.raises(BadInput, match=message):
        check_model(model_inputs(registry, **changes), {})


def test_a_batch_prediction_job_is_refused_even_with_the_vertex_registry() -> None:
    with pytest.raises(BadInput, match="does not submit Vertex AI BatchPredictionJobs"):
        check_model(model_inputs("vertex", use_batch_prediction_job=True), {})


def test_input_columns(trained: tuple[Path, Path], registry: str, tmp_path: Path) -> None:
    context = check_model(model_inputs(registry), {"notes": []})
    frame = pd.read_parquet(trained[0] / "test.parquet")
    frame.to_csv(tmp_path / "good.csv", index=False)
    found = check_input({"data_uri": str(tmp_path / "good.csv"), "keep_columns": "label"}, context)
    assert found["data_version"].startswith("sha256-")
    frame.drop(columns=["pixel_3_4"]).to_parquet(tmp_path / "bad.parquet")
    with pytest.raises(BadInput, match=r"bad.parquet' has no column 'pixel_3_4', a feature col"):
        check_input({"data_uri": str(tmp_path / "bad.parquet")}, context)
    with pytest.raises(BadInput, match=r"has no column 'customer', a kept column"):
        check_input({"data_uri": str(tmp_path / "good.csv"), "keep_columns": "customer"}, context)
    with pytest.raises(BadInput, match="max_error_fraction must be a number between 0 and 1"):
        check_input({"data_uri": str(tmp_path / "good.csv"), "max_error_fraction": 2.0}, context)
    with pytest.raises(BadInput, match="does not exist"):
        check_input({"data_uri": str(tmp_path / "missing.csv")}, context)
    # submitting to Vertex reads no data from here, but still lists its version
    remote = check_input(
        {"data_uri": str(tmp_path / "bad.parquet")}, {**context, "runner": "vertex"}
    )
    assert remote["data_version"].startswith("sha256-")


def test_output_refusals(tmp_path: Path) -> None:
    context = {"data_version": "sha256-1", "model_label": "m@1"}
    check_output({"output_uri": str(tmp_path / "new"), "run_id": "r"}, context)
    (tmp_path / "done").mkdir()
    (tmp_path / "done" / "_SUCCESS").write_text("{}")
    done = {"output_uri": str(tmp_path / "done"), "run_id": "r"}
    with pytest.raises(BadInput, match="already holds a finished run's predictions"):
        check_output(done, context)
    check_output({**done, "overwrite": True}, context)
    templated = {"output_uri": str(tmp_path / "{data_version}"), "run_id": "r"}
    (tmp_path / "sha256-1").mkdir()
    (tmp_path / "sha256-1" / "_SUCCESS").write_text("{}")
    with pytest.raises(BadInput, match="sha256-1' already holds a finished run"):
        check_output(templated, context)
    with pytest.raises(BadInput, match="output_uri is not set"):
        check_output({"output_uri": "", "run_id": "r"}, context)
    with pytest.raises(BadInput, match="overwrite must be true or false"):
        check_output({**done, "overwrite": "yes"}, context)
