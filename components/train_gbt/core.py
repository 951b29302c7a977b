"""Train_gbt: gradient-boosted trees with scikit-learn, delivered as the same contract model.

The second trainer shows that any framework exporting ONNX can train: `TablePreprocessor`
is fitted on the train split and exported to ONNX; a `HistGradientBoostingClassifier` or
`HistGradientBoostingRegressor` (by the dataset's task) learns from the matrix that very
graph computes (trees split on exact float32 values, so training sees what serving feeds),
stopping early on the validation split; skl2onnx turns it into the head of the graph. Before
anything is written where a reader can see it, the whole ONNX model is run on up to
`CHECK_ROWS` raw validation rows and compared with scikit-learn's own predictions.

The model directory holds `model.onnx`, `signature.json` and `training.json` (the config,
the validation score, the boosting iterations, the seconds it took).
"""

from __future__ import annotations

import json
import math
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from freshet.atomic import replaced_directory
from freshet.components.fetch.core import DatasetSchema
from freshet.contract import Signature, Task, write_model
from freshet.errors import BadInput, DataError

if TYPE_CHECKING:
    import numpy as np
    import pandas as pd

PRODUCER = "freshet.train_gbt"
TRAINING_FILE = "training.json"
CHECK_ROWS = 1000
BATCH_ROWS = 262_144
# Largest difference allowed between the ONNX model and scikit-learn: absolute for
# probabilities, relative (to max(1, |value|)) for regression values.
TOLERANCE = 1e-4


@dataclass(frozen=True)
class GbtConfig:
    """How to boost: seed, number of trees, shrinkage and tree size."""

    seed: int = 0
    max_iter: int = 200
    learning_rate: float = 0.1
    max_leaf_nodes: int = 31

    def check(self) -> None:
        """Rejects values the booster cannot use.

        Raises:
            BadInput: One sentence naming the value.
        """
        if self.seed < 0:
            raise BadInput(f"seed must be 0 or more: {self.seed}.")
        if self.max_iter < 1:
            raise BadInput(f"max_iter must be a positive number of trees: {self.max_iter}.")
        if not (math.isfinite(self.learning_rate) and self.learning_rate > 0):
            raise BadInput(f"learning_rate must be a positive number: {self.learning_rate}.")
        if self.max_leaf_nodes < 2:
            raise BadInput(f"max_leaf_nodes must be 2 or more: {self.max_leaf_nodes}.")


@dataclass(frozen=True)
class GbtResult:
    """What training produced, as `training.json` records it."""

    task: Task
    validation_metric: str  # "accuracy" (classification) or "r2" (regression)
    validation_score: float | None  # None when the validation split cannot score
    n_iter: int
    seconds: float
    max_abs_diff: float  # ONNX model against scikit-learn, on the checked rows
    checked_rows: int
    framework: str


def _read_split(dataset_dir: Path, name: str, signature: Signature) -> pd.DataFrame:
    import pandas as pd

    path = dataset_dir / f"{name}.parquet"
    if not path.is_file():
        raise DataError(f"'{dataset_dir}' is not a dataset: '{path.name}' is missing.")
    frame = pd.read_parquet(path)
    if signature.label_column not in frame.columns:
        raise DataError(f"The {name} split has no label column '{signature.label_column}'.")
    return frame


def _targets(frame: pd.DataFrame, signature: Signature, split: str) -> np.ndarray:
    """Label indices (classification) or float values (regression) of a split."""
    import numpy as np
    import pandas as pd

    raw = frame[signature.label_column]
    if signature.task == "regression":
        numbers = pd.to_numeric(raw, errors="coerce")
        values: np.ndarray = numbers.to_numpy(dtype=np.float64, na_value=np.nan)
        bad = ~np.isfinite(values)
        if bad.any():
            example = raw.iloc[int(np.argmax(bad))]
            raise DataError(
                f"The {split} split has a label that is not a number: {example!r} in column "
                f"'{signature.label_column}'."
            )
        return values
    index = {label: i for i, label in enumerate(signature.labels)}
    text = raw.map(str)
    unknown = text[~text.isin(index)]
    if len(unknown):
        raise DataError(
            f"The {split} split has label {unknown.iloc[0]!r}, which is not among the dataset's "
            f"labels {signature.labels}."
        )
    indices: np.ndarray = text.map(index).to_numpy(dtype=np.int64)
    return indices


