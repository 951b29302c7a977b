"""The score core on real contract models: streaming, row checks, errors, budget, outputs."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from freshet.components.score.core import (
    ScoreConfig,
    check_fraction,
    parse_keep_columns,
    score,
)
from freshet.components.score.reader import iter_chunks, list_inputs
from freshet.contract.runtime import ContractModel
from freshet.errors import BadInput, DataError


@pytest.fixture(scope="module")
def digits(trained: tuple[Path, Path]) -> tuple[pd.DataFrame, ContractModel]:
    dataset, model = trained
    frame = pd.read_parquet(dataset / "test.parquet")
    frame.insert(0, "id", [f"row-{i}" for i in range(len(frame))])
    return frame, ContractModel.load(model)


def test_scores_every_row_like_the_contract_runtime(
    digits: tuple[pd.DataFrame, ContractModel], tmp_path: Path
) -> None:
    frame, model = digits
    frame.to_parquet(tmp_path / "in.parquet", row_group_size=50)
    config = ScoreConfig(
        data_uri=str(tmp_path / "in.parquet"),
        data_version="dv-1",
        model_version="model@1",
        keep_columns=("id",),
        chunk_rows=32,
        part_rows=100,
    )
    result = score(model, config, tmp_path / "out")
    assert (result.rows_in, result.rows_scored, result.rows_rejected) == (len(frame), len(frame), 0)
    # parts of at most part_rows rows, each chunk one row group
    assert result.parts == ["part-00000.parquet", "part-00001.parquet", "part-00002.parquet"]
    assert pq.ParquetFile(tmp_path / "out/part-00000.parquet").metadata.num_rows <= 100
    out = pd.read_parquet(tmp_path / "out")
    labels = model.signature.labels
    assert list(out.columns) == [
        "id",
        "prediction",
        *[f"probability_{label}" for label in labels],
        "model_version",
        "data_version",
    ]
    expected = model.predict_frame(frame)
    assert out["id"].tolist() == frame["id"].tolist()
    np.testing.assert_allclose(out[[f"probability_{x}" for x in labels]].to_numpy(), expected)
    assert out["prediction"].astype(str).tolist() == [labels[i] for i in expected.argmax(axis=1)]
    assert set(out["model_version"]) == {"model@1"} and set(out["data_version"]) == {"dv-1"}
    assert sum(result.distribution.values()) == len(frame)
    assert result.distribution == {
        label: float((out["prediction"].astype(str) == label).sum()) for label in labels
    }
    assert result.metrics()["rows_per_s"] > 0


def test_rows_that_do_not_fit_go_to_the_errors_part(
    digits: tuple[pd.DataFrame, ContractModel], tmp_path: Path
) -> None:
    frame, model = digits
    bad = frame.astype({"pixel_0_3": object, "pixel_1_1": object})
    bad.loc[4, "pixel_0_3"] = "dark"
    bad.loc[7, "pixel_1_1"] = "inf"
    bad.loc[9, "pixel_0_3"] = None  # a gap: imputed by the graph, not an error
    bad.to_csv(tmp_path / "in.csv", index=False)
    config = ScoreConfig(
        data_uri=str(tmp_path / "in.csv"), keep_columns=("id",), max_error_fraction=0.05
    )
    result = score(model, config, tmp_path / "out")
    assert (result.rows_scored, result.rows_rejected) == (len(frame) - 2, 2)
    assert result.error_parts == ["_errors/errors-00000.parquet"]
    errors = pd.read_parquet(tmp_path / "out/_errors")
    assert errors["source_row"].tolist() == [4, 7]
    assert errors["id"].tolist() == ["row-4", "row-7"]
    assert errors["reason"].tolist() == [
        "column 'pixel_0_3' is not a number: 'dark'",
        "column 'pixel_1_1' is not a finite number: inf",
    ]
    assert set(errors["source_file"].astype(str)) == {str(tmp_path / "in.csv")}
    assert result.top_reasons() == {
        "column 'pixel_0_3' is not a number": 1.0,
        "column 'pixel_1_1' is not a finite number": 1.0,
    }
    scored = pd.read_parquet(tmp_path / "out")  # "_errors" is skipped by readers
    assert "row-4" not in set(scored["id"]) and "row-9" in set(scored["id"])


def test_more_errors_than_the_budget_fail_and_write_nothing(
    digits: tuple[pd.DataFrame, ContractModel], tmp_path: Path
) -> None:
    frame, model = digits
    bad = frame.astype({"pixel_0_3": str})  # a text column in Parquet, mostly numbers
    bad.loc[:9, "pixel_0_3"] = "x"
    bad.to_parquet(tmp_path / "in.parquet")
    config = ScoreConfig(data_uri=str(tmp_path / "in.parquet"), max_error_fraction=0.01)
    with pytest.raises(DataError, match=r"10 of 270 rows \(3.70%\).*pixel_0_3' is not a number"):
        score(model, config, tmp_path / "out")
    assert not (tmp_path / "out").exists()
    assert list(tmp_path.iterdir()) == [tmp_path / "in.parquet"]  # no staging left behind
    # the same rows within a larger budget are scored
    loose = ScoreConfig(data_uri=str(tmp_path / "in.parquet"), max_error_fraction=0.05)
    assert score(model, loose, tmp_path / "out").rows_rejected == 10


def test_a_file_missing_a_feature_has_every_row_rejected(
    digits: tuple[pd.DataFrame, ContractModel], tmp_path: Path
) -> None:
    frame, model = digits
    (tmp_path / "in").mkdir()
    frame.to_parquet(tmp_path / "in/a.parquet")
    frame.iloc[:3].drop(columns=["pixel_2_2"]).to_parquet(tmp_path / "in/b.parquet")
    config = ScoreConfig(data_uri=str(tmp_path / "in"), max_error_fraction=0.02)
    result = score(model, config, tmp_path / "out")
    assert (result.rows_scored, result.rows_rejected) == (len(frame), 3)
    assert result.top_reasons() == {"column 'pixel_2_2' is missing": 3.0}


def test_mixed_kinds_flags_and_categories(mixed_trained: tuple[Path, Path], tmp_path: Path) -> None:
    dataset, model_dir = mixed_trained
    model = ContractModel.load(model_dir)
    frame = pd.read_parquet(dataset / "test.parquet")
    text = frame.astype(object)
    flag = next(f.name for f in model.signature.features if f.kind == "boolean")
    text.loc[0, flag] = "maybe"
    text.loc[1, flag] = " TRUE" if frame.loc[1, flag] else "False "  # text, any case
    text.to_csv(tmp_path / "in.csv", index=False)
    config = ScoreConfig(data_uri=str(tmp_path / "in.csv"), max_error_fraction=0.5)
    result = score(model, config, tmp_path / "out")
    assert result.rows_rejected == 1
    assert result.top_reasons() == {f"column '{flag}' is not true or false": 1.0}
    out = pd.read_parquet(tmp_path / "out")
    expected = model.predict_frame(frame.iloc[1:])
    np.testing.assert_allclose(out[["probability_no", "probability_yes"]], expected, atol=1e-6)


def test_regression_histogram(regression_trained: tuple[Path, Path], tmp_path: Path) -> None:
    dataset, model_dir = regression_trained
    model = ContractModel.load(model_dir)
    frame = pd.read_parquet(dataset / "test.parquet")
    frame.to_parquet(tmp_path / "in.parquet", row_group_size=20)
    config = ScoreConfig(data_uri=str(tmp_path / "in.parquet"), chunk_rows=20)
    result = score(model, config, tmp_path / "out")
    out = pd.read_parquet(tmp_path / "out")
    np.testing.assert_allclose(out["prediction"], model.predict_frame(frame), rtol=1e-6)
    assert "probability_" not in "".join(out.columns)
    # bins from the first chunk, overflow bins for what falls outside them
    assert sum(result.distribution.values()) == len(frame)
    assert len(result.distribution) >= 10


def test_the_reader_yields_bounded_chunks(tmp_path: Path) -> None:
    rows = 10_000
    table = pa.table({"a": np.arange(rows, dtype=np.float32), "b": np.ones(rows)})
    pq.write_table(table, tmp_path / "in.parquet", row_group_size=4_000)
    pd.DataFrame({"a": range(rows), "b": ["x" * 50] * rows}).to_csv(tmp_path / "in.csv")
    files = list_inputs(str(tmp_path))
    parquet = list(iter_chunks([f for f in files if f.is_parquet], ["a"], chunk_rows=1_000))
    assert max(c.batch.num_rows for c in parquet) == 1_000
    assert sum(c.batch.num_rows for c in parquet) == rows
    assert parquet[-1].offset == rows - 1_000 and parquet[0].batch.schema.names == ["a"]
    csv = list(iter_chunks([f for f in files if not f.is_parquet], ["a", "b"], block_bytes=64_000))
    assert len(csv) > 5 and max(c.batch.nbytes for c in csv) < 200_000
    assert sum(c.batch.num_rows for c in csv) == rows
    assert csv[0].batch.schema.field("a").type == pa.string()  # checked per row, not by the reader


@pytest.mark.parametrize(
    ("uri", "message"),
    [
        ("{tmp}/nothing-here.parquet", "does not exist"),
        ("{tmp}/empty-dir", "holds no CSV or Parquet files"),
        ("{tmp}/notes.txt", "neither CSV nor Parquet"),
        ("{tmp}/broken.parquet", "Could not read"),
        ("{tmp}/no-rows.csv", "holds no rows to score"),
    ],
)
def test_bad_inputs(
    digits: tuple[pd.DataFrame, ContractModel], tmp_path: Path, uri: str, message: str
) -> None:
    (tmp_path / "empty-dir").mkdir()
    (tmp_path / "notes.txt").write_text("hello")
    (tmp_path / "broken.parquet").write_bytes(b"PAR1 not really")
    (tmp_path / "no-rows.csv").write_text(",".join(digits[0].columns) + "\n")
    config = ScoreConfig(data_uri=uri.format(tmp=tmp_path))
    with pytest.raises(DataError, match=message):
        score(digits[1], config, tmp_path / "out")
    assert not (tmp_path / "out").exists()


def test_parameter_checks() -> None:
    assert parse_keep_columns(" id, region ,") == ("id", "region")
    with pytest.raises(BadInput, match="names 'id' twice"):
        parse_keep_columns("id,id")
    with pytest.raises(BadInput, match="'prediction', which is an output column"):
        parse_keep_columns("prediction")
    assert check_fraction(0) == 0.0
    for bad in (-0.1, 1.5, True, "0.1"):
        with pytest.raises(BadInput, match="max_error_fraction must be a number between 0 and 1"):
            check_fraction(bad)
