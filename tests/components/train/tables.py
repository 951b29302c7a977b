"""Datasets for the train tests, written in the fetch step's v2 layout by hand.

`write_dataset` splits a table, keeps its raw values in the Parquet splits and writes
`schema.json` as plain JSON (format 2: task, columns with kinds, labels), so these tests read
the dataset contract the way the train step does, without running fetch.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd


def kind_of(values: pd.Series) -> str:
    """The feature kind fetch gives a column: boolean, categorical (text) or numeric."""
    present = values.dropna()
    if pd.api.types.is_bool_dtype(values) or (
        len(present) and all(isinstance(v, bool | np.bool_) for v in present)
    ):
        return "boolean"
    if pd.api.types.is_numeric_dtype(values):
        return "numeric"
    return "categorical"


def write_dataset(
    out: Path,
    frame: pd.DataFrame,
    label_column: str,
    task: str,
    seed: int = 0,
    row_group_size: int | None = None,
) -> Path:
    """Shuffles and splits a table 70/15/15 and writes it as a v2 dataset directory."""
    shuffled = frame.sample(frac=1.0, random_state=seed).reset_index(drop=True)
    n = len(shuffled)
    cut_train, cut_val = int(n * 0.7), int(n * 0.85)
    splits = {
        "train": shuffled.iloc[:cut_train],
        "validation": shuffled.iloc[cut_train:cut_val],
        "test": shuffled.iloc[cut_val:],
    }
    out.mkdir(parents=True)
    for name, split in splits.items():
        split.to_parquet(out / f"{name}.parquet", index=False, row_group_size=row_group_size)
    features = [str(c) for c in frame.columns if c != label_column]
    labels = sorted({str(v) for v in frame[label_column]}) if task == "classification" else []
    schema = {
        "format_version": 2,
        "uri": f"test://{out.name}",
        "data_version": f"test-{out.name}-{seed}",
        "label_column": label_column,
        "task": task,
        "task_reason": f"the test says it is {task}",
        "features": features,
        "columns": [{"name": f, "kind": kind_of(frame[f])} for f in features],
        "labels": labels,
        "dropped": [],
        "rows": {name: len(split) for name, split in splits.items()},
    }
    (out / "schema.json").write_text(json.dumps(schema, indent=2))
    return out


def diabetes(out: Path, row_group_size: int | None = None) -> Path:
    """scikit-learn's diabetes table (442 rows, 10 numeric features): a regression."""
    from sklearn.datasets import load_diabetes

    frame = load_diabetes(as_frame=True, scaled=False).frame
    return write_dataset(out, frame, "target", "regression", row_group_size=row_group_size)


def digits(out: Path) -> Path:
    """scikit-learn's digits (1,797 rows of 8x8 pixels as 64 numeric features, 10 classes)."""
    from sklearn.datasets import load_digits

    frame = load_digits(as_frame=True).frame.rename(columns={"target": "digit"})
    return write_dataset(out, frame, "digit", "classification")


def mixed_frame(rows: int = 1500, seed: int = 4) -> pd.DataFrame:
    """Numeric columns with NaN, a boolean with None, text categories with None; label a rule."""
    rng = np.random.default_rng(seed)
    colour = rng.choice(["red", "green", "blue"], rows)
    size = rng.normal(0.0, 1.0, rows)
    weight = rng.normal(10.0, 3.0, rows)
    fragile = rng.random(rows) < 0.4
    score = 1.5 * size + 2.0 * (colour == "red") - 1.5 * fragile + 0.3 * (weight - 10.0)
    label = np.where(score > 0.3, "ship", "hold")
    size_missing = rng.random(rows) < 0.05
    colour_missing = rng.random(rows) < 0.08
    fragile_missing = rng.random(rows) < 0.05
    return pd.DataFrame(
        {
            "size": np.where(size_missing, np.nan, size),
            "colour": np.where(colour_missing, np.array(None), colour.astype(object)).tolist(),
            "fragile": np.where(fragile_missing, np.array(None), fragile.astype(object)).tolist(),
            "weight": weight.round(1),
            "status": label,
        }
    )


def mixed(out: Path, row_group_size: int | None = None) -> Path:
    """The mixed table as a classification dataset."""
    return write_dataset(
        out, mixed_frame(), "status", "classification", row_group_size=row_group_size
    )