def _session(model: Any) -> Any:
    import onnxruntime as ort  # type: ignore[import-untyped]

    options = ort.SessionOptions()
    options.intra_op_num_threads = 1
    options.log_severity_level = 3
    return ort.InferenceSession(
        model.SerializeToString(), sess_options=options, providers=["CPUExecutionProvider"]
    )


def _preprocess(session: Any, frame: pd.DataFrame, signature: Signature) -> np.ndarray:
    """The preprocessed float32 matrix of a table, computed by the preprocessing graph."""
    import numpy as np

    from freshet.contract.runtime import frame_feeds

    width = session.get_outputs()[0].shape[-1]
    parts = [
        session.run(None, frame_feeds(frame.iloc[start : start + BATCH_ROWS], signature))[0]
        for start in range(0, len(frame), BATCH_ROWS)
    ]
    return np.concatenate(parts) if parts else np.empty((0, width), dtype=np.float32)


def _fit(
    x: np.ndarray,
    y: np.ndarray,
    x_val: np.ndarray,
    y_val: np.ndarray,
    task: Task,
    config: GbtConfig,
) -> Any:
    import numpy as np
    from sklearn.ensemble import HistGradientBoostingClassifier, HistGradientBoostingRegressor

    classify = task == "classification"
    booster_type = HistGradientBoostingClassifier if classify else HistGradientBoostingRegressor
    if classify:
        # sklearn refuses validation labels the train split lacks; they cannot stop early.
        known = np.isin(y_val, np.unique(y))
        x_val, y_val = x_val[known], y_val[known]
    early = len(y_val) > 0
    booster = booster_type(
        max_iter=config.max_iter,
        learning_rate=config.learning_rate,
        max_leaf_nodes=config.max_leaf_nodes,
        early_stopping=early,
        random_state=config.seed,
    )
    if early:
        return booster.fit(x, y, X_val=x_val, y_val=y_val)
    return booster.fit(x, y)


def _score(booster: Any, x: np.ndarray, y: np.ndarray, task: Task) -> float | None:
    from sklearn.metrics import r2_score

    if task == "classification":
        return float((booster.predict(x) == y).mean()) if len(y) else None
    return float(r2_score(y, booster.predict(x))) if len(y) >= 2 else None


def _expected(booster: Any, x: np.ndarray, task: Task, n_labels: int) -> np.ndarray:
    """scikit-learn's predictions in the contract's shape (all label columns)."""
    import numpy as np

    if task == "regression":
        return np.asarray(booster.predict(x), dtype=np.float64)
    full = np.zeros((len(x), n_labels))
    full[:, booster.classes_.astype(int)] = booster.predict_proba(x)
    return full


def check_onnx(
    model_dir: Path, rows: pd.DataFrame, expected: np.ndarray, task: Task
) -> tuple[float, int]:
    """Runs the written model on `rows` and compares it with scikit-learn's predictions.

    Args:
        model_dir: A contract model directory.
        rows: Raw table rows (feature columns as the dataset holds them).
        expected: scikit-learn's probabilities (rows x labels) or values (rows,).
        task: The model's task: probabilities compare absolutely, values relatively.

    Returns:
        The largest absolute difference and the number of rows compared.

    Raises:
        BadInput: The ONNX model disagrees with scikit-learn beyond `TOLERANCE`.
    """
    import numpy as np

    from freshet.contract.runtime import ContractModel

    got = ContractModel.load(model_dir, threads=1).predict_frame(rows).astype(np.float64)
    diff = np.abs(got - expected)
    if task == "regression":
        allowed = TOLERANCE * np.maximum(1.0, np.abs(expected))
        worst = float(diff.max(initial=0.0))
        bad = diff > allowed
    else:
        worst = float(diff.max(initial=0.0))
        bad = diff > TOLERANCE
    if bad.any():
        row = int(np.argwhere(bad)[0][0])
        raise BadInput(
            f"The ONNX conversion of the boosted trees disagrees with scikit-learn by {worst:.3g} "
            f"(row {row} of the checked rows); the model was not written."
        )
    return worst, len(rows)


