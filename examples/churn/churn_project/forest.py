"""The project's own trainer: a random forest on freshet's preprocessing, as a model contract.

Plain Python (no kfp): a test or a notebook calls `train_forest` directly; `pipeline.py`
wraps it as a component. freshet's evaluate, gate, package, verify and register read only the
contract this writes (`model.onnx` + `signature.json`), so they need nothing from this file.
"""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
from skl2onnx import convert_sklearn
from skl2onnx.common.data_types import FloatTensorType
from sklearn import __version__ as sklearn_version
from sklearn.ensemble import RandomForestClassifier

from freshet.components.fetch.core import DatasetSchema
from freshet.contract import Signature, write_model
from freshet.contract.compose import attach_head, keep_output
from freshet.contract.preprocess import TablePreprocessor


def train_forest(dataset_dir: str, model_dir: str, trees: int = 100, seed: int = 0) -> float:
    """Trains the forest on the train split; writes the contract; returns validation accuracy."""
    schema = DatasetSchema.load(dataset_dir)
    if schema.task != "classification":
        raise ValueError(f"the forest trainer classifies; this dataset is {schema.task}")
    signature = Signature(
        task="classification",
        features=schema.signature_features(),
        label_column=schema.label_column,
        labels=schema.labels,
        framework=f"scikit-learn {sklearn_version}",
        producer="churn_project.forest",
        data_version=schema.data_version,
    )
    train = pd.read_parquet(Path(dataset_dir) / "train.parquet")
    validation = pd.read_parquet(Path(dataset_dir) / "validation.parquet")
    pre = TablePreprocessor.fit(train, signature)
    forest = RandomForestClassifier(n_estimators=trees, max_depth=8, random_state=seed)
    forest.fit(pre.transform(train), train[schema.label_column].astype(str))
    accuracy = float(
        forest.score(pre.transform(validation), validation[schema.label_column].astype(str))
    )
    head = convert_sklearn(
        forest,
        initial_types=[("preprocessed", FloatTensorType([None, pre.width]))],
        options={id(forest): {"zipmap": False}},
        target_opset={"": 17, "ai.onnx.ml": 3},
    )
    keep_output(head, "probabilities")  # the contract's output; drop skl2onnx's label output
    write_model(model_dir, attach_head(pre.to_onnx(), head, "preprocessed"), signature)
    (Path(model_dir) / "training.json").write_text(
        json.dumps({"trees": trees, "seed": seed, "validation_accuracy": accuracy})
    )
    return accuracy
