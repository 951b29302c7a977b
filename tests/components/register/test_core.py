from __future__ import annotations

from pathlib import Path

import pytest

from freshet.components.evaluate.core import score
from freshet.components.register.core import register
from freshet.errors import BadInput
from freshet.registry import open_registry
from tests.fakes.contract_models import mixed_frame, regression_frame, train_linear, write_dataset


def test_register_stores_the_evaluation_metrics_and_moves_the_champion(tmp_path: Path) -> None:
    data = write_dataset(tmp_path / "data", mixed_frame(200), "classification")
    train_linear(data, tmp_path / "model")
    result = score(tmp_path / "model", data)
    registry = str(tmp_path / "reg")

    version = register(registry, "clf", tmp_path / "model", result, "sha256-x", "run-1")

    assert version.version == 1 and version.data_version == "sha256-x"
    assert version.metrics == result.metrics
    assert set(version.metrics) == {"accuracy", "f1_macro", "log_loss"}
    assert open_registry(registry).champion("clf") == version


def test_register_a_regression_model(tmp_path: Path) -> None:
    data = write_dataset(tmp_path / "data", regression_frame(200), "regression")
    train_linear(data, tmp_path / "model")
    result = score(tmp_path / "model", data)

    version = register(str(tmp_path / "reg"), "reg", tmp_path / "model", result, "v1", "run-1")

    assert set(version.metrics) == {"rmse", "mae", "r2"}


def test_a_directory_that_is_not_a_contract_model_is_refused(tmp_path: Path) -> None:
    data = write_dataset(tmp_path / "data", mixed_frame(200), "classification")
    train_linear(data, tmp_path / "model")
    result = score(tmp_path / "model", data)
    (tmp_path / "model" / "model.onnx").write_bytes(b"not onnx")
    with pytest.raises(BadInput, match="is not a valid ONNX file"):
        register(str(tmp_path / "reg"), "clf", tmp_path / "model", result, "v1", "run-1")
    assert open_registry(str(tmp_path / "reg")).versions("clf") == []
