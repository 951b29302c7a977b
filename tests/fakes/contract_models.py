"""Contract models and v2 datasets for tests, built without the train steps.

A model here is a real contract model: the table's preprocessing (`TablePreprocessor`) and a
scikit-learn linear head, converted with skl2onnx and joined with `attach_head`, so tests of
evaluate, gate, package, verify and serving run real graphs on raw rows. The datasets are the
fetch step's layout (Parquet splits and a v2 `schema.json`) written directly.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from freshet.contract import Feature, Signature, write_model
from freshet.contract.compose import attach_head, keep_output
from freshet.contract.preprocess import TablePreprocessor


def kinds_of(frame: pd.DataFrame, label_column: str) -> list[Feature]:
    """The signature features of a table: bool -> boolean, numbers -> numeric, else categorical."""
    features = []
    for name in frame.columns:
        if name == label_column:
            continue
        values = frame[name]
        if pd.api.types.is_bool_dtype(values):
            kind = "boolean"
        elif pd.api.types.is_numeric_dtype(values):
            kind = "numeric"
        else:
            kind = "categorical"
        features.append(Feature(name=str(name), kind=kind))
    return features


def write_dataset(
    root: Path,
    frame: pd.DataFrame,
    task: str,
    label_column: str = "label",
    data_version: str = "test-v1",
    seed: int = 0,
) -> Path:
    """Writes `frame` as a fetched dataset (70/15/15 seeded split, v2 schema) under `root`."""
    root.mkdir(parents=True, exist_ok=True)
    order = np.random.default_rng(seed).permutation(len(frame))
    cut1, cut2 = int(0.7 * len(frame)), int(0.85 * len(frame))
    splits = {
        "train": frame.iloc[order[:cut1]],
        "validation": frame.iloc[order[cut1:cut2]],
        "test": frame.iloc[order[cut2:]],
    }
    for name, part in splits.items():
        part.reset_index(drop=True).to_parquet(root / f"{name}.parquet", index=False)
    features = kinds_of(frame, label_column)
    labels = sorted({str(v) for v in frame[label_column]}) if task == "classification" else []
    schema = {
        "format_version": 2,
        "uri": f"memory://{root.name}",
        "data_version": data_version,
        "label_column": label_column,
        "task": task,
        "task_reason": f"{task} given by the test",
        "features": [f.name for f in features],
        "columns": [{"name": f.name, "kind": f.kind} for f in features],
        "labels": labels,
        "dropped": [],
        "rows": {name: len(part) for name, part in splits.items()},
    }
    (root / "schema.json").write_text(json.dumps(schema, indent=2, sort_keys=True))
    return root


def train_linear(
    dataset_dir: Path, model_dir: Path, producer: str = "tests.linear", **head: Any
) -> Signature:
    """Fits logistic or ridge regression on a written dataset; writes a contract model."""
    from skl2onnx import convert_sklearn
    from skl2onnx.common.data_types import FloatTensorType
    from sklearn.linear_model import LogisticRegression, Ridge

    schema = json.loads((dataset_dir / "schema.json").read_text())
    features = [Feature(name=c["name"], kind=c["kind"]) for c in schema["columns"]]
    signature = Signature(
        task=schema["task"],
        features=features,
        label_column=schema["label_column"],
        labels=schema["labels"],
        framework="scikit-learn",
        producer=producer,
        data_version=schema["data_version"],
    )
    train = pd.read_parquet(dataset_dir / "train.parquet")
    pre = TablePreprocessor.fit(train, signature)
    x = pre.transform(train)
    y = train[signature.label_column]
    if signature.task == "classification":
        model = LogisticRegression(max_iter=500, **head).fit(x, y.astype(str))
        assert list(model.classes_) == signature.labels
        options = {id(model): {"zipmap": False}}
        output = "probabilities"
    else:
        model = Ridge(**head).fit(x, y.astype(float))
        options = {}
        output = "variable"
    onnx_head = convert_sklearn(
        model,
        initial_types=[("preprocessed", FloatTensorType([None, pre.width]))],
        options=options,
        target_opset={"": 17, "ai.onnx.ml": 3},
    )
    keep_output(onnx_head, output, signature.output_name)
    write_model(model_dir, attach_head(pre.to_onnx(), onnx_head, "preprocessed"), signature)
    return signature


def mixed_frame(rows: int = 400, seed: int = 0) -> pd.DataFrame:
    """A business-like table: numbers with gaps, a flag, categories with gaps, a yes/no label."""
    rng = np.random.default_rng(seed)
    income = rng.normal(50, 15, rows)
    age = rng.integers(18, 80, rows).astype(float)
    member = rng.integers(0, 2, rows).astype(bool)
    plan = rng.choice(["basic", "plus", "pro"], rows).astype(object)
    region = rng.choice(["north", "south", "east", "west"], rows).astype(object)
    score = 0.04 * (income - 50) + 1.2 * member + (plan == "pro") * 1.5 - (plan == "basic") * 1.0
    label = np.where(score + rng.normal(0, 0.5, rows) > 0.3, "yes", "no")
    frame = pd.DataFrame(
        {
            "income": income,
            "age": age,
            "member": member,
            "plan": plan,
            "region": region,
            "label": label,
        }
    )
    frame.loc[::11, "income"] = np.nan
    frame.loc[::13, "region"] = None
    return frame


def regression_frame(rows: int = 400, seed: int = 0) -> pd.DataFrame:
    """scikit-learn's diabetes data (first `rows` rows), target in `label`."""
    from sklearn.datasets import load_diabetes

    data = load_diabetes(as_frame=True)
    frame = data.frame.rename(columns={"target": "label"}).head(rows)
    return frame.sample(frac=1.0, random_state=seed).reset_index(drop=True)
