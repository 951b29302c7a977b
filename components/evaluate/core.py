"""Evaluate: scikit-learn metrics of a contract model on the held-out test split.

The model is read only through its contract (`model.onnx` + `signature.json`) and run with
onnxruntime (`ContractModel`), so what is evaluated is exactly what is served, whatever
framework trained it. The test split is read in batches of rows, only the columns the model
needs and the label, so a split of millions of rows does not have to fit in memory as a table.

Classification: accuracy, f1_macro, log_loss, the confusion matrix and per-class figures;
labels compare as text (`str(value)`), and a test label the model does not know counts as a
wrong prediction (it gets a row of the confusion matrix, the model never predicts it).
Regression: rmse, mae and r2.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from freshet.errors import BadInput, DataError

if TYPE_CHECKING:
    import numpy as np
    import pandas as pd

    from freshet.contract.runtime import ContractModel

CLASSIFICATION_METRICS = ("accuracy", "f1_macro", "log_loss")
REGRESSION_METRICS = ("rmse", "mae", "r2")
HEADLINE = {"classification": "accuracy", "regression": "rmse"}
BATCH_ROWS = 131_072


@dataclass(frozen=True)
class Evaluation:
    """Test-split metrics of one model.

    `confusion_matrix[i][j]` counts rows of true `labels[i]` predicted as `labels[j]`
    (classification only). `labels` are the model's labels followed by `unknown_labels`: test
    labels the model does not know, each of whose rows counts as wrong.
    """

    task: str
    metrics: dict[str, float]
    test_rows: int
    labels: list[str] = field(default_factory=list)
    unknown_labels: list[str] = field(default_factory=list)
    confusion_matrix: list[list[int]] = field(default_factory=list)
    per_class: dict[str, dict[str, float]] = field(default_factory=dict)
    data_version: str = ""
    producer: str = ""
    framework: str = ""
    model_digest: str = ""  # of the scored model's contract files (registry.model_digest)

    @property
    def headline(self) -> str:
        """The task's headline metric: accuracy (classification) or rmse (regression)."""
        return HEADLINE[self.task]

    @property
    def model_labels(self) -> list[str]:
        """The labels the model predicts (classification), in its output order."""
        return [label for label in self.labels if label not in self.unknown_labels]

    def scalars(self) -> dict[str, float]:
        """The scalar metrics as a flat mapping (what the registry stores with a version)."""
        return dict(self.metrics)

    def to_json(self) -> str:
        """Serializes the evaluation as stable JSON."""
        return json.dumps(asdict(self), indent=2, sort_keys=True)

    @classmethod
    def from_json(cls, text: str) -> Evaluation:
        """Parses what `to_json` wrote.

        Raises:
            BadInput: The text is not an evaluation.
        """
        try:
            data: dict[str, Any] = json.loads(text)
            return cls(**data)
        except (ValueError, TypeError) as exc:
            raise BadInput(f"The evaluation is not valid: {exc}.") from None


def classification_metrics(
    y_true: np.ndarray, probabilities: np.ndarray, labels: list[str]
) -> tuple[dict[str, float], list[list[int]], dict[str, dict[str, float]]]:
    """Classification metrics from true label indices and predicted probabilities.

    Args:
        y_true: Index into `labels` of each row's true label.
        probabilities: Rows x model labels; `labels` may be longer (test labels the model
            does not know come last: it gives them no probability and never predicts them).
        labels: Label names.

    Returns:
        The scalar metrics, the confusion matrix and per-class precision, recall, f1, support.
    """
    import numpy as np
    from sklearn import metrics

    classes = list(range(len(labels)))
    known = probabilities.shape[1]
    y_pred = probabilities.argmax(axis=1) if len(probabilities) else np.empty(0, dtype=int)
    if known < len(labels):
        pad = np.zeros((len(probabilities), len(labels) - known), dtype=probabilities.dtype)
        probabilities = np.hstack([probabilities, pad])
    matrix = metrics.confusion_matrix(y_true, y_pred, labels=classes)
    precision, recall, f1, support = metrics.precision_recall_fscore_support(
        y_true, y_pred, labels=classes, zero_division=0
    )
    scalars = {
        "accuracy": float(metrics.accuracy_score(y_true, y_pred)),
        "f1_macro": float(
            metrics.f1_score(y_true, y_pred, labels=classes, average="macro", zero_division=0)
        ),
        "log_loss": float(metrics.log_loss(y_true, probabilities, labels=classes)),
    }
    per_class = {
        label: {"precision": float(p), "recall": float(r), "f1": float(f), "support": float(s)}
        for label, p, r, f, s in zip(labels, precision, recall, f1, support, strict=True)
    }
    return scalars, matrix.tolist(), per_class


def regression_metrics(y_true: np.ndarray, predicted: np.ndarray) -> dict[str, float]:
    """rmse, mae and r2 of predicted values against true values."""
    from sklearn import metrics

    return {
        "rmse": float(metrics.root_mean_squared_error(y_true, predicted)),
        "mae": float(metrics.mean_absolute_error(y_true, predicted)),
        "r2": float(metrics.r2_score(y_true, predicted)),
    }