def train_gbt(dataset_dir: str | Path, model_dir: str | Path, config: GbtConfig) -> GbtResult:
    """Trains gradient-boosted trees and writes a contract model directory.

    Args:
        dataset_dir: A fetched dataset (train/validation/test Parquet splits + `schema.json`).
        model_dir: The Model artifact directory to create or replace (appears whole).
        config: Seed and boosting settings.

    Returns:
        The validation score, iterations, time and the ONNX check's largest difference.

    Raises:
        BadInput: A bad config value, an unusable dataset, or an ONNX model that disagrees
            with scikit-learn (nothing is written then).
    """
    import sklearn

    from freshet.components.train_gbt.export import classifier_head, regressor_head
    from freshet.contract.compose import attach_head
    from freshet.contract.preprocess import PREPROCESSED, TablePreprocessor

    config.check()
    root = Path(dataset_dir)
    schema = DatasetSchema.load(root)
    framework = f"scikit-learn {sklearn.__version__}"
    try:
        signature = schema.signature(framework=framework, producer=PRODUCER)
    except ValueError as exc:  # pydantic's ValidationError: a schema no model can serve
        raise DataError(
            f"The dataset '{dataset_dir}' cannot make a model signature: {exc}"
        ) from None
    train = _read_split(root, "train", signature)
    validation = _read_split(root, "validation", signature)
    if train.empty:
        raise DataError(f"The train split of '{dataset_dir}' has no rows.")
    y = _targets(train, signature, "train")
    y_val = _targets(validation, signature, "validation")
    if signature.task == "classification" and len(set(y.tolist())) < 2:
        raise DataError(
            f"The train split of '{dataset_dir}' has a single class "
            f"({signature.labels[int(y[0])]!r}); a classifier needs at least two."
        )

    started = time.perf_counter()
    preprocessor = TablePreprocessor.fit(train, signature)
    preprocessing = preprocessor.to_onnx()
    # The trees learn from the graph's own preprocessing: sklearn's float64 scaling can differ
    # from the graph's float32 by one ulp, enough to send a row across a split.
    session = _session(preprocessing)
    x = _preprocess(session, train, signature)
    x_val = _preprocess(session, validation, signature)
    booster = _fit(x, y, x_val, y_val, signature.task, config)
    seconds = time.perf_counter() - started

    if signature.task == "classification":
        head = classifier_head(booster, preprocessor.width, len(signature.labels))
    else:
        head = regressor_head(booster, preprocessor.width)
    model = attach_head(preprocessing, head, PREPROCESSED)
    # skl2onnx names graphs after random UUIDs (and merging quotes them): fixed texts keep
    # the bytes reproducible.
    model.graph.name = "freshet_train_gbt"
    model.graph.doc_string = "Preprocessing (freshet.contract) into boosted trees (skl2onnx)."
    check_rows = (validation if len(validation) else train).head(CHECK_ROWS)
    checked_x = x_val[:CHECK_ROWS] if len(validation) else x[:CHECK_ROWS]
    expected = _expected(booster, checked_x, signature.task, len(signature.labels))
    with replaced_directory(model_dir, prefix=".train_gbt-") as staging:
        write_model(staging, model, signature)
        worst, checked = check_onnx(staging, check_rows, expected, signature.task)
        result = GbtResult(
            task=signature.task,
            validation_metric="accuracy" if signature.task == "classification" else "r2",
            validation_score=_score(booster, x_val, y_val, signature.task),
            n_iter=int(booster.n_iter_),
            seconds=round(seconds, 3),
            max_abs_diff=worst,
            checked_rows=checked,
            framework=framework,
        )
        record = {"config": asdict(config), **asdict(result)}
        (staging / TRAINING_FILE).write_text(json.dumps(record, indent=2, sort_keys=True))
    return result
