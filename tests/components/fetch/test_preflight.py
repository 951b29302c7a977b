"""The fetch preflight and the KFP wrapper around fetch."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from kfp import dsl

from freshet.components.fetch.component import fetch as fetch_component
from freshet.components.fetch.core import DatasetSchema, FetchConfig, inspect
from freshet.components.fetch.preflight import check
from freshet.errors import BadInput, DataError


def write_table(path: Path, rows: int = 40) -> Path:
    pd.DataFrame(
        {
            "x": [float(i) for i in range(rows)],
            "y": [i % 5 for i in range(rows)],
            "member": [i % 3 == 0 for i in range(rows)],
            "city": [["paris", "oslo", "rome", None][i % 4] for i in range(rows)],
            "color": [["red", "blue"][i % 2] for i in range(rows)],
            "day": [f"2024-02-{1 + i % 28:02d}" for i in range(rows)],
            "label": [["no", "yes"][(i // 3) % 2] for i in range(rows)],
        }
    ).to_csv(path, index=False)
    return path


def inputs(path: Path, **extra: Any) -> dict[str, Any]:
    return {"data_uri": str(path), "label_column": "label", "task": "auto", "seed": 0, **extra}


def test_preflight_reports_what_the_run_will_train(tmp_path: Path) -> None:
    path = write_table(tmp_path / "t.csv")
    result = check(inputs(path), {"notes": ["earlier note"]})
    schema = inspect(FetchConfig(uri=str(path)))
    # x, y, member (numeric input) + city (paris, oslo, rome, missing) + color (red, blue).
    assert result == {
        "data_version": schema.data_version,
        "task": "classification",
        "labels": ["no", "yes"],
        "n_inputs": 3 + 4 + 2,
        "n_outputs": 2,
        "notes": [
            "earlier note",
            "task: classification (label 'label' is not numeric (2 distinct values))",
            "Column 'day' holds dates or timestamps, which are not used as features: it is "
            "dropped (derive numeric columns from it to use it).",
        ],
    }


def test_preflight_for_regression(tmp_path: Path) -> None:
    path = write_table(tmp_path / "t.csv")
    result = check(inputs(path, label_column="x", task="regression"), {})
    assert result["task"] == "regression"
    assert result["labels"] == []
    assert result["n_outputs"] == 1
    assert result["n_inputs"] == 2 + 4 + 2 + 2  # y, member; city; color; label as text
    assert result["notes"][0] == "task: regression (task 'regression' was given for label 'x')"


def test_preflight_refuses_what_fetch_refuses(tmp_path: Path) -> None:
    path = write_table(tmp_path / "t.csv")
    for bad, message in [
        (inputs(path, task="ranking"), "Task 'ranking' is not one of auto, classification, "),
        (inputs(path, label_column="city"), "Label column 'city' in "),
        (inputs(path, task="regression"), "Label column 'label' in "),
        (inputs(tmp_path / "none.csv"), "Data file not found"),
    ]:
        with pytest.raises(DataError) as info:
            check(bad, {})
        assert str(info.value).startswith(message)
        with pytest.raises(DataError) as again:
            inspect(
                FetchConfig(uri=bad["data_uri"], label_column=bad["label_column"], task=bad["task"])
            )
        assert str(again.value) == str(info.value)
    with pytest.raises(BadInput) as refused:
        check(inputs(path, seed="seven"), {})
    assert str(refused.value) == "The fetch input 'seed' must be an integer: 'seven'."
    with pytest.raises(BadInput) as refused:
        check(inputs(path, task=3), {})
    assert str(refused.value) == "The fetch input 'task' must be text: 3."


def test_preflight_without_a_known_uri_checks_nothing() -> None:
    assert check({"label_column": "label"}, {"notes": ["kept"]}) == {}


def test_component_prints_the_task_and_records_it(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = write_table(tmp_path / "t.csv")
    version = check(inputs(path), {})["data_version"]
    dataset = dsl.Dataset(uri=str(tmp_path / "ds"))
    fetch_component(str(path), version, "label", "auto", 0, dataset)
    printed = capsys.readouterr().out.splitlines()
    assert printed[0] == "task: classification (label 'label' is not numeric (2 distinct values))"
    assert printed[1].startswith("Column 'day' holds dates or timestamps")
    schema = DatasetSchema.load(tmp_path / "ds")
    assert dataset.metadata["task"] == "classification"
    assert dataset.metadata["task_reason"] == schema.task_reason
    assert dataset.metadata["kinds"] == {"numeric": 2, "boolean": 1, "categorical": 2}
    assert dataset.metadata["dropped"] == ["day"]
    assert dataset.metadata["features"] == 5
    with pytest.raises(SystemExit) as info:
        fetch_component(str(path), version, "label", "ranking", 0, dsl.Dataset(uri=str(tmp_path)))
    assert str(info.value) == (
        "fetch: Task 'ranking' is not one of auto, classification, regression."
    )


def test_submitting_to_vertex_checks_inputs_and_lists_the_version_without_reading(
    tmp_path: Path,
) -> None:
    data = tmp_path / "table.csv"
    data.write_text("not,a,table,with,a,label\n")
    context = check({"data_uri": str(data), "task": "auto"}, {"runner": "vertex"})
    assert set(context) == {"data_version"} and context["data_version"].startswith("sha256-")
    with pytest.raises(BadInput, match="Task 'ranking'"):
        check({"data_uri": str(data), "task": "ranking"}, {"runner": "vertex"})