class _LabelIndex:
    """Label text -> index: the model's labels first, unknown test labels appended as seen."""

    def __init__(self, labels: list[str]) -> None:
        self.names = list(labels)
        self.known = len(labels)
        self.index = {name: i for i, name in enumerate(labels)}

    def encode(self, values: pd.Series) -> np.ndarray:
        import numpy as np
        import pandas as pd

        # Text of each distinct value once, not of each row: a million rows hold few labels.
        codes, uniques = pd.factorize(values, use_na_sentinel=False)
        lookup = np.array([self._index(str(value)) for value in uniques], dtype=np.int64)
        return lookup[codes] if len(lookup) else np.empty(0, dtype=np.int64)

    def _index(self, name: str) -> int:
        if name not in self.index:
            self.index[name] = len(self.names)
            self.names.append(name)
        return self.index[name]

    def sorted_unknown(self, y_true: np.ndarray) -> tuple[np.ndarray, list[str]]:
        """Renumbers the unknown labels in sorted order; returns (y_true, label names)."""
        import numpy as np

        unknown = sorted(self.names[self.known :])
        order = self.names[: self.known] + unknown
        remap = np.array([order.index(name) for name in self.names], dtype=np.int64)
        return (remap[y_true] if len(y_true) else y_true), order


def read_test_split(
    dataset_dir: str | Path, columns: list[str], batch_rows: int = BATCH_ROWS
) -> Iterator[pd.DataFrame]:
    """The test split's `columns`, as tables of at most `batch_rows` rows.

    Raises:
        DataError: The split is missing or lacks one of the columns.
    """
    import pyarrow.parquet as pq

    path = Path(dataset_dir) / "test.parquet"
    if not path.is_file():
        raise DataError(f"'{dataset_dir}' does not hold a test split: 'test.parquet' is missing.")
    with pq.ParquetFile(path) as handle:
        present = set(handle.schema_arrow.names)
        missing = [name for name in columns if name not in present]
        if missing:
            raise DataError(
                f"The test split '{path}' has no column '{missing[0]}', which the model needs."
            )
        for batch in handle.iter_batches(batch_size=batch_rows, columns=columns):
            yield batch.to_pandas()


def _check_fits(model: ContractModel, task: str, label_column: str, dataset_dir: Path) -> None:
    signature = model.signature
    if signature.task != task:
        raise BadInput(
            f"The model '{model.path.parent}' is a {signature.task} model, but the dataset "
            f"'{dataset_dir}' is for {task}."
        )
    if signature.label_column != label_column:
        raise BadInput(
            f"The model '{model.path.parent}' predicts '{signature.label_column}', but the "
            f"label of the dataset '{dataset_dir}' is '{label_column}'."
        )


def score(
    model_dir: str | Path, dataset_dir: str | Path, batch_rows: int = BATCH_ROWS
) -> Evaluation:
    """Scores a contract model on the test split of a dataset directory.

    The gate calls this for the champion too, so both are scored on the same rows.

    Args:
        model_dir: A Model artifact directory (`model.onnx` + `signature.json`).
        dataset_dir: A directory written by the fetch step.
        batch_rows: Rows read and predicted at a time.

    Returns:
        The evaluation.

    Raises:
        BadInput: The model is not a contract model, or does not fit the dataset (another task
            or label column, a feature the test split lacks); the test split is empty; a
            regression label is missing or not a number.
    """
    import numpy as np

    from freshet.components.fetch.core import DatasetSchema
    from freshet.contract.runtime import ContractModel, frame_feeds
    from freshet.registry.base import model_digest

    schema = DatasetSchema.load(dataset_dir)
    model = ContractModel.load(model_dir)
    signature = model.signature
    _check_fits(model, schema.task, schema.label_column, Path(dataset_dir))
    label = schema.label_column
    columns = [*signature.feature_names, *([label] if label not in signature.feature_names else [])]
    index = _LabelIndex(signature.labels)
    truths: list[np.ndarray] = []
    predictions: list[np.ndarray] = []
    for frame in read_test_split(dataset_dir, columns, batch_rows):
        predictions.append(model.run(frame_feeds(frame, signature)))
        if signature.task == "classification":
            truths.append(index.encode(frame[label]))
        else:
            truths.append(_numeric_labels(frame[label], label, Path(dataset_dir)))
    if not truths or sum(len(t) for t in truths) == 0:
        raise DataError(f"The test split of '{dataset_dir}' has no rows.")
    predicted, y_true = np.concatenate(predictions), np.concatenate(truths)
    if signature.task == "regression":
        return Evaluation(
            task=signature.task,
            metrics=regression_metrics(y_true, predicted),
            test_rows=len(y_true),
            data_version=schema.data_version,
            producer=signature.producer,
            framework=signature.framework,
            model_digest=model_digest(model_dir),
        )
    y_true, labels = index.sorted_unknown(y_true)
    scalars, matrix, per_class = classification_metrics(y_true, predicted, labels)
    return Evaluation(
        task=signature.task,
        metrics=scalars,
        test_rows=len(y_true),
        labels=labels,
        unknown_labels=labels[len(signature.labels) :],
        confusion_matrix=matrix,
        per_class=per_class,
        data_version=schema.data_version,
        producer=signature.producer,
        framework=signature.framework,
        model_digest=model_digest(model_dir),
    )


def _numeric_labels(values: pd.Series, label: str, dataset_dir: Path) -> np.ndarray:
    import numpy as np
    import pandas as pd

    numbers: np.ndarray = pd.to_numeric(values, errors="coerce").to_numpy(
        dtype=np.float64, na_value=np.nan
    )
    bad = np.isnan(numbers)
    if bad.any():
        example = values[bad].iloc[0]
        raise DataError(
            f"The label '{label}' in the test split of '{dataset_dir}' has a value that is "
            f"not a number ({example!r}); a regression label must be a number on every row."
        )
    return numbers
