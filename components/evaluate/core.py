"""Evaluate: scikit-learn metrics of a trained model on the held-out test split."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from freshet.components.fetch.core import DatasetSchema
from freshet.components.train.model import Predictor


@dataclass(frozen=True)
class Evaluation:
    """Test-split metrics.

    `confusion_matrix[i][j]` counts rows of true `labels[i]` predicted as `labels[j]`.
    """

    accuracy: float
    f1_macro: float
    log_loss: float
    test_rows: int
    labels: list[str]
    confusion_matrix: list[list[int]]
    per_class: dict[str, dict[str, float]]

    def scalars(self) -> dict[str, float]:
        """The headline metrics as a flat mapping."""
        return {"accuracy": self.accuracy, "f1_macro": self.f1_macro, "log_loss": self.log_loss}

    def to_json(self) -> str:
        """Serializes the evaluation as stable JSON."""
        return json.dumps(asdict(self), indent=2, sort_keys=True)

    @classmethod
    def from_json(cls, text: str) -> Evaluation:
        """Parses what `to_json` wrote."""
        data: dict[str, Any] = json.loads(text)
        return cls(**data)


def score(y_true: Any, probabilities: Any, labels: list[str]) -> Evaluation:
    """Computes the metrics from true class indices and predicted probabilities.

    Args:
        y_true: True class indices (into `labels`).
        probabilities: Array of shape (rows, len(labels)).
        labels: Class names in column order.

    Returns:
        The evaluation.
    """
    import numpy as np
    from sklearn import metrics

    classes = list(range(len(labels)))
    y_pred = np.asarray(probabilities).argmax(axis=1)
    precision, recall, f1, support = metrics.precision_recall_fscore_support(
        y_true, y_pred, labels=classes, zero_division=0
    )
    return Evaluation(
        accuracy=float(metrics.accuracy_score(y_true, y_pred)),
        f1_macro=float(
            metrics.f1_score(y_true, y_pred, labels=classes, average="macro", zero_division=0)
        ),
        log_loss=float(metrics.log_loss(y_true, probabilities, labels=classes)),
        test_rows=len(y_true),
        labels=labels,
        confusion_matrix=metrics.confusion_matrix(y_true, y_pred, labels=classes).tolist(),
        per_class={
            label: {"precision": float(p), "recall": float(r), "f1": float(f), "support": float(s)}
            for label, p, r, f, s in zip(labels, precision, recall, f1, support, strict=True)
        },
    )


def evaluate(dataset_dir: str | Path, model_dir: str | Path) -> Evaluation:
    """Scores a model directory on the test split of a dataset directory.

    Args:
        dataset_dir: A directory written by the fetch step.
        model_dir: A directory written by the train step.

    Returns:
        The evaluation.
    """
    import numpy as np
    import pandas as pd

    schema = DatasetSchema.load(dataset_dir)
    predictor = Predictor.load(model_dir)
    frame = pd.read_parquet(Path(dataset_dir) / "test.parquet")
    index = {label: i for i, label in enumerate(predictor.spec.labels)}
    y_true = frame[schema.label_column].map(lambda v: index[str(v)]).to_numpy()
    x = frame[predictor.spec.features].to_numpy(dtype=np.float32)
    return score(y_true, predictor.predict_proba(x), predictor.spec.labels)
