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

from freshet.contract.signature import Signature

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
    """A chunk after the checks: the valid rows as a table of clean columns, and the rest."""

    valid: np.ndarray  # bool per row
    clean: pa.Table  # the valid rows' feature columns: numbers as float64, text as text
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
    if any(test(kind) for test in _NUMBER_TYPES):
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
    array = values.to_numpy(zero_copy_only=False)
    infinite = np.isinf(array)
    if infinite.any():
        rejects.add(infinite, f"column '{name}' is not a finite number", array.astype(object))
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


def _categories(column: pa.Array) -> pa.Array:
    if pa.types.is_string(column.type) or pa.types.is_large_string(column.type):
        return column
    return pc.cast(column, pa.string())


def check_rows(batch: pa.RecordBatch, signature: Signature) -> Checked:
    """Checks every row of a chunk against the signature.

    Args:
        batch: The chunk (the file's columns the scorer read).
        signature: The model's signature.

    Returns:
        Which rows are valid, their clean feature columns, and a reason per rejected row.
    """
    rows = batch.num_rows
    rejects = _Rejects(rows)
    names = set(batch.schema.names)
    columns: dict[str, pa.Array] = {}
    for feature in signature.features:
        if feature.name not in names:
            message = f"column '{feature.name}' is missing"
            rejects.add(np.ones(rows, dtype=bool), message, message)
            columns[feature.name] = pa.nulls(rows, pa.float64())
            continue
        column = batch.column(feature.name)
        if feature.kind == "numeric":
            columns[feature.name] = _numbers(feature.name, column, rejects)
        elif feature.kind == "boolean":
            columns[feature.name] = _flags(feature.name, column, rejects)
        else:
            columns[feature.name] = _categories(column)
    clean = pa.table(columns)
    valid = ~rejects.bad
    if not valid.all():
        clean = clean.filter(pa.array(valid))
    bad = rejects.bad
    return Checked(
        valid=valid,
        clean=clean,
        reasons=[str(r) for r in rejects.reason[bad]],
        keys=[str(k) for k in rejects.key[bad]],
    )
