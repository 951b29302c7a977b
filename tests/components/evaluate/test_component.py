"""The evaluate component's function, called with kfp artifact objects (no kfp runner)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from kfp.dsl import Artifact, ClassificationMetrics, Dataset, Metrics, Model

from freshet.components.evaluate.component import evaluate
from freshet.components.evaluate.core import Evaluation
from tests.fakes.contract_models import (
    mixed_frame,
    regression_frame,
    train_linear,
    write_dataset,
)


def run(tmp_path: Path, data: Path, model: Path) -> tuple[float, Metrics, ClassificationMetrics]:
    metrics = Metrics(uri=str(tmp_path / "metrics"))
    classification = ClassificationMetrics(uri=str(tmp_path / "classification"))
    headline = evaluate(
        dataset=Dataset(uri=str(data)),
        model=Model(uri=str(model)),
        metrics=metrics,
        classification=classification,
        evaluation=Artifact(uri=str(tmp_path / "evaluation")),
    )
    return headline, metrics, classification


def test_classifier_logs_metrics_and_confusion_matrix(tmp_path: Path) -> None:
    data = write_dataset(tmp_path / "data", mixed_frame(300), "classification")
    train_linear(data, tmp_path / "model")

    headline, metrics, classification = run(tmp_path, data, tmp_path / "model")

    result = Evaluation.from_json((tmp_path / "evaluation").read_text())
    assert headline == result.metrics["accuracy"]
    assert metrics.metadata == {**result.metrics, "test_rows": 45}
    assert classification.metadata["confusionMatrix"]["rows"][0]["row"] == [
        float(v) for v in result.confusion_matrix[0]
    ]
    assert json.loads((tmp_path / "metrics").read_text()) == metrics.metadata


def test_regressor_returns_rmse_and_no_confusion_matrix(tmp_path: Path) -> None:
    data = write_dataset(tmp_path / "data", regression_frame(200), "regression")
    train_linear(data, tmp_path / "model")

    headline, metrics, classification = run(tmp_path, data, tmp_path / "model")

    assert headline == metrics.metadata["rmse"]
    assert set(metrics.metadata) == {"rmse", "mae", "r2", "test_rows"}
    assert classification.metadata == {}
    assert json.loads((tmp_path / "classification").read_text()) == {}  # kfp.local needs a file


def test_bad_input_is_one_line(tmp_path: Path) -> None:
    data = write_dataset(tmp_path / "data", mixed_frame(100), "classification")
    with pytest.raises(SystemExit, match="evaluate: The model directory '.*nowhere' does not"):
        run(tmp_path, data, tmp_path / "nowhere")
