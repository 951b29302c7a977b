from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from freshet.components.fetch.core import SPLITS, DatasetSchema, FetchConfig, fetch, inspect
from freshet.components.fetch.sources import data_version, parse_uri
from freshet.errors import DataError


def write_csv(path: Path, rows: int = 40, classes: int = 2, **extra: list[object]) -> Path:
    frame = pd.DataFrame(
        {
            "x1": [float(i) for i in range(rows)],
            "x2": [float(i % 7) for i in range(rows)],
            "label": [i % classes for i in range(rows)],
        }
    )
    for name, values in extra.items():
        frame[name] = values
    path.parent.mkdir(parents=True, exist_ok=True)
    frame.to_csv(path, index=False)
    return path


def test_sample_digits_splits_deterministically(tmp_path: Path) -> None:
    first = fetch(FetchConfig(), tmp_path / "a")
    second = fetch(FetchConfig(), tmp_path / "b")
    assert first.rows == {"train": 1257, "validation": 270, "test": 270}
    assert first.labels == [str(i) for i in range(10)]
    assert len(first.features) == 64
    assert first.format_version == 2
    assert (first.task, first.task_reason) == (
        "classification",
        "label 'label' has 10 distinct integer values",
    )
    assert {c["kind"] for c in first.columns} == {"numeric"}
    assert first.dropped == []
    assert first.data_version == second.data_version
    for split in ("train", "validation", "test"):
        a = pd.read_parquet(tmp_path / "a" / f"{split}.parquet")
        b = pd.read_parquet(tmp_path / "b" / f"{split}.parquet")
        pd.testing.assert_frame_equal(a, b)
    assert DatasetSchema.load(tmp_path / "a") == first


def test_splits_are_disjoint_and_complete(tmp_path: Path) -> None:
    src = write_csv(tmp_path / "data.csv", rows=100)
    fetch(FetchConfig(uri=str(src)), tmp_path / "out")
    parts = [
        pd.read_parquet(tmp_path / "out" / f"{s}.parquet") for s in ("train", "validation", "test")
    ]
    assert sum(len(p) for p in parts) == 100
    seen = pd.concat(parts)["x1"].tolist()
    assert sorted(seen) == [float(i) for i in range(100)]


def test_csv_parquet_and_directory_sources(tmp_path: Path) -> None:
    csv = write_csv(tmp_path / "dir" / "a.csv")
    frame = pd.read_csv(csv)
    frame.to_parquet(tmp_path / "dir" / "b.parquet")
    assert inspect(FetchConfig(uri=str(csv))).rows == {"total": 40}
    assert inspect(FetchConfig(uri=f"file://{tmp_path / 'dir' / 'b.parquet'}")).rows == {
        "total": 40
    }
    assert inspect(FetchConfig(uri=str(tmp_path / "dir"))).rows == {"total": 80}


def test_data_version_follows_content_not_name(tmp_path: Path) -> None:
    path = write_csv(tmp_path / "data.csv")
    before = data_version(str(path))
    assert data_version(str(path)) == before
    write_csv(path, rows=41)
    assert data_version(str(path)) != before


def test_custom_label_column(tmp_path: Path) -> None:
    path = tmp_path / "d.csv"
    pd.DataFrame({"f": range(20), "target": ["a", "b"] * 10}).to_csv(path, index=False)
    schema = inspect(FetchConfig(uri=str(path), label_column="target"))
    assert schema.labels == ["a", "b"]
    assert schema.features == ["f"]


def test_synthetic_source_is_seeded(tmp_path: Path) -> None:
    uri = "sample://synthetic?rows=500&features=8&classes=3&seed=4"
    a = fetch(FetchConfig(uri=uri), tmp_path / "a")
    b = fetch(FetchConfig(uri=uri), tmp_path / "b")
    assert a.rows["train"] + a.rows["validation"] + a.rows["test"] == 500
    assert a.labels == ["0", "1", "2"]
    assert a == b
    pd.testing.assert_frame_equal(
        pd.read_parquet(tmp_path / "a" / "test.parquet"),
        pd.read_parquet(tmp_path / "b" / "test.parquet"),
    )
    assert data_version(uri) != data_version(uri.replace("seed=4", "seed=5"))


