"""Column kinds, the task a label asks for, and the sentences bad tables get."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from freshet.components.fetch.core import DatasetSchema, FetchConfig, fetch, inspect
from freshet.components.fetch.table import stored_table, validate_table, value_kind
from freshet.contract import Feature
from freshet.errors import DataError

URI = "mem://t"


def table(label: Sequence[object], **features: Sequence[object]) -> pd.DataFrame:
    columns = features or {"x": [float(i) for i in range(len(label))]}
    return pd.DataFrame({**columns, "label": label})


def checked(frame: pd.DataFrame, task: str = "auto") -> tuple[str, str, list[str]]:
    result = validate_table(frame, "label", URI, task)
    return result.task, result.task_reason, result.labels


def refusal(frame: pd.DataFrame, task: str = "auto", label: str = "label") -> str:
    with pytest.raises(DataError) as info:
        validate_table(frame, label, URI, task)
    return str(info.value)


@pytest.mark.parametrize(
    ("values", "kind"),
    [
        ([1, 2, 3], "numeric"),
        ([1.5, None, 2.0], "numeric"),
        ([True, False, True], "boolean"),
        ([True, None, False], "boolean"),
        (pd.array([True, None, False], dtype="boolean"), "boolean"),
        (["a", None, "b"], "categorical"),
        (pd.Categorical(["a", "b", "a"]), "categorical"),
        ([1, "x", None], "mixed"),
        (pd.to_datetime(["2024-01-01", "2024-02-01", None]), "datetime"),
        (["2024-01-01", None, "2024-03-05"], "datetime"),
        (["2024-01-01T10:00:00Z", "2024-01-02 11:30", "2024-01-03T09:15:00.5+02:00"], "datetime"),
        ([dt.date(2024, 1, 1), None, dt.date(2024, 1, 2)], "datetime"),
        (["2024-01-01", "2024-13-45", "2024-01-03"], "categorical"),
        (["2024", "2025", "2026"], "categorical"),
        (pd.to_timedelta([1, 2, 3], unit="s"), "unsupported"),
    ],
)
def test_value_kinds(values: object, kind: str) -> None:
    assert value_kind(pd.Series(values)) == kind


def test_inference_rules() -> None:
    n = 100
    ints = [i % 10 for i in range(n)]
    assert checked(table(ints)) == (
        "classification",
        "label 'label' has 10 distinct integer values",
        [str(i) for i in range(10)],
    )
    assert checked(table([float(v) for v in ints]))[:2] == (
        "classification",
        "label 'label' has 10 distinct integer values",
    )
    assert checked(table([i % 21 for i in range(n)]))[:2] == (
        "regression",
        "label 'label' has 21 distinct numeric values",
    )
    assert checked(table([i % 20 for i in range(n)]))[0] == "classification"
    # Integers, but as many distinct values as half the rows: a count, not classes.
    assert checked(table([i % 6 for i in range(12)]))[:2] == (
        "regression",
        "label 'label' has 6 distinct numeric values in 12 rows",
    )
    assert checked(table([i % 5 for i in range(12)]))[0] == "classification"
    assert checked(table([0.5 * (i % 2) for i in range(n)]))[:2] == (
        "regression",
        "label 'label' has non-integer values such as 0.5",
    )
    assert checked(table([i % 2 == 0 for i in range(n)])) == (
        "classification",
        "label 'label' is boolean",
        ["False", "True"],
    )
    assert checked(table(["b", "a", "c", "a"] * 5)) == (
        "classification",
        "label 'label' is not numeric (3 distinct values)",
        ["a", "b", "c"],
    )


def test_explicit_task_always_wins() -> None:
    continuous = table([i / 7 for i in range(30)])
    assert checked(continuous, "classification")[:2] == (
        "classification",
        "task 'classification' was given for label 'label'",
    )
    assert len(checked(continuous, "classification")[2]) == 30
    assert checked(table([i % 3 for i in range(30)]), "regression") == (
        "regression",
        "task 'regression' was given for label 'label'",
        [],
    )


def test_bad_tasks_and_labels() -> None:
    assert refusal(table([0, 1] * 10), task="ranking") == (
        "Task 'ranking' is not one of auto, classification, regression."
    )
    assert refusal(table(["red", "blue"] * 10), task="regression") == (
        f"Label column 'label' in '{URI}' is not numeric (for example 'red'), so it cannot be "
        "a regression target; use task 'classification'."
    )
    assert refusal(table(pd.Categorical([1, 2] * 10)), task="regression") == (
        f"Label column 'label' in '{URI}' is not numeric (for example 1), so it cannot be "
        "a regression target; use task 'classification'."
    )
    single = f"Label column 'label' in '{URI}' has a single class ('yes'); "
    assert refusal(table(["yes"] * 20)) == single + "a classifier needs at least two."
    assert refusal(table([3.25] * 20), task="classification") == (
        f"Label column 'label' in '{URI}' has a single class (3.25); "
        "a classifier needs at least two."
    )
    assert refusal(table([1.0, np.inf] * 10)) == (
        f"Label column 'label' in '{URI}' has infinite values (inf)."
    )
    assert refusal(table([0, 1] * 2)) == (
        f"The dataset at '{URI}' has 4 rows; at least 10 are needed."
    )
    assert refusal(pd.DataFrame({"label": [0, 1] * 10})) == (
        f"The dataset at '{URI}' has no feature columns besides 'label'."
    )
    assert refusal(table([0, 1] * 10, x=["2024-01-01"] * 20)) == (
        f"The dataset at '{URI}' has no feature columns besides 'label' (dropped: x)."
    )
    assert refusal(table([0, None] * 10)) == f"Label column 'label' in '{URI}' has missing values."


def test_bad_feature_columns() -> None:
    labels = [0, 1] * 10
    assert refusal(table(labels, x=list(range(20)), empty=[None] * 20)) == (
        f"Feature column 'empty' in '{URI}' has no values (all missing)."
    )
    assert refusal(table(labels, x=[np.nan] * 20)) == (
        f"Feature column 'x' in '{URI}' has no values (all missing)."
    )
    assert refusal(table(labels, x=[1.0, -np.inf] * 10)) == (
        f"Feature column 'x' in '{URI}' has infinite values (-inf)."
    )
    spans = pd.to_timedelta(range(20), unit="s").tolist()
    assert refusal(table(labels, x=list(range(20)), wait=spans)) == (
        f"Feature column 'wait' in '{URI}' holds timedelta64 values (timedelta64[us]), which "
        "fetch cannot use; convert it to numbers or text."
    )


def write_real_table(path: Path, rows: int = 60) -> Path:
    frame = pd.DataFrame(
        {
            "amount": [float(i) if i % 9 else None for i in range(rows)],
            "member": [[True, False, None][i % 3] for i in range(rows)],
            "city": [["paris", "oslo", None, "rome"][i % 4] for i in range(rows)],
            "signup": [f"2024-01-{1 + i % 28:02d}" for i in range(rows)],
            "when": pd.date_range("2024-01-01", periods=rows, freq="h"),
            "label": [["no", "yes"][(i // 2) % 2] for i in range(rows)],
        }
    )
    frame.to_parquet(path)
    return path


def test_real_table_kinds_and_dropped_dates(tmp_path: Path) -> None:
    path = write_real_table(tmp_path / "real.parquet")
    schema = fetch(FetchConfig(uri=str(path)), tmp_path / "out")
    assert schema.features == ["amount", "member", "city"]
    assert schema.columns == [
        {"name": "amount", "kind": "numeric"},
        {"name": "member", "kind": "boolean"},
        {"name": "city", "kind": "categorical"},
    ]
    assert schema.signature_features() == [
        Feature(name="amount", kind="numeric"),
        Feature(name="member", kind="boolean"),
        Feature(name="city", kind="categorical"),
    ]
    assert [d["name"] for d in schema.dropped] == ["signup", "when"]
    assert schema.dropped[0]["reason"] == (
        "Column 'signup' holds dates or timestamps, which are not used as features: it is "
        "dropped (derive numeric columns from it to use it)."
    )
    assert schema.labels == ["no", "yes"]
    train = pd.read_parquet(tmp_path / "out" / "train.parquet")
    assert list(train.columns) == ["amount", "member", "city", "label"]
    assert set(train["member"].dropna().tolist()) <= {True, False}
    assert train["member"].isna().any()
    assert DatasetSchema.load(tmp_path / "out") == schema
    # What fetch stored reads back with the same kinds.
    assert inspect(FetchConfig(uri=str(tmp_path / "out" / "train.parquet"))).columns == (
        schema.columns
    )


def test_booleans_with_missing_values_from_csv(tmp_path: Path) -> None:
    path = tmp_path / "flags.csv"
    path.write_text(
        "flag,x,label\n"
        + "".join(f"{['True', 'False', ''][i % 3]},{i},{i % 2}\n" for i in range(30))
    )
    assert inspect(FetchConfig(uri=str(path))).columns[0] == {"name": "flag", "kind": "boolean"}


def test_mixed_type_column_is_stored_as_text(tmp_path: Path) -> None:
    frame = table([0, 1] * 10, x=list(range(20)), code=[1, "B7", None, 2.5] * 5)
    check = validate_table(frame, "label", URI, "auto")
    assert check.columns[1] == {"name": "code", "kind": "categorical"}
    stored = stored_table(frame, "label", check)
    stored.to_parquet(tmp_path / "t.parquet")
    back = pd.read_parquet(tmp_path / "t.parquet")
    assert back["code"].fillna("-").tolist()[:4] == ["1", "B7", "-", "2.5"]
    assert value_kind(back["code"]) == "categorical"


def test_regression_split_is_seeded_and_float(tmp_path: Path) -> None:
    rows = 200
    path = tmp_path / "reg.csv"
    pd.DataFrame({"x": range(rows), "label": [(i * 37) % 101 for i in range(rows)]}).to_csv(
        path, index=False
    )
    a = fetch(FetchConfig(uri=str(path), seed=3), tmp_path / "a")
    b = fetch(FetchConfig(uri=str(path), seed=3), tmp_path / "b")
    c = fetch(FetchConfig(uri=str(path), seed=4), tmp_path / "c")
    assert a == b
    assert c.data_version == a.data_version
    assert a.task == "regression" and a.labels == []
    assert a.rows == {"train": 140, "validation": 30, "test": 30}
    tests = {name: pd.read_parquet(tmp_path / name / "test.parquet") for name in ("a", "b", "c")}
    pd.testing.assert_frame_equal(tests["a"], tests["b"])
    assert tests["a"]["x"].tolist() != tests["c"]["x"].tolist()
    assert tests["a"]["label"].dtype == np.float64
    parts = [pd.read_parquet(tmp_path / "a" / f"{s}.parquet") for s in ("train", "validation")]
    assert sorted(pd.concat([*parts, tests["a"]])["x"]) == list(range(rows))


def test_schema_load_reads_format_1_and_refuses_others(tmp_path: Path) -> None:
    old = {
        "uri": "sample://digits",
        "data_version": "sha256-0",
        "label_column": "label",
        "features": ["a", "b"],
        "labels": ["0", "1"],
        "rows": {"train": 8},
    }
    (tmp_path / "schema.json").write_text(json.dumps(old))
    schema = DatasetSchema.load(tmp_path)
    assert schema.task == "classification"
    assert schema.signature_features() == [Feature(name="a"), Feature(name="b")]
    (tmp_path / "schema.json").write_text('{"format_version": 9}')
    with pytest.raises(DataError) as info:
        DatasetSchema.load(tmp_path)
    assert str(info.value) == (
        f"The dataset schema '{tmp_path}/schema.json' has format_version 9; "
        "this freshet reads 1 and 2."
    )
    with pytest.raises(DataError, match="does not hold a dataset"):
        DatasetSchema.load(tmp_path / "nowhere")
