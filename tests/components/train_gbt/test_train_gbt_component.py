"""train_gbt's KFP component and preflight: the same function a container runs, and the check
a run makes before anything is written."""

from __future__ import annotations

from pathlib import Path

import pytest
from kfp import dsl

from freshet.components.train_gbt.component import make_train_gbt
from freshet.components.train_gbt.preflight import check
from freshet.contract import load_signature
from freshet.errors import BadInput
from tests.components.train_gbt.datasets import mixed_frame, write_dataset


def _dataset(tmp_path: Path) -> dsl.Dataset:
    path = write_dataset(
        tmp_path / "mixed",
        mixed_frame(rows=200),
        task="classification",
        kinds={"flag": "boolean", "colour": "categorical"},
    )
    return dsl.Dataset(uri=str(path), metadata={"data_version": "gen-7"})


def test_component_declares_the_shared_interface() -> None:
    component = make_train_gbt("python:3.11-slim")
    inputs = component.component_spec.inputs
    assert sorted(inputs) == ["dataset", "learning_rate", "max_iter", "max_leaf_nodes", "seed"]
    assert list(component.component_spec.outputs) == ["model"]
    assert component.component_spec.implementation.container.image == "python:3.11-slim"


def test_component_trains_and_records_metadata(tmp_path: Path) -> None:
    component = make_train_gbt("python:3.11-slim")
    model = dsl.Model(uri=str(tmp_path / "model"))
    component.python_func(
        dataset=_dataset(tmp_path),
        model=model,
        seed=3,
        max_iter=20,
        learning_rate=0.2,
        max_leaf_nodes=8,
    )
    assert load_signature(tmp_path / "model").producer == "freshet.train_gbt"
    metadata = model.metadata
    assert metadata["task"] == "classification"
    assert metadata["framework"].startswith("scikit-learn ")
    assert metadata["producer"] == "freshet.train_gbt"
    assert metadata["validation_metric"] == "accuracy"
    assert 0.5 < metadata["validation_score"] <= 1.0
    assert 1 <= metadata["n_iter"] <= 20
    assert metadata["data_version"] == "gen-7"


def test_component_bad_value_exits_with_the_sentence(tmp_path: Path) -> None:
    component = make_train_gbt("python:3.11-slim")
    with pytest.raises(SystemExit) as caught:
        component.python_func(
            dataset=_dataset(tmp_path),
            model=dsl.Model(uri=str(tmp_path / "model")),
            seed=0,
            max_iter=-4,
            learning_rate=0.1,
            max_leaf_nodes=31,
        )
    assert str(caught.value) == "train_gbt: max_iter must be a positive number of trees: -4."
    assert not (tmp_path / "model").exists()


def test_preflight_accepts_good_and_unknown_values() -> None:
    assert (
        check({"seed": 1, "max_iter": 50, "learning_rate": 0.05, "max_leaf_nodes": 15}, {}) is None
    )
    assert check({}, {"task": "regression"}) is None  # values wired from other tasks


@pytest.mark.parametrize(
    ("inputs", "sentence"),
    [
        ({"max_iter": 0}, "max_iter must be a positive number of trees: 0."),
        ({"learning_rate": -1.0}, "learning_rate must be a positive number: -1.0."),
        ({"max_leaf_nodes": 1}, "max_leaf_nodes must be 2 or more: 1."),
        ({"max_iter": 2.5}, "max_iter must be a whole number: 2.5."),
        ({"seed": "one"}, "seed must be a number: 'one'."),
        ({"max_iter": True}, "max_iter must be a number: True."),
    ],
)
def test_preflight_rejects_bad_values(inputs: dict[str, object], sentence: str) -> None:
    with pytest.raises(BadInput) as caught:
        check(inputs, {})
    assert str(caught.value) == sentence
