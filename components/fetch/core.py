"""Fetch: read a dataset, check it is fit for training, split it deterministically.

The dataset directory written by `fetch` holds `train.parquet`, `validation.parquet`,
`test.parquet` (feature columns and the label, raw) and `schema.json` (`DatasetSchema`: the
task, the features and their kinds, the labels, the dropped columns, the data version).
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from freshet.atomic import replaced_directory
from freshet.components.fetch.sources import StorageClient, data_version, load_table
from freshet.components.fetch.table import MIN_ROWS, check_task, stored_table, validate_table
from freshet.contract.signature import Feature, Signature
from freshet.errors import DataError

if TYPE_CHECKING:
    import pandas as pd

__all__ = [
    "MIN_ROWS",
    "SPLITS",
    "DatasetSchema",
    "FetchConfig",
    "InspectedTable",
    "check_config",
    "fetch",
    "inspect",
    "inspect_table",
    "split_table",
    "validate_table",
]

SPLITS = ("train", "validation", "test")
FORMAT_VERSION = 2


@dataclass(frozen=True)
class FetchConfig:
    """What to fetch, which task to train for, and how to split it."""

    uri: str = "sample://digits"
    label_column: str = "label"
    task: str = "auto"  # "auto", "classification" or "regression"
    validation_fraction: float = 0.15
    test_fraction: float = 0.15
    seed: int = 0


@dataclass(frozen=True, kw_only=True)
class DatasetSchema:
    """What a fetched dataset holds; stored as `schema.json` beside the splits."""

    format_version: int = FORMAT_VERSION
    uri: str
    data_version: str
    label_column: str
    task: str  # "classification" or "regression"
    task_reason: str  # one sentence: why that task
    features: list[str]  # table order, label and dropped columns excluded
    columns: list[dict[str, str]]  # [{"name", "kind"}], in the order of `features`
    labels: list[str]  # classification: sorted class names as text; regression: []
    dropped: list[dict[str, str]] = field(default_factory=list)  # [{"name", "reason"}]
    rows: dict[str, int] = field(default_factory=dict)

    def signature_features(self) -> list[Feature]:
        """The features as the model contract names them (name and kind, in order)."""
        return [Feature.model_validate(column) for column in self.columns]

    def signature(self, **fields: Any) -> Signature:
        """A model signature for this dataset; `fields` adds framework, producer and so on."""
        return Signature(
            task=self.task,  # type: ignore[arg-type]
            features=self.signature_features(),
            label_column=self.label_column,
            labels=self.labels,
            data_version=self.data_version,
            **fields,
        )

    def to_json(self) -> str:
        """Serializes the schema as stable JSON."""
        return json.dumps(asdict(self), indent=2, sort_keys=True)

    @classmethod
    def load(cls, dataset_dir: str | Path) -> DatasetSchema:
        """Reads `schema.json` from a dataset directory.

        A format 1 schema (numeric classification datasets, before kinds and tasks) reads as
        a classification dataset of numeric features.

        Raises:
            DataError: The file is missing or is not a dataset schema.
        """
        path = Path(dataset_dir) / "schema.json"
        if not path.is_file():
            raise DataError(f"'{dataset_dir}' does not hold a dataset: 'schema.json' is missing.")
        data: dict[str, Any] = json.loads(path.read_text())
        version = data.setdefault("format_version", 1)
        if version == 1:
            data["format_version"] = FORMAT_VERSION
            data.setdefault("task", "classification")
            data.setdefault("task_reason", "the dataset was fetched before tasks were inferred")
            data.setdefault("columns", [{"name": f, "kind": "numeric"} for f in data["features"]])
        elif version != FORMAT_VERSION:
            raise DataError(
                f"The dataset schema '{path}' has format_version {version!r}; "
                f"this freshet reads 1 and {FORMAT_VERSION}."
            )
        try:
            return cls(**data)
        except TypeError as exc:
            raise DataError(f"The dataset schema '{path}' is not valid: {exc}.") from None


@dataclass(frozen=True)
class InspectedTable:
    """A checked table and the schema it gives (before splitting)."""

    schema: DatasetSchema
    frame: pd.DataFrame  # the stored columns: features and label


def split_table(
    frame: pd.DataFrame, config: FetchConfig, task: str = "classification"
) -> dict[str, pd.DataFrame]:
    """Splits a table into train/validation/test.

    Classification splits are stratified when every class allows it; regression splits are
    plain seeded random splits. The split depends only on the rows and the seed, so the same
    data always splits the same.
    """
    from sklearn.model_selection import train_test_split

    holdout = config.validation_fraction + config.test_fraction
    stratify = None
    if task == "classification" and frame[config.label_column].value_counts().min() >= 4:
        stratify = frame[config.label_column]
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
    """Rejects an unknown task and split fractions that leave no room for training."""
    check_task(config.task)
    for name in ("validation_fraction", "test_fraction"):
        value = getattr(config, name)
        if not 0.0 < value < 1.0:
            raise DataError(f"{name} must be between 0 and 1 (exclusive): {value}.")
    if config.validation_fraction + config.test_fraction >= 0.9:
        raise DataError(
            "validation_fraction + test_fraction must leave at least 10 % for training: "
            f"{config.validation_fraction + config.test_fraction}."
        )


def inspect_table(config: FetchConfig, client: StorageClient | None = None) -> InspectedTable:
    """Reads and validates a dataset, and decides its task, without writing anything.

    Args:
        config: What to fetch.
        client: Storage client for gs:// URIs.

    Returns:
        The schema (row count under "total") and the table's stored columns.

    Raises:
        DataError: With one sentence naming the problem and the offending value.
    """
    check_config(config)
    version = data_version(config.uri, client)
    frame = load_table(config.uri, client)
    check = validate_table(frame, config.label_column, config.uri, config.task)
    schema = DatasetSchema(
        uri=config.uri,
        data_version=version,
        label_column=config.label_column,
        task=check.task,
        task_reason=check.task_reason,
        features=check.features,
        columns=check.columns,
        labels=check.labels,
        dropped=check.dropped,
        rows={"total": len(frame)},
    )
    return InspectedTable(schema, stored_table(frame, config.label_column, check))


def inspect(config: FetchConfig, client: StorageClient | None = None) -> DatasetSchema:
    """Reads and validates a dataset without writing anything (the preflight's check).

    Args:
        config: What to fetch.
        client: Storage client for gs:// URIs.

    Returns:
        The schema the fetched dataset would have (rows under "total", not per split).
    """
    return inspect_table(config, client).schema


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
    inspected = inspect_table(config, client)
    splits = split_table(inspected.frame, config, inspected.schema.task)
    schema = replace(inspected.schema, rows={name: len(part) for name, part in splits.items()})
    with replaced_directory(out_dir, prefix=".fetch-") as staging:
        for name, part in splits.items():
            part.reset_index(drop=True).to_parquet(staging / f"{name}.parquet", index=False)
        (staging / "schema.json").write_text(schema.to_json())
    return schema
