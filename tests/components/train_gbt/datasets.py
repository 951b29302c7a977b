"""Dataset artifacts (v2 layout, written through fetch's DatasetSchema) for the train_gbt tests."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from freshet.components.fetch.core import DatasetSchema


def write_dataset(
    out: Path,
    frame: pd.DataFrame,
    *,
    task: str,
    kinds: dict[str, str] | None = None,
    labels: list[str] | None = None,
    label_column: str = "label",
    splits: dict[str, pd.DataFrame] | None = None,
    seed: int = 0,
) -> Path:
    """Writes `frame` as a dataset directory: 70/15/15 splits (or `splits`) and schema.json."""
    features = [str(c) for c in frame.columns if c != label_column]
    kinds = kinds or {}
    if splits is None:
        order = np.random.default_rng(seed).permutation(len(frame))
        cut1, cut2 = int(len(frame) * 0.7), int(len(frame) * 0.85)
        parts = {"train": order[:cut1], "validation": order[cut1:cut2], "test": order[cut2:]}
        splits = {name: frame.iloc[rows] for name, rows in parts.items()}
    if labels is None:
        labels = (
            [str(v) for v in sorted(frame[label_column].unique())]
            if task == "classification"
            else []
        )
    schema = DatasetSchema(
        uri=f"test://{out.name}",
        data_version=f"test-{out.name}",
        label_column=label_column,
        task=task,
        task_reason="the test says so",
        features=features,
        columns=[{"name": f, "kind": kinds.get(f, "numeric")} for f in features],
        labels=labels,
        rows={name: len(part) for name, part in splits.items()},
    )
    out.mkdir(parents=True)
    for name, part in splits.items():
        part.reset_index(drop=True).to_parquet(out / f"{name}.parquet", index=False)
    (out / "schema.json").write_text(schema.to_json())
    return out


def digits_frame() -> pd.DataFrame:
    from sklearn.datasets import load_digits

    bunch = load_digits()
    frame = pd.DataFrame(bunch.data, columns=[f"p{i}" for i in range(bunch.data.shape[1])])
    frame["label"] = bunch.target
    return frame


def diabetes_frame() -> pd.DataFrame:
    from sklearn.datasets import load_diabetes

    bunch = load_diabetes()
    frame = pd.DataFrame(bunch.data, columns=list(bunch.feature_names))
    frame["target"] = bunch.target.astype(float)
    return frame


def mixed_frame(rows: int = 400, seed: int = 0) -> pd.DataFrame:
    """Numeric with NaN, boolean, strings with None; the label follows from all three."""
    rng = np.random.default_rng(seed)
    size = rng.normal(size=rows)
    flag = rng.random(rows) < 0.5
    colour = rng.choice(["red", "green", "blue"], size=rows)
    score = size + np.where(flag, 1.0, -1.0) + np.where(colour == "red", 1.5, -0.5)
    label = np.where(score > 0, "yes", "no")
    column: list[Any] = list(colour)
    size_with_gaps = size.copy()
    for i in range(0, rows, 7):
        size_with_gaps[i] = np.nan
    for i in range(3, rows, 11):
        column[i] = None
    return pd.DataFrame({"size": size_with_gaps, "flag": flag, "colour": column, "label": label})
