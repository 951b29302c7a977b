from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sklearn import metrics

from freshet.components.evaluate.core import Evaluation, classification_metrics, score
from freshet.contract.runtime import ContractModel
from freshet.errors import BadInput, DataError
from tests.fakes.contract_models import (
    mixed_frame,
    regression_frame,
    train_linear,
    write_dataset,
)


@pytest.fixture(scope="module")
def classifier(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    root = tmp_path_factory.mktemp("classifier")
    data = write_dataset(root / "data", mixed_frame(600), "classification")
    train_linear(data, root / "model")
    return data, root / "model"


@pytest.fixture(scope="module")
def regressor(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    root = tmp_path_factory.mktemp("regressor")
    data = write_dataset(root / "data", regression_frame(400), "regression")
    train_linear(data, root / "model")
    return data, root / "model"


def copy_dataset(source: Path, target: Path, test: pd.DataFrame) -> Path:
    target.mkdir(parents=True)
    (target / "schema.json").write_text((source / "schema.json").read_text())
    test.to_parquet(target / "test.parquet", index=False)
    return target


def test_classification_metrics_match_scikit_learn(classifier: tuple[Path, Path]) -> None:
    data, model = classifier
    test = pd.read_parquet(data / "test.parquet")
    probabilities = ContractModel.load(model).predict_frame(test)
    labels = ["no", "yes"]
    y_true = np.array([labels.index(str(v)) for v in test["label"]])
    y_pred = probabilities.argmax(axis=1)

    result = score(model, data, batch_rows=17)  # many batches, one short at the end

    assert result.task == "classification" and result.test_rows == len(test) == 90
    assert result.labels == labels and result.unknown_labels == []
    assert result.metrics["accuracy"] == pytest.approx(metrics.accuracy_score(y_true, y_pred))
    assert result.metrics["f1_macro"] == pytest.approx(
        metrics.f1_score(y_true, y_pred, average="macro")
    )
    assert result.metrics["log_loss"] == pytest.approx(metrics.log_loss(y_true, probabilities))
    assert result.confusion_matrix == metrics.confusion_matrix(y_true, y_pred).tolist()
    assert result.per_class["yes"]["recall"] == pytest.approx(
        metrics.recall_score(y_true, y_pred, pos_label=1)
    )
    assert result.per_class["no"]["support"] == float((y_true == 0).sum())
    assert 0.7 < result.metrics["accuracy"] < 1.0  # a real model, not a constant
    assert result.headline == "accuracy"
    assert (result.producer, result.framework, result.data_version) == (
        "tests.linear",
        "scikit-learn",
        "test-v1",
    )
    assert score(model, data) == result  # batch size changes nothing


def test_regression_metrics_match_scikit_learn(regressor: tuple[Path, Path]) -> None:
    data, model = regressor
    test = pd.read_parquet(data / "test.parquet")
    predicted = ContractModel.load(model).predict_frame(test)

    result = score(model, data, batch_rows=25)

    assert result.task == "regression" and result.test_rows == 60
    assert set(result.metrics) == {"rmse", "mae", "r2"}
    assert result.metrics["rmse"] == pytest.approx(
        np.sqrt(metrics.mean_squared_error(test["label"], predicted)), rel=1e-6
    )
    assert result.metrics["mae"] == pytest.approx(
        metrics.mean_absolute_error(test["label"], predicted), rel=1e-6
    )
    assert result.metrics["r2"] == pytest.approx(metrics.r2_score(test["label"], predicted))
    assert 0.0 < result.metrics["r2"] < 1.0  # better than the mean
    assert result.labels == [] and result.confusion_matrix == [] and result.per_class == {}
    assert result.headline == "rmse"


def test_unknown_test_label_counts_as_wrong(classifier: tuple[Path, Path], tmp_path: Path) -> None:
    data, model = classifier
    test = pd.read_parquet(data / "test.parquet")
    test.loc[:9, "label"] = "maybe"
    test.loc[10:11, "label"] = "abstain"
    shifted = copy_dataset(data, tmp_path / "shifted", test)
    y_pred = ContractModel.load(model).predict_frame(test).argmax(axis=1)
    labels = ["no", "yes"]
    right = sum(
        label in labels and labels.index(label) == p
        for label, p in zip(test["label"], y_pred, strict=True)
    )

    result = score(model, shifted, batch_rows=8)

    assert result.labels == ["no", "yes", "abstain", "maybe"]
    assert result.unknown_labels == ["abstain", "maybe"]
    assert result.model_labels == labels
    assert result.metrics["accuracy"] == pytest.approx(right / len(test))
    assert result.confusion_matrix[3][2:] == [0, 0] and sum(result.confusion_matrix[3]) == 10
    assert sum(result.confusion_matrix[2]) == 2
    assert result.per_class["maybe"]["recall"] == 0.0
    assert result.metrics["log_loss"] > score(model, data).metrics["log_loss"]


def test_integer_labels_compare_as_text(tmp_path: Path) -> None:
    frame = mixed_frame(300)
    frame["label"] = np.where(frame["label"] == "yes", 1, 0)
    data = write_dataset(tmp_path / "data", frame, "classification")
    train_linear(data, tmp_path / "model")

    result = score(tmp_path / "model", data)

    assert result.labels == ["0", "1"] and result.unknown_labels == []
    assert result.metrics["accuracy"] > 0.7


def test_json_round_trip(classifier: tuple[Path, Path]) -> None:
    result = score(classifier[1], classifier[0])
    assert Evaluation.from_json(result.to_json()) == result
    assert result.scalars() == result.metrics
    with pytest.raises(BadInput, match="The evaluation is not valid"):
        Evaluation.from_json(json.dumps({"accuracy": 0.9}))


def test_classification_metrics_by_hand() -> None:
    y_true = np.array([0, 0, 1, 1, 2])
    probs = np.array(
        [[0.9, 0.05, 0.05], [0.2, 0.7, 0.1], [0.1, 0.8, 0.1], [0.3, 0.6, 0.1], [0.1, 0.1, 0.8]]
    )
    scalars, matrix, per_class = classification_metrics(y_true, probs, ["a", "b", "c"])
    assert scalars["accuracy"] == pytest.approx(4 / 5)
    assert matrix == [[1, 1, 0], [0, 2, 0], [0, 0, 1]]
    # per class F1: a: p=1 r=.5 -> .667; b: p=2/3 r=1 -> .8; c: 1
    assert scalars["f1_macro"] == pytest.approx((2 / 3 + 0.8 + 1.0) / 3)
    assert scalars["log_loss"] == pytest.approx(-np.mean(np.log([0.9, 0.2, 0.8, 0.6, 0.8])))
    assert per_class["b"]["recall"] == pytest.approx(1.0)
    assert per_class["c"]["support"] == 1


def test_model_of_another_task_is_bad_input(
    classifier: tuple[Path, Path], regressor: tuple[Path, Path]
) -> None:
    with pytest.raises(BadInput, match="is a regression model, but the dataset .* is for classif"):
        score(regressor[1], classifier[0])


def test_model_for_another_label_is_bad_input(
    classifier: tuple[Path, Path], tmp_path: Path
) -> None:
    data, model = classifier
    schema = json.loads((data / "schema.json").read_text())
    test = pd.read_parquet(data / "test.parquet").rename(columns={"label": "churned"})
    other = copy_dataset(data, tmp_path / "other", test)
    (other / "schema.json").write_text(json.dumps({**schema, "label_column": "churned"}))
    with pytest.raises(
        BadInput, match="predicts 'label', but the label of the dataset .* 'churned'"
    ):
        score(model, other)


def test_missing_feature_names_the_column(classifier: tuple[Path, Path], tmp_path: Path) -> None:
    data, model = classifier
    test = pd.read_parquet(data / "test.parquet").drop(columns=["plan"])
    with pytest.raises(DataError, match="has no column 'plan', which the model needs"):
        score(model, copy_dataset(data, tmp_path / "less", test))


def test_missing_model_and_split(classifier: tuple[Path, Path], tmp_path: Path) -> None:
    data, model = classifier
    with pytest.raises(BadInput, match="does not exist"):
        score(tmp_path / "nowhere", data)
    empty = tmp_path / "empty"
    empty.mkdir()
    (empty / "schema.json").write_text((data / "schema.json").read_text())
    with pytest.raises(DataError, match="does not hold a test split: 'test.parquet' is missing"):
        score(model, empty)
    test = pd.read_parquet(data / "test.parquet").head(0)
    with pytest.raises(DataError, match="has no rows"):
        score(model, copy_dataset(data, tmp_path / "none", test))


def test_regression_label_that_is_not_a_number(
    regressor: tuple[Path, Path], tmp_path: Path
) -> None:
    data, model = regressor
    test = pd.read_parquet(data / "test.parquet")
    test["label"] = test["label"].astype(str).astype(object)
    test.loc[30, "label"] = "n/a"
    test.loc[5, "label"] = None
    with pytest.raises(DataError, match=r"has a value that is not a number \(nan\); a regr"):
        score(model, copy_dataset(data, tmp_path / "bad", test))
