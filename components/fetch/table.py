"""What a table holds: the kind of each column, the task its label asks for, and its checks.

Feature kinds follow the model contract (`freshet.contract`): `numeric` (integer and float
columns), `boolean` (bool columns, or columns holding only True/False and missing values) and
`categorical` (text and category columns). Date and timestamp columns are dropped with a
sentence saying so; missing feature values are kept (the model imputes them).
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

from freshet.errors import DataError

if TYPE_CHECKING:
    import pandas as pd

Kind = Literal["numeric", "boolean", "categorical"]
TASKS = ("auto", "classification", "regression")
MIN_ROWS = 10
MAX_CLASSES = 20  # integer labels with more distinct values than this are regression targets
DATE_SAMPLE = 100  # string values looked at to decide whether a column holds dates
ISO_DATE = re.compile(
    r"\d{4}-\d{2}-\d{2}([T ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?\s*(Z|[+-]\d{2}:?\d{2})?)?"
)
NUMBER_TYPES = {"integer", "floating", "mixed-integer-float", "decimal"}
DATE_TYPES = {"date", "datetime", "datetime64"}
MIXED_TYPES = {"mixed", "mixed-integer", "bytes"}


@dataclass(frozen=True)
class TableCheck:
    """The outcome of checking a table: its features, their kinds, and the task."""

    features: list[str]
    columns: list[dict[str, str]]
    labels: list[str]
    task: str
    task_reason: str
    dropped: list[dict[str, str]] = field(default_factory=list)
    text_columns: list[str] = field(default_factory=list)  # mixed-type columns to store as text


def check_task(task: str) -> None:
    """Rejects a task that is not auto, classification or regression.

    Raises:
        DataError: Naming the value.
    """
    if task not in TASKS:
        raise DataError(f"Task '{task}' is not one of {', '.join(TASKS)}.")


def _is_date_text(values: pd.Series) -> bool:
    """Whether the first non-missing values of a text column all read as ISO dates."""
    import pandas as pd

    head = values.iloc[: DATE_SAMPLE * 10].dropna()
    sample = (head if len(head) else values.dropna()).iloc[:DATE_SAMPLE].astype(str).str.strip()
    if sample.empty or not all(ISO_DATE.fullmatch(v) for v in sample):
        return False
    parsed = pd.to_datetime(sample, format="ISO8601", errors="coerce", utc=True)
    return bool(parsed.notna().all())


def value_kind(values: pd.Series) -> str:
    """The kind of a column's values.

    Returns:
        "numeric", "boolean" or "categorical" (the contract's kinds), "datetime" (dates and
        timestamps), "mixed" (text to be stored as text: values of several Python types), or
        "unsupported" (such as time spans).
    """
    import pandas as pd

    types = pd.api.types
    dtype = values.dtype
    if types.is_bool_dtype(dtype):
        return "boolean"
    if types.is_datetime64_any_dtype(dtype) or isinstance(dtype, pd.PeriodDtype):
        return "datetime"
    if types.is_integer_dtype(dtype) or types.is_float_dtype(dtype):
        return "numeric"
    if isinstance(dtype, pd.CategoricalDtype):
        return "categorical"
    if not (types.is_string_dtype(dtype) or types.is_object_dtype(dtype)):
        return "unsupported"
    inferred = types.infer_dtype(values, skipna=True)
    if inferred == "boolean":
        return "boolean"
    if inferred in NUMBER_TYPES:
        return "numeric"
    if inferred in DATE_TYPES:
        return "datetime"
    if inferred == "string":
        return "datetime" if _is_date_text(values) else "categorical"
    if inferred in MIXED_TYPES:
        return "mixed"
    return "unsupported"


def _dropped_sentence(name: str) -> str:
    return (
        f"Column '{name}' holds dates or timestamps, which are not used as features: it is "
        "dropped (derive numeric columns from it to use it)."
    )


def _check_numeric(values: pd.Series, what: str, uri: str) -> None:
    import numpy as np

    array = values.to_numpy(dtype=np.float64, na_value=np.nan)
    infinite = np.isinf(array)
    if infinite.any():
        raise DataError(f"{what} in '{uri}' has infinite values ({array[infinite][0]}).")


def _feature_kinds(
    frame: pd.DataFrame, label_column: str, uri: str
) -> tuple[list[dict[str, str]], list[dict[str, str]], list[str]]:
    import pandas as pd

    columns: list[dict[str, str]] = []
    dropped: list[dict[str, str]] = []
    text_columns: list[str] = []
    for column in frame.columns:
        if column == label_column:
            continue
        name = str(column)
        values = frame[column]
        if values.isna().all():
            raise DataError(f"Feature column '{name}' in '{uri}' has no values (all missing).")
        kind = value_kind(values)
        if kind == "datetime":
            dropped.append({"name": name, "reason": _dropped_sentence(name)})
            continue
        if kind == "unsupported":
            raise DataError(
                f"Feature column '{name}' in '{uri}' holds {pd.api.types.infer_dtype(values)} "
                f"values ({values.dtype}), which fetch cannot use; convert it to numbers or text."
            )
        if kind == "mixed":
            text_columns.append(name)
            kind = "categorical"
        if kind == "numeric":
            _check_numeric(values, f"Feature column '{name}'", uri)
        columns.append({"name": name, "kind": kind})
    return columns, dropped, text_columns


def _example(values: pd.Series, keep: Callable[[Any], bool]) -> Any:
    """The first value `keep` accepts (else the first value), as a plain Python value."""
    value = next((v for v in values if keep(v)), values.iloc[0])
    return value.item() if hasattr(value, "item") else value


def _infer_task(labels: pd.Series, kind: str, label_column: str) -> tuple[str, str]:
    """The task a label asks for, and the one sentence saying why."""
    import numpy as np

    name = f"label '{label_column}'"
    if kind == "boolean":
        return "classification", f"{name} is boolean"
    if kind != "numeric":
        return "classification", f"{name} is not numeric ({labels.nunique()} distinct values)"
    numbers = labels.to_numpy(dtype=np.float64)
    distinct = int(np.unique(numbers).size)
    if not np.all(np.mod(numbers, 1.0) == 0.0):
        example = _example(labels, lambda v: float(v) % 1.0 != 0.0)
        return "regression", f"{name} has non-integer values such as {example}"
    if distinct > MAX_CLASSES:
        return "regression", f"{name} has {distinct} distinct numeric values"
    if distinct >= len(labels) / 2:
        return "regression", f"{name} has {distinct} distinct numeric values in {len(labels)} rows"
    return "classification", f"{name} has {distinct} distinct integer values"


def _class_names(labels: pd.Series, label_column: str, uri: str) -> list[str]:
    classes = sorted(labels.unique().tolist(), key=lambda v: (str(type(v)), v))
    if len(classes) < 2:
        raise DataError(
            f"Label column '{label_column}' in '{uri}' has a single class ({classes[0]!r}); "
            "a classifier needs at least two."
        )
    names = [str(c) for c in classes]
    if len(set(names)) != len(names):
        raise DataError(
            f"Label column '{label_column}' in '{uri}' has classes that read the same as text "
            f"({names}); make the labels consistent."
        )
    return names


def validate_table(frame: pd.DataFrame, label_column: str, uri: str, task: str) -> TableCheck:
    """Checks that a table can train a model and decides the task.

    Args:
        frame: The whole dataset.
        label_column: Name of the target column.
        uri: The dataset URI, for error messages.
        task: "auto", "classification" or "regression"; an explicit task always wins.

    Returns:
        The features with their kinds, the dropped columns, the labels and the task.

    Raises:
        DataError: With one sentence naming the problem and the offending value.
    """
    check_task(task)
    if frame.empty or len(frame) == 0:
        raise DataError(f"The dataset at '{uri}' has no rows.")
    if label_column not in frame.columns:
        shown = ", ".join(map(str, list(frame.columns)[:10]))
        raise DataError(
            f"Label column '{label_column}' not found in '{uri}'; its columns are: {shown}."
        )
    columns, dropped, text_columns = _feature_kinds(frame, label_column, uri)
    if not columns:
        why = f" (dropped: {', '.join(d['name'] for d in dropped)})" if dropped else ""
        raise DataError(
            f"The dataset at '{uri}' has no feature columns besides '{label_column}'{why}."
        )
    labels = frame[label_column]
    if labels.isna().any():
        raise DataError(f"Label column '{label_column}' in '{uri}' has missing values.")
    if len(frame) < MIN_ROWS:
        raise DataError(
            f"The dataset at '{uri}' has {len(frame)} rows; at least {MIN_ROWS} are needed."
        )
    kind = value_kind(labels)
    if kind == "numeric":
        _check_numeric(labels, f"Label column '{label_column}'", uri)
    if task == "auto":
        task, reason = _infer_task(labels, kind, label_column)
    else:
        reason = f"task '{task}' was given for label '{label_column}'"
    if task == "regression":
        if kind not in ("numeric", "boolean"):
            example = _example(labels, lambda v: not isinstance(v, int | float))
            raise DataError(
                f"Label column '{label_column}' in '{uri}' is not numeric (for example "
                f"{example!r}), so it cannot be a regression target; use task 'classification'."
            )
        names: list[str] = []
    else:
        names = _class_names(labels, label_column, uri)
    return TableCheck(
        features=[c["name"] for c in columns],
        columns=columns,
        labels=names,
        task=task,
        task_reason=reason,
        dropped=dropped,
        text_columns=text_columns,
    )


def stored_table(frame: pd.DataFrame, label_column: str, check: TableCheck) -> pd.DataFrame:
    """The columns a dataset stores: features and label, raw, in table order.

    Mixed-type columns become text (missing values stay missing), as the model reads them
    anyway, so that Parquet can store them; a regression label becomes float.
    """
    import pandas as pd

    features = set(check.features)
    keep = [c for c in frame.columns if c == label_column or str(c) in features]
    table = frame[keep]  # copy-on-write: changing `table` leaves `frame` alone
    table.columns = [str(c) for c in keep]
    for name in check.text_columns:
        table[name] = table[name].map(
            lambda v: v if v is None or (isinstance(v, float) and math.isnan(v)) else str(v)
        )
    if check.task == "regression":
        label = table[label_column]
        if pd.api.types.is_object_dtype(label.dtype):
            label = label.map(float)
        table[label_column] = label.astype("float64")
    return table
