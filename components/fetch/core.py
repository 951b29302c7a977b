"""Fetch: read a dataset, check it is fit for training, split it deterministically.

The dataset directory written by `fetch` holds `train.parquet`, `validation.parquet`,
`test.parquet` and `schema.json` (feature names, label column, labels, data version).
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from freshet.atomic import replaced_directory
from freshet.components.fetch.sources import StorageClient, data_version, load_table
from freshet.errors import DataError

if TYPE_CHECKING:
    import pandas as pd

SPLITS = ("train", "validation", "test")
MIN_ROWS = 10


@dataclass(frozen=True)
class FetchConfig:
    """What to fetch and how to split it."""

    uri: str = "sample://digits"
    label_column: str = "label"
    validation_fraction: float = 0.15
    test_fraction: float = 0.15
    seed: int = 0


@dataclass(frozen=True)
class DatasetSchema:
    """What a fetched dataset holds; stored as `schema.json` beside the splits."""

    uri: str
    data_version: str
    label_column: str
    features: list[str]
    labels: list[str]
    rows: dict[str, int] = field(default_factory=dict)

    def to_json(self) -> str:
        """Serializes the schema as stable JSON."""
        return json.dumps(asdict(self), indent=2, sort_keys=True)

    @classmethod
    def load(cls, dataset_dir: str | Path) -> DatasetSchema:
        """Reads `schema.json` from a dataset directory."""
        data: dict[str, Any] = json.loads((Path(dataset_dir) / "schema.json").read_text())
        return cls(**data)


def validate_table(frame: pd.DataFrame, label_column: str, uri: str) -> tuple[list[str], list[str]]:
    """Checks that a table can train a classifier.

    Args:
        frame: The whole dataset.
        label_column: Name of the target column.
        uri: The dataset URI, for error messages.

    Returns:
        The feature column names and the sorted label names.

    Raises:
        DataError: With one sentence naming the problem and the offending value.
    """
    import pandas as pd

    if frame.empty or len(frame) == 0:
        raise DataError(f"The dataset at '{uri}' has no rows.")
    if label_column not in frame.columns:
        shown = ", ".join(map(str, list(frame.columns)[:10]))
        raise DataError(
            f"Label column '{label_column}' not found in '{uri}'; its columns are: {shown}."
        )
    features = [str(c) for c in frame.columns if c != label_column]
    if not features:
        raise DataError(f"The dataset at '{uri}' has no feature columns besides '{label_column}'.")
    for column in features:
        values = frame[column]
        if not pd.api.types.is_numeric_dtype(values) or pd.api.types.is_bool_dtype(values):
            example = next((v for v in values if not isinstance(v, int | float)), values.iloc[0])
            raise DataError(
                f"Feature column '{column}' in '{uri}' is not numeric (for example {example!r})."
            )
        if values.isna().any():
            raise DataError(f"Feature column '{column}' in '{uri}' has missing values.")
    labels = frame[label_column]
    if labels.isna().any():
        raise DataError(f"Label column '{label_column}' in '{uri}' has missing values.")
    classes = sorted(labels.unique().tolist(), key=lambda v: (str(type(v)), v))
    if len(classes) < 2:
        raise DataError(
            f"Label column '{label_column}' in '{uri}' has a single class ({classes[0]!r}); "
            "a classifier needs at least two."
        )
    if len(frame) < MIN_ROWS:
        raise DataError(
            f"The dataset at '{uri}' has {len(frame)} rows; at least {MIN_ROWS} are needed."
        )
    return features, [str(c) for c in classes]


def split_table(frame: pd.DataFrame, config: FetchConfig) -> dict[str, pd.DataFrame]:
    """Splits a table into train/validation/test, stratified when every class allows it.

    The split depends only on the rows and the seed, so the same data always splits the same.
    """
    from sklearn.model_selection import train_test_split

    counts = frame[config.label_column].value_counts()
    holdout = config.validation_fraction + config.test_fraction
    stratify = frame[config.label_column] if counts.min() >= 4 else None
    train, rest = train_test_split(
        frame, test_size=holdout, random_state=config.seed, stratify=stratify
    )
    rest_stratify = rest[config.label_column] if stratify is not None else None
    if rest_stratify is not None and rest_stratify.value_counts().min() < 2:
        rest_stratify = None
    validation, test = train_test_split(
        rest,
        test_size=config.test_fraction / holdout,
        random_state=config.seed,
        stratify=rest_stratify,
    )
    return {"train": train, "validation": validation, "test": test}


def check_config(config: FetchConfig) -> None:
    """Rejects split fractions that leave no room for training."""
    for name in ("validation_fraction", "test_fraction"):
        value = getattr(config, name)
        if not 0.0 < value < 1.0:
            raise DataError(f"{name} must be between 0 and 1 (exclusive): {value}.")
    if config.validation_fraction + config.test_fraction >= 0.9:
        raise DataError(
            "validation_fraction + test_fraction must leave at least 10 % for training: "
            f"{config.validation_fraction + config.test_fraction}."
        )


def inspect(config: FetchConfig, client: StorageClient | None = None) -> DatasetSchema:
    """Reads and validates a dataset without writing anything (the CLI's preflight).

    Args:
        config: What to fetch.
        client: Storage client for gs:// URIs.

    Returns:
        The schema the fetched dataset would have (without row counts per split).
    """
    check_config(config)
    version = data_version(config.uri, client)
    frame = load_table(config.uri, client)
    features, labels = validate_table(frame, config.label_column, config.uri)
    return DatasetSchema(
        uri=config.uri,
        data_version=version,
        label_column=config.label_column,
        features=features,
        labels=labels,
        rows={"total": len(frame)},
    )


def fetch(
    config: FetchConfig, out_dir: str | Path, client: StorageClient | None = None
) -> DatasetSchema:
    """Fetches, validates and splits a dataset into `out_dir`.

    The directory appears whole or not at all: splits are written to a temporary sibling
    and renamed into place.

    Args:
        config: What to fetch and how to split it.
        out_dir: Directory to create (the KFP Dataset artifact path).
        client: Storage client for gs:// URIs.

    Returns:
        The schema of the written dataset.
    """
    check_config(config)
    version = data_version(config.uri, client)
    frame = load_table(config.uri, client)
    features, labels = validate_table(frame, config.label_column, config.uri)
    splits = split_table(frame, config)
    schema = DatasetSchema(
        uri=config.uri,
        data_version=version,
        label_column=config.label_column,
        features=features,
        labels=labels,
        rows={name: len(part) for name, part in splits.items()},
    )
    with replaced_directory(out_dir, prefix=".fetch-") as staging:
        for name, part in splits.items():
            part.reset_index(drop=True).to_parquet(staging / f"{name}.parquet", index=False)
        (staging / "schema.json").write_text(schema.to_json())
    return schema
