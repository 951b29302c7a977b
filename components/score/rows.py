"""Row checks against a model's signature: which rows can be scored, and why the others not.

A row is rejected when a feature column is missing from its file, a numeric column holds
text that is not a number (or an infinite number), or a boolean column holds anything but
true/false/1/0. Gaps are not errors: the graph imputes them. Each rejected row gets the
first problem found, as a reason with the value and as a key without it (for counting).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from freshet.contract.runtime import MISSING_CATEGORY, category_text
from freshet.contract.signature import CATEGORICAL_INPUT, NUMERIC_INPUT, Signature

Feeds = dict[str, np.ndarray]

_TRUE = ("true", "1", "1.0", "yes")
_FALSE = ("false", "0", "0.0", "no")
_NUMBER_TYPES = (
    pa.types.is_integer,
    pa.types.is_floating,
    pa.types.is_decimal,
    pa.types.is_boolean,
)


@dataclass
class Checked:
    """A chunk after the checks: the graph inputs of the valid rows, and why the others not."""

    valid: np.ndarray  # bool per row
    feeds: Feeds  # the graph inputs of the valid rows
    reasons: list[str]  # per rejected row, in row order
    keys: list[str]  # per rejected row: the reason without the value


class _Rejects:
    def __init__(self, rows: int) -> None:
        self.bad = np.zeros(rows, dtype=bool)
        self.reason = np.empty(rows, dtype=object)
        self.key = np.empty(rows, dtype=object)

    def add(self, mask: np.ndarray, key: str, detail: np.ndarray | str) -> None:
        new = mask & ~self.bad
        if not new.any():
            return
        self.bad |= new
        self.key[new] = key
        if isinstance(detail, str):
            self.reason[new] = detail
        else:
            self.reason[new] = [f"{key}: {value!r}" for value in detail[new]]


def _text(column: pa.Array) -> np.ndarray:
    return np.asarray(pc.utf8_trim_whitespace(column).to_numpy(zero_copy_only=False), dtype=object)


def _numbers(name: str, column: pa.Array, rejects: _Rejects) -> pa.Array:
    kind = column.type
    if pa.types.is_floating(kind):
        values = column
    elif any(test(kind) for test in _NUMBER_TYPES):
        values = pc.cast(column, pa.float64())
    elif pa.types.is_string(kind) or pa.types.is_large_string(kind):
        text = pc.utf8_trim_whitespace(column)
        text = pc.if_else(pc.equal(text, ""), pa.scalar(None, pa.string()), text)
        try:
            values = pc.cast(text, pa.float64())
        except pa.ArrowInvalid:
            import pandas as pd

            raw = text.to_numpy(zero_copy_only=False)
            parsed = pd.to_numeric(pd.Series(raw, dtype=object), errors="coerce").to_numpy(
                dtype=np.float64, na_value=np.nan
            )
            wrong = np.isnan(parsed) & ~pd.isna(raw)
            rejects.add(wrong, f"column '{name}' is not a number", _text(column))
            values = pa.array(parsed, type=pa.float64(), from_pandas=True)
    else:
        rejects.add(
            np.ones(len(column), dtype=bool),
            f"column '{name}' holds {kind} values, not numbers",
            f"column '{name}' holds {kind} values, not numbers",
        )
        return pa.nulls(len(column), pa.float64())
    if pa.types.is_floating(values.type) and pc.any(pc.is_inf(values)).as_py():
        array = values.to_numpy(zero_copy_only=False)
        rejects.add(
            np.isinf(array), f"column '{name}' is not a finite number", array.astype(object)
        )
    return values


def _flags(name: str, column: pa.Array, rejects: _Rejects) -> pa.Array:
    kind = column.type
    if pa.types.is_boolean(kind):
        return pc.cast(column, pa.float64())
    key = f"column '{name}' is not true or false"
    if pa.types.is_integer(kind) or pa.types.is_floating(kind):
        values = pc.cast(column, pa.float64())
        array = values.to_numpy(zero_copy_only=False)
        rejects.add(~np.isnan(array) & (array != 0) & (array != 1), key, array.astype(object))
        return values
    if pa.types.is_string(kind) or pa.types.is_large_string(kind):
        lowered = pc.utf8_lower(pc.utf8_trim_whitespace(column))
        true = pc.is_in(lowered, value_set=pa.array(_TRUE))
        false = pc.is_in(lowered, value_set=pa.array(_FALSE))
        empty = pc.or_kleene(pc.is_null(lowered), pc.equal(lowered, ""))
        known = pc.or_(pc.or_(true, false), pc.fill_null(empty, True))
        rejects.add(~known.to_numpy(zero_copy_only=False), key, _text(column))
        nan = pa.scalar(None, pa.float64())
        return pc.if_else(true, 1.0, pc.if_else(false, 0.0, nan))
    rejects.add(np.ones(len(column), dtype=bool), key, f"column '{name}' holds {kind} values")
    return pa.nulls(len(column), pa.float64())


def _feeds(columns: dict[str, pa.Array], signature: Signature, valid: np.ndarray) -> Feeds:
    """The graph inputs of the valid rows, as `frame_feeds` makes them, straight from Arrow."""
    everything = bool(valid.all())
    rows = int(valid.sum())
    feeds: Feeds = {}
    numeric = signature.numeric_features
    if numeric:
        matrix = np.empty((len(valid), len(numeric)), dtype=np.float32)
        for j, name in enumerate(numeric):
            matrix[:, j] = columns[name].to_numpy(zero_copy_only=False)
        feeds[NUMERIC_INPUT] = matrix if everything else matrix[valid]
    categorical = signature.categorical_features
    if categorical:
        text = np.empty((len(valid), len(categorical)), dtype=object)
        for j, name in enumerate(categorical):
            column = columns[name]
            if pa.types.is_string(column.type) or pa.types.is_large_string(column.type):
                filled = pc.fill_null(column, MISSING_CATEGORY)
                text[:, j] = filled.to_numpy(zero_copy_only=False)
            else:
                text[:, j] = [category_text(value) for value in column.to_pylist()]
        feeds[CATEGORICAL_INPUT] = text if everything else text[valid]
    assert all(len(value) == rows for value in feeds.values())
    return feeds


def check_rows(batch: pa.RecordBatch, signature: Signature) -> Checked:
    """Checks every row of a chunk against the signature.

    Args:
        batch: The chunk (the file's columns the scorer read).
        signature: The model's signature.

    Returns:
        Which rows are valid, the graph inputs of those rows, and a reason per rejected row.
    """
    rows = batch.num_rows
    rejects = _Rejects(rows)
    names = set(batch.schema.names)
    columns: dict[str, pa.Array] = {}
    for feature in signature.features:
        if feature.name not in names:
            message = f"column '{feature.name}' is missing"
            rejects.add(np.ones(rows, dtype=bool), message, message)
            columns[feature.name] = pa.nulls(
                rows, pa.float64() if feature.kind != "categorical" else pa.string()
            )
            continue
        column = batch.column(feature.name)
        if feature.kind == "numeric":
            columns[feature.name] = _numbers(feature.name, column, rejects)
        elif feature.kind == "boolean":
            columns[feature.name] = _flags(feature.name, column, rejects)
        else:
            columns[feature.name] = column
    valid = ~rejects.bad
    bad = rejects.bad
    return Checked(
        valid=valid,
        feeds=_feeds(columns, signature, valid),
        reasons=[str(r) for r in rejects.reason[bad]],
        keys=[str(k) for k in rejects.key[bad]],
    )
