"""The train step's KFP component: its interface and the function a container runs."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import torch
from kfp import dsl

from freshet.components.train.component import make_train
from freshet.contract import load_signature
from tests.components.train import tables

SETTINGS: dict[str, Any] = {
    "hidden_units": 16,
    "hidden_layers": 1,
    "epochs": 5,
    "batch_size": 32,
    "learning_rate": 0.01,
    "patience": 0,
    "seed": 2,
}


def test_component_declares_the_shared_interface() -> None:
    component = make_train("python:3.11-slim")
    inputs = component.component_spec.inputs
    assert {"dataset", "model_factory", "model_params", *SETTINGS} <= set(inputs)
    assert inputs["model_factory"].default == "" and inputs["model_params"].default == "{}"
    assert list(component.component_spec.outputs) == ["model"]
    script = component.component_spec.implementation.container.command[2]
    assert "exec env _KFP_RUNTIME=true python3 -m kfp.dsl.executor_main" in script


def test_component_trains_a_regression_and_records_metadata(tmp_path: Path) -> None:
    dataset = tables.diabetes(tmp_path / "diabetes")
    model = dsl.Model(uri=str(tmp_path / "model"))
    make_train("python:3.11-slim").python_func(
        dataset=dsl.Dataset(uri=str(dataset), metadata={"data_version": "gen-3"}),
        model=model,
        **SETTINGS,
    )
    signature = load_signature(tmp_path / "model")
    assert (signature.task, signature.producer) == ("regression", "freshet.train")
    metadata = model.metadata
    assert metadata["task"] == "regression"
    assert metadata["framework"] == f"pytorch {torch.__version__}" == signature.framework
    assert metadata["producer"] == "freshet.train"
    assert metadata["model_factory"] == "freshet.components.train.model:mlp"
    assert metadata["validation_metric"] == "rmse"
    assert metadata["validation_score"] == metadata["val_rmse"] > 0
    assert "val_accuracy" not in metadata
    assert metadata["data_version"] == "gen-3" and metadata["epochs_run"] == 5


def test_component_bad_factory_exits_with_the_sentence(tmp_path: Path) -> None:
    dataset = tables.diabetes(tmp_path / "diabetes")
    with pytest.raises(SystemExit) as caught:
        make_train("python:3.11-slim").python_func(
            dataset=dsl.Dataset(uri=str(dataset)),
            model=dsl.Model(uri=str(tmp_path / "model")),
            model_factory="models:net",
            model_params="[]",
            **SETTINGS,
        )
    assert str(caught.value) == (
        "train: model_params for the model factory 'models:net' must be a JSON object such as "
        "'{\"dropout\": 0.1}', not '[]'."
    )
    assert not (tmp_path / "model").exists()