@pytest.mark.parametrize(
    ("make_uri", "expected"),
    [
        (lambda tmp: str(tmp / "missing.csv"), "Data file not found: '{tmp}/missing.csv'."),
        (
            lambda tmp: "ftp://host/data.csv",
            "Unknown data URI scheme 'ftp' in 'ftp://host/data.csv'",
        ),
        (lambda tmp: "sample://nope", "Unknown sample dataset 'nope'"),
        (lambda tmp: "", "The data URI is empty"),
        (lambda tmp: "gs://", "names no bucket"),
        (
            lambda tmp: "sample://synthetic?rows=abc",
            "Option 'rows' in 'sample://synthetic?rows=abc' is not an integer: 'abc'.",
        ),
        (lambda tmp: "sample://synthetic?classes=1", "needs at least 2 classes"),
    ],
)
def test_bad_uris(tmp_path: Path, make_uri, expected: str) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(DataError) as info:
        inspect(FetchConfig(uri=make_uri(tmp_path)))
    assert expected.format(tmp=tmp_path) in str(info.value)


def test_bad_tables(tmp_path: Path) -> None:
    empty = tmp_path / "empty.csv"
    empty.write_text("x1,label\n")
    blank = tmp_path / "blank.csv"
    blank.write_text("")
    no_label = tmp_path / "nolabel.csv"
    pd.DataFrame({"x1": range(20), "y": range(20)}).to_csv(no_label, index=False)
    single = write_csv(tmp_path / "single.csv", classes=1)
    holes = tmp_path / "holes.csv"
    holes.write_text("x1,label\n1,0\n,\n" + "".join(f"{i},{i % 2}\n" for i in range(20)))
    tiny = write_csv(tmp_path / "tiny.csv", rows=4)
    not_table = tmp_path / "notes.txt"
    not_table.write_text("hello")
    empty_dir = tmp_path / "emptydir"
    empty_dir.mkdir()
    cases = {
        empty: f"The dataset at '{empty}' has no rows.",
        blank: f"The dataset at '{blank}' has no rows.",
        no_label: f"Label column 'label' not found in '{no_label}'; its columns are: x1, y.",
        single: f"Label column 'label' in '{single}' has a single class (0); "
        "a classifier needs at least two.",
        holes: f"Label column 'label' in '{holes}' has missing values.",
        tiny: f"The dataset at '{tiny}' has 4 rows; at least 10 are needed.",
        not_table: f"The file '{not_table}' is neither CSV nor Parquet (.csv or .parquet).",
        empty_dir: f"The directory '{empty_dir}' holds no CSV or Parquet files.",
    }
    for path, message in cases.items():
        with pytest.raises(DataError) as info:
            inspect(FetchConfig(uri=str(path)))
        assert str(info.value) == message


def test_text_columns_and_missing_feature_values_are_accepted(tmp_path: Path) -> None:
    path = write_csv(tmp_path / "text.csv", color=["red", "blue", None, "red"] * 10)
    frame = pd.read_csv(path)
    frame.loc[3, "x1"] = None
    frame.to_csv(path, index=False)
    schema = fetch(FetchConfig(uri=str(path)), tmp_path / "out")
    assert schema.columns == [
        {"name": "x1", "kind": "numeric"},
        {"name": "x2", "kind": "numeric"},
        {"name": "color", "kind": "categorical"},
    ]
    stored = pd.concat(pd.read_parquet(tmp_path / "out" / f"{s}.parquet") for s in SPLITS)
    assert sorted(stored["color"].dropna().unique().tolist()) == ["blue", "red"]
    assert stored["color"].isna().sum() == 10
    assert stored["x1"].isna().sum() == 1


def test_bad_split_fractions() -> None:
    with pytest.raises(DataError, match="test_fraction must be between 0 and 1"):
        inspect(FetchConfig(test_fraction=1.5))
    with pytest.raises(DataError, match="must leave at least 10 %"):
        inspect(FetchConfig(test_fraction=0.5, validation_fraction=0.45))


def test_failed_fetch_leaves_no_output(tmp_path: Path) -> None:
    bad = write_csv(tmp_path / "bad.csv", classes=1)
    with pytest.raises(DataError):
        fetch(FetchConfig(uri=str(bad)), tmp_path / "out")
    assert not (tmp_path / "out").exists()
    assert [p.name for p in tmp_path.iterdir()] == ["bad.csv"]


def test_parse_uri_kinds() -> None:
    assert parse_uri("gs://b/p/q").kind == "gcs"
    assert parse_uri("gs://b/p/q").prefix == "p/q"
    assert parse_uri("/abs/x.csv").kind == "local"
    assert parse_uri("rel/x.csv").location == "rel/x.csv"
    assert parse_uri("file:///abs/x.csv").location == "/abs/x.csv"
