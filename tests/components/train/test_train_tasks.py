"""Regression and real tables: the model contract the train step writes answers raw rows."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch

from freshet.components.fetch.core import DatasetSchema
from freshet.components.train import data
from freshet.components.train.config import TrainConfig
from freshet.components.train.core import train
from freshet.components.train.model import mlp
from freshet.contract import check_model_dir
from freshet.contract.preprocess import TablePreprocessor
from freshet.contract.runtime import ContractModel
from freshet.errors import DataError
from tests.components.train import tables

REGRESSION = TrainConfig(
    hidden_units=32, hidden_layers=1, epochs=20, batch_size=32, learning_rate=0.01, seed=1
)
MIXED = TrainConfig(
    hidden_units=16, hidden_layers=1, epochs=4, batch_size=32, learning_rate=0.01, seed=2
)


@pytest.fixture(scope="module")
def diabetes(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tables.diabetes(tmp_path_factory.mktemp("diabetes") / "dataset", row_group_size=100)


@pytest.fixture(scope="module")
def mixed(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tables.mixed(tmp_path_factory.mktemp("mixed") / "dataset", row_group_size=300)


def r_squared(predicted: np.ndarray, truth: np.ndarray) -> float:
    return float(1.0 - ((predicted - truth) ** 2).sum() / ((truth - truth.mean()) ** 2).sum())


def test_regression_learns_the_target_and_its_graph_matches_torch(
    diabetes: Path, tmp_path: Path
) -> None:
    result = train(diabetes, tmp_path / "model", REGRESSION)

    assert result.task == "regression" and result.val_accuracy is None
    assert result.val_rmse is not None
    assert all("val_rmse" in h and "val_accuracy" not in h for h in result.history)
    signature = check_model_dir(tmp_path / "model")
    assert (signature.task, signature.labels, signature.output_name) == ("regression", [], "value")
    assert signature.label_column == "target" and len(signature.features) == 10
    validation = pd.read_parquet(diabetes / "validation.parquet")
    predicted = ContractModel.load(tmp_path / "model").predict_frame(validation)
    truth = validation["target"].to_numpy(dtype=np.float64)
    assert r_squared(predicted, truth) > 0.3
    # The reported RMSE is in the label's units: the one of the served graph's answers.
    rmse = float(np.sqrt(((predicted - truth) ** 2).mean()))
    assert rmse == pytest.approx(result.val_rmse, rel=1e-3)

    # torch on the preprocessed rows, with the target's scaling undone, gives the same values.
    train_split = pd.read_parquet(diabetes / "train.parquet")
    preprocessor = TablePreprocessor.fit(train_split, signature)
    network = mlp(10, 1, {"hidden_units": 32, "hidden_layers": 1})
    network.load_state_dict(torch.load(tmp_path / "model" / "model.pt", weights_only=True))
    y = train_split["target"].to_numpy(dtype=np.float64)
    with torch.no_grad():
        scaled = network(torch.from_numpy(preprocessor.transform(validation))).numpy()
    expected = scaled.reshape(-1) * y.std() + y.mean()
    assert np.abs(predicted - expected).max() <= 1e-4 * max(1.0, float(np.abs(expected).max()))
    assert result.export_max_diff <= 1e-4 * float(np.abs(expected).max())


def test_streamed_regression_is_reproducible(diabetes: Path, tmp_path: Path) -> None:
    config = replace(REGRESSION, epochs=3, data_loading="stream", loader_workers=1)
    first = train(diabetes, tmp_path / "a", config)
    second = train(diabetes, tmp_path / "b", replace(config, loader_workers=0))
    assert first.data_loading == "stream" and first.history == second.history
    assert first.steps == 3 * (3 * 4 + 1)  # row groups of 100 (x3) and 9 rows, batches of 32
    assert first.val_rmse is not None and first.val_rmse < 80.0  # the label's std is ~77


def test_streaming_fits_features_on_the_first_rows_and_the_target_on_all(
    diabetes: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(data, "FIT_ROWS", 150)
    schema = DatasetSchema.load(diabetes)
    source = data.Streamed(diabetes, schema, schema.signature(), torch.device("cpu"), 0)
    train_split = pd.read_parquet(diabetes / "train.parquet")
    first = train_split.iloc[:150]
    scaler = source.preprocessor.numeric.named_steps["scale"]
    assert np.allclose(scaler.mean_, first[schema.features].mean().to_numpy())
    assert not np.allclose(scaler.mean_, train_split[schema.features].mean().to_numpy())
    y = train_split["target"].to_numpy(dtype=np.float64)
    assert source.targets.mean == pytest.approx(y.mean()) and source.targets.std == pytest.approx(
        y.std()
    )


@pytest.mark.parametrize(
    ("value", "message"),
    [
        (None, "The train split has a missing value in the label column 'y'; "),
        ("many", "The train split has the value 'many' in the label column 'y'; "),
    ],
)
def test_a_regression_label_that_is_not_a_number_is_a_data_error(
    tmp_path: Path, value: object, message: str
) -> None:
    # Text labels when one is text (a Parquet column has one type).
    labels: list[object] = [str(i) if isinstance(value, str) else float(i) for i in range(40)]
    labels[::4] = [value] * 10  # some of them in the train split, whatever the shuffle
    frame = pd.DataFrame({"x": np.arange(40.0), "y": labels})
    dataset = tables.write_dataset(tmp_path / "dataset", frame, "y", "regression")
    with pytest.raises(DataError) as info:
        train(dataset, tmp_path / "model", replace(REGRESSION, epochs=1))
    assert str(info.value).startswith(message)
    assert not (tmp_path / "model").exists()


@pytest.mark.parametrize("mode", ["memory", "stream"])
def test_a_mixed_table_trains_and_its_graph_answers_raw_rows(
    mixed: Path, tmp_path: Path, mode: str
) -> None:
    config = replace(MIXED, data_loading=mode, loader_workers=1)
    result = train(mixed, tmp_path / "model", config)

    assert result.val_accuracy is not None and result.val_accuracy > 0.8
    assert result.n_inputs == 3 + 4  # size, fragile, weight; colour one-hot with "missing"
    signature = check_model_dir(tmp_path / "model")
    kinds = {f.name: f.kind for f in signature.features}
    assert kinds == {
        "size": "numeric",
        "colour": "categorical",
        "fragile": "boolean",
        "weight": "numeric",
    }
    model = ContractModel.load(tmp_path / "model")
    test = pd.read_parquet(mixed / "test.parquet")
    accuracy = (model.predict_frame(test).argmax(axis=1) == (test["status"] == "ship")).mean()
    assert accuracy > 0.8
    raw = pd.DataFrame(
        {
            "size": [1.5, np.nan, -1.0],
            "colour": ["purple", None, "red"],  # never seen in training; missing
            "fragile": [None, True, False],
            "weight": [10.0, 9.0, 11.0],
        }
    )
    probabilities = model.predict_frame(raw)
    assert probabilities.shape == (3, 2) and np.isfinite(probabilities).all()
    assert np.allclose(probabilities.sum(axis=1), 1.0, atol=1e-5)
    assert signature.labels == ["hold", "ship"]
    assert probabilities[0].argmax() == 1  # large size, not fragile: shipped
    report = json.loads((tmp_path / "model" / "training.json").read_text())
    assert report["task"] == "classification" and report["data_loading"] == mode
