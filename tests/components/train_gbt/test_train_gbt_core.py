"""train_gbt core: boosted trees from real tables to a contract model that onnxruntime serves."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from freshet.components.train_gbt.core import TRAINING_FILE, GbtConfig, check_onnx, train_gbt
from freshet.contract import load_signature
from freshet.contract.runtime import ContractModel
from freshet.errors import BadInput, DataError
from tests.components.train_gbt.datasets import (
    diabetes_frame,
    digits_frame,
    mixed_frame,
    write_dataset,
)

QUICK = GbtConfig(seed=0, max_iter=30)


def test_digits_classifier_scores_through_onnx(tmp_path: Path) -> None:
    dataset = write_dataset(tmp_path / "digits", digits_frame(), task="classification")
    result = train_gbt(dataset, tmp_path / "model", QUICK)

    model = ContractModel.load(tmp_path / "model")
    test = pd.read_parquet(dataset / "test.parquet")
    probabilities = model.predict_frame(test)
    assert probabilities.shape == (len(test), 10)
    labels = model.signature.labels
    predicted = [labels[i] for i in probabilities.argmax(axis=1)]
    accuracy = float(np.mean(np.array(predicted) == test["label"].map(str).to_numpy()))
    assert accuracy > 0.85, accuracy
    assert result.validation_metric == "accuracy"
    assert result.validation_score is not None and result.validation_score > 0.85
    assert result.max_abs_diff <= 1e-4 and result.checked_rows == 270
    assert 1 <= result.n_iter <= 30

    signature = load_signature(tmp_path / "model")
    assert signature.task == "classification"
    assert signature.labels == [str(i) for i in range(10)]
    assert signature.framework.startswith("scikit-learn ")
    assert signature.producer == "freshet.train_gbt"
    assert signature.data_version == "test-digits"
    record = json.loads((tmp_path / "model" / TRAINING_FILE).read_text())
    assert record["config"] == {
        "seed": 0,
        "max_iter": 30,
        "learning_rate": 0.1,
        "max_leaf_nodes": 31,
    }
    assert (
        record["n_iter"] == result.n_iter and record["validation_score"] == result.validation_score
    )
    assert sorted(p.name for p in (tmp_path / "model").iterdir()) == [
        "model.onnx",
        "signature.json",
        TRAINING_FILE,
    ]


def test_diabetes_regressor_scores_through_onnx(tmp_path: Path) -> None:
    dataset = write_dataset(
        tmp_path / "diabetes", diabetes_frame(), task="regression", label_column="target"
    )
    result = train_gbt(
        dataset, tmp_path / "model", GbtConfig(seed=0, max_iter=60, learning_rate=0.05)
    )

    model = ContractModel.load(tmp_path / "model")
    assert model.signature.task == "regression" and model.signature.output_name == "value"
    test = pd.read_parquet(dataset / "test.parquet")
    values = model.predict_frame(test).astype(np.float64)
    truth = test["target"].to_numpy()
    r2 = 1 - np.sum((truth - values) ** 2) / np.sum((truth - truth.mean()) ** 2)
    assert r2 > 0.3, r2
    assert result.validation_metric == "r2"
    assert result.validation_score is not None and result.validation_score > 0.2
    assert result.max_abs_diff < 1e-2  # values are in the hundreds; relative check 1e-4


def test_mixed_table_answers_raw_rows_and_unseen_categories(tmp_path: Path) -> None:
    dataset = write_dataset(
        tmp_path / "mixed",
        mixed_frame(),
        task="classification",
        kinds={"size": "numeric", "flag": "boolean", "colour": "categorical"},
    )
    result = train_gbt(dataset, tmp_path / "model", QUICK)
    assert result.validation_score is not None and result.validation_score > 0.8

    model = ContractModel.load(tmp_path / "model")
    assert model.signature.labels == ["no", "yes"]
    test = pd.read_parquet(dataset / "test.parquet")
    predicted = np.array(["no", "yes"])[model.predict_frame(test).argmax(axis=1)]
    assert float(np.mean(predicted == test["label"].to_numpy())) > 0.8

    raw = pd.DataFrame(
        {
            "size": [2.0, np.nan, -2.0, 0.5],
            "flag": [True, False, None, True],
            "colour": ["red", None, "blue", "purple"],  # purple never seen in training
        }
    )
    probabilities = model.predict_frame(raw)
    assert probabilities.shape == (4, 2)
    assert np.all(np.isfinite(probabilities))
    np.testing.assert_allclose(probabilities.sum(axis=1), 1.0, atol=1e-5)
    assert probabilities[0, 1] > 0.8  # big, flagged, red: clearly "yes"


def test_label_missing_from_train_split_gets_a_zero_column(tmp_path: Path) -> None:
    frame = mixed_frame(rows=300)
    rare = pd.DataFrame(
        {
            "size": [0.1, 0.2],
            "flag": [True, False],
            "colour": ["red", "blue"],
            "label": ["maybe", "maybe"],
        }
    )
    splits = {
        "train": frame.iloc[:200],
        "validation": pd.concat([frame.iloc[200:250], rare.iloc[:1]]),
        "test": pd.concat([frame.iloc[250:], rare.iloc[1:]]),
    }
    dataset = write_dataset(
        tmp_path / "rare",
        frame,
        task="classification",
        kinds={"flag": "boolean", "colour": "categorical"},
        labels=["maybe", "no", "yes"],
        splits=splits,
    )
    train_gbt(dataset, tmp_path / "model", QUICK)

    model = ContractModel.load(tmp_path / "model")
    probabilities = model.predict_frame(splits["test"])
    assert probabilities.shape == (len(splits["test"]), 3)
    assert np.all(probabilities[:, 0] == 0.0)
    np.testing.assert_allclose(probabilities.sum(axis=1), 1.0, atol=1e-5)


def test_same_seed_gives_identical_model_bytes(tmp_path: Path) -> None:
    dataset = write_dataset(
        tmp_path / "mixed",
        mixed_frame(),
        task="classification",
        kinds={"flag": "boolean", "colour": "categorical"},
    )
    train_gbt(dataset, tmp_path / "a", QUICK)
    train_gbt(dataset, tmp_path / "b", QUICK)
    train_gbt(dataset, tmp_path / "c", GbtConfig(seed=0, max_iter=30, max_leaf_nodes=4))
    first = (tmp_path / "a" / "model.onnx").read_bytes()
    assert first == (tmp_path / "b" / "model.onnx").read_bytes()
    assert first != (tmp_path / "c" / "model.onnx").read_bytes()


def test_retraining_replaces_the_model_directory_whole(tmp_path: Path) -> None:
    dataset = write_dataset(
        tmp_path / "mixed",
        mixed_frame(),
        task="classification",
        kinds={"flag": "boolean", "colour": "categorical"},
    )
    out = tmp_path / "model"
    out.mkdir()
    (out / "stale.txt").write_text("from an earlier attempt")
    train_gbt(dataset, out, QUICK)
    assert not (out / "stale.txt").exists()
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []


@pytest.mark.parametrize(
    ("config", "words"),
    [
        (GbtConfig(max_iter=0), "max_iter must be a positive number of trees: 0."),
        (GbtConfig(learning_rate=0.0), "learning_rate must be a positive number: 0.0."),
        (GbtConfig(learning_rate=-0.5), "learning_rate must be a positive number: -0.5."),
        (GbtConfig(learning_rate=math.nan), "learning_rate must be a positive number: nan."),
        (GbtConfig(max_leaf_nodes=1), "max_leaf_nodes must be 2 or more: 1."),
        (GbtConfig(seed=-1), "seed must be 0 or more: -1."),
    ],
)
def test_bad_config_is_one_sentence_and_writes_nothing(
    tmp_path: Path, config: GbtConfig, words: str
) -> None:
    dataset = write_dataset(
        tmp_path / "mixed",
        mixed_frame(rows=60),
        task="classification",
        kinds={"flag": "boolean", "colour": "categorical"},
    )
    with pytest.raises(BadInput) as caught:
        train_gbt(dataset, tmp_path / "model", config)
    assert str(caught.value) == words
    assert not (tmp_path / "model").exists()


def test_label_outside_the_schema_labels_is_a_data_error(tmp_path: Path) -> None:
    dataset = write_dataset(
        tmp_path / "mixed",
        mixed_frame(rows=60),
        task="classification",
        kinds={"flag": "boolean", "colour": "categorical"},
        labels=["no", "perhaps"],
    )
    with pytest.raises(DataError, match=r"The train split has label 'yes', which is not among"):
        train_gbt(dataset, tmp_path / "model", QUICK)
    assert not (tmp_path / "model").exists()


def test_regression_label_that_is_not_a_number_is_a_data_error(tmp_path: Path) -> None:
    frame = diabetes_frame().head(60).astype({"target": object})
    frame.loc[frame.index[5], "target"] = "n/a"
    frame["target"] = frame["target"].astype(str)
    dataset = write_dataset(
        tmp_path / "d",
        frame,
        task="regression",
        label_column="target",
        splits={"train": frame, "validation": frame.head(10), "test": frame.head(10)},
    )
    with pytest.raises(DataError, match=r"The train split has a label that is not a number: 'n/a'"):
        train_gbt(dataset, tmp_path / "model", QUICK)


def test_single_class_train_split_is_a_data_error(tmp_path: Path) -> None:
    frame = mixed_frame(rows=80)
    only_no = frame[frame["label"] == "no"]
    dataset = write_dataset(
        tmp_path / "one",
        frame,
        task="classification",
        kinds={"flag": "boolean", "colour": "categorical"},
        splits={"train": only_no, "validation": frame.head(10), "test": frame.head(10)},
    )
    with pytest.raises(DataError, match=r"has a single class \('no'\); a classifier needs"):
        train_gbt(dataset, tmp_path / "model", QUICK)


def test_missing_split_is_a_data_error(tmp_path: Path) -> None:
    dataset = write_dataset(
        tmp_path / "mixed",
        mixed_frame(rows=60),
        task="classification",
        kinds={"flag": "boolean", "colour": "categorical"},
    )
    (dataset / "validation.parquet").unlink()
    with pytest.raises(DataError, match=r"'validation.parquet' is missing"):
        train_gbt(dataset, tmp_path / "model", QUICK)
    with pytest.raises(DataError, match=r"'schema.json' is missing"):
        train_gbt(tmp_path / "nowhere", tmp_path / "model", QUICK)


def test_onnx_that_disagrees_with_scikit_learn_is_refused(tmp_path: Path) -> None:
    dataset = write_dataset(
        tmp_path / "diabetes", diabetes_frame(), task="regression", label_column="target"
    )
    train_gbt(dataset, tmp_path / "model", QUICK)
    rows = pd.read_parquet(dataset / "validation.parquet").head(20)
    served = ContractModel.load(tmp_path / "model").predict_frame(rows).astype(np.float64)

    worst, checked = check_onnx(tmp_path / "model", rows, served * (1 + 5e-5), "regression")
    assert checked == 20 and worst > 0  # within the relative tolerance
    with pytest.raises(BadInput, match=r"disagrees with scikit-learn by 0\.5 \(row 0 "):
        check_onnx(tmp_path / "model", rows, served + 0.5, "regression")

    dataset = write_dataset(
        tmp_path / "mixed",
        mixed_frame(rows=200),
        task="classification",
        kinds={"flag": "boolean", "colour": "categorical"},
    )
    train_gbt(dataset, tmp_path / "classifier", QUICK)
    rows = pd.read_parquet(dataset / "validation.parquet")
    served = ContractModel.load(tmp_path / "classifier").predict_frame(rows).astype(np.float64)
    assert check_onnx(tmp_path / "classifier", rows, served + 5e-5, "classification")[1] == 30
    served[3] = served[3, ::-1]
    with pytest.raises(BadInput, match=r"disagrees with scikit-learn by .* \(row 3 of"):
        check_onnx(tmp_path / "classifier", rows, served, "classification")


def test_empty_validation_split_trains_without_early_stopping(tmp_path: Path) -> None:
    frame = mixed_frame(rows=120)
    dataset = write_dataset(
        tmp_path / "noval",
        frame,
        task="classification",
        kinds={"flag": "boolean", "colour": "categorical"},
        splits={"train": frame.iloc[:100], "validation": frame.iloc[:0], "test": frame.iloc[100:]},
    )
    result = train_gbt(dataset, tmp_path / "model", GbtConfig(max_iter=7))
    assert result.validation_score is None
    assert result.n_iter == 7  # nothing to stop on
    assert result.checked_rows == 100  # the check falls back to train rows
    record = json.loads((tmp_path / "model" / TRAINING_FILE).read_text())
    assert record["validation_score"] is None


@pytest.mark.parametrize(
    ("uri", "label", "task"),
    [
        ("sample://mixed?rows=400&seed=1", "label", "classification"),
        ("sample://diabetes", "label", "regression"),
    ],
)
def test_trains_on_what_fetch_writes(tmp_path: Path, uri: str, label: str, task: str) -> None:
    from freshet.components.fetch.core import FetchConfig, fetch

    schema = fetch(FetchConfig(uri=uri, label_column=label), tmp_path / "dataset")
    assert schema.task == task
    result = train_gbt(tmp_path / "dataset", tmp_path / "model", QUICK)
    assert result.task == task and result.max_abs_diff <= 1e-2
    signature = load_signature(tmp_path / "model")
    assert signature.features == schema.signature_features()
    test = pd.read_parquet(tmp_path / "dataset" / "test.parquet")
    assert len(ContractModel.load(tmp_path / "model").predict_frame(test)) == len(test)
