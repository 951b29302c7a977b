"""The bundled sample datasets: diabetes (regression) and mixed (a real-looking table)."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from freshet.components.fetch.core import SPLITS, FetchConfig, fetch, inspect
from freshet.components.fetch.sources import data_version, load_table
from freshet.errors import DataError


def read_splits(path: Path) -> dict[str, pd.DataFrame]:
    return {name: pd.read_parquet(path / f"{name}.parquet") for name in SPLITS}


def test_diabetes_is_a_seeded_regression_dataset(tmp_path: Path) -> None:
    a = fetch(FetchConfig(uri="sample://diabetes"), tmp_path / "a")
    b = fetch(FetchConfig(uri="sample://diabetes"), tmp_path / "b")
    assert a == b
    assert a.task == "regression"
    assert a.task_reason == "label 'label' has 214 distinct numeric values"
    assert a.labels == []
    assert len(a.features) == 10
    assert {c["kind"] for c in a.columns} == {"numeric"}
    assert sum(a.rows.values()) == 442
    for name, part in read_splits(tmp_path / "a").items():
        pd.testing.assert_frame_equal(part, read_splits(tmp_path / "b")[name])
        assert part["label"].dtype == "float64"
    assert data_version("sample://diabetes") == a.data_version
    assert data_version("sample://diabetes") != data_version("sample://digits")


def test_mixed_has_every_kind_and_missing_values() -> None:
    frame = load_table("sample://mixed")
    assert len(frame) == 2000
    schema = inspect(FetchConfig(uri="sample://mixed"))
    kinds = {c["name"]: c["kind"] for c in schema.columns}
    assert sorted(kinds.values()) == ["boolean", "categorical", "categorical"] + ["numeric"] * 4
    categorical = [name for name, kind in kinds.items() if kind == "categorical"]
    assert min(frame[name].nunique() for name in categorical) >= 3
    assert max(frame[name].nunique() for name in categorical) <= 8
    assert any(frame[name].isna().any() for name in categorical)
    numeric = [name for name, kind in kinds.items() if kind == "numeric"]
    assert any(frame[name].isna().any() for name in numeric)
    assert schema.task == "classification"
    assert schema.labels == ["no", "yes"]
    assert 0.3 < (frame["label"] == "yes").mean() < 0.7


def test_mixed_is_deterministic_and_seeded(tmp_path: Path) -> None:
    uri = "sample://mixed?rows=500&seed=3"
    a = fetch(FetchConfig(uri=uri), tmp_path / "a")
    b = fetch(FetchConfig(uri=uri), tmp_path / "b")
    assert a == b
    assert sum(a.rows.values()) == 500
    for name, part in read_splits(tmp_path / "a").items():
        pd.testing.assert_frame_equal(part, read_splits(tmp_path / "b")[name])
    other = load_table("sample://mixed?rows=500&seed=4")
    assert not other.equals(load_table(uri))
    assert data_version(uri) == a.data_version
    assert data_version(uri) != data_version("sample://mixed?rows=500&seed=4")
    assert data_version(uri) != data_version("sample://mixed?rows=501&seed=3")


def test_mixed_is_learnable_well_above_chance(tmp_path: Path) -> None:
    from sklearn.linear_model import LogisticRegression

    from freshet.contract.preprocess import TablePreprocessor

    schema = fetch(FetchConfig(uri="sample://mixed"), tmp_path / "ds")
    splits = read_splits(tmp_path / "ds")
    signature = schema.signature()
    prep = TablePreprocessor.fit(splits["train"], signature)
    model = LogisticRegression(max_iter=1000).fit(
        prep.transform(splits["train"]), splits["train"]["label"]
    )
    test = splits["test"]
    accuracy = (model.predict(prep.transform(test)) == test["label"]).mean()
    chance = test["label"].value_counts(normalize=True).max()
    assert chance < 0.6
    assert accuracy > chance + 0.2


@pytest.mark.parametrize(
    ("uri", "message"),
    [
        (
            "sample://mixed?features=3",
            "Unknown option 'features' in 'sample://mixed?features=3'; use ['rows', 'seed'].",
        ),
        (
            "sample://mixed?rows=0",
            "Option 'rows' in 'sample://mixed?rows=0' must be between 1 and 50000000: 0.",
        ),
        (
            "sample://diabetes?rows=5",
            "Unknown option 'rows' in 'sample://diabetes?rows=5'; it takes none.",
        ),
        (
            "sample://iris",
            "Unknown sample dataset 'iris' in 'sample://iris'; use sample://digits, "
            "sample://diabetes, sample://synthetic, sample://mixed.",
        ),
    ],
)
def test_bad_sample_uris(uri: str, message: str) -> None:
    with pytest.raises(DataError) as info:
        data_version(uri)
    assert str(info.value) == message
    with pytest.raises(DataError) as info:
        load_table(uri)
    assert str(info.value) == message
