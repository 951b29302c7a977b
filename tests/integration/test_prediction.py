"""The prediction pipeline after a training run, run locally from its YAML by the real CLI."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from sklearn.datasets import load_digits

from freshet.registry import open_registry
from tests.integration.helpers import freshet, steps_by_name, summary_of

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def workdir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A root whose registry holds the champion a real (short) training run registered."""
    work = tmp_path_factory.mktemp("predict")
    trained = freshet(
        "run", "--root", str(work / "root"), "-p", "epochs=3", "-p", "gate_threshold=none", cwd=work
    )
    assert trained.returncode == 0, trained.stderr + trained.stdout
    assert summary_of(work / "root", trained.stdout)["champion"]["version"] == 1
    # new data without its label: the model's signature decides the columns
    frame = load_digits(as_frame=True).frame
    frame.insert(0, "id", [f"digit-{i}" for i in range(len(frame))])
    frame.drop(columns=["target"]).to_parquet(work / "new.parquet", row_group_size=500)
    frame[["id", "target"]].to_parquet(work / "truth.parquet")
    return work


def predict(work: Path, output: str, *params: str) -> Any:
    args = ["-p", f"output_uri={work / output}", "-p", "keep_columns=id", *params]
    return freshet(
        "run", "prediction", "--root", str(work / "root"), "--data", "new.parquet", *args, cwd=work
    )


@pytest.fixture(scope="module")
def first(workdir: Path) -> dict[str, Any]:
    result = predict(workdir, "out1")
    assert result.returncode == 0, result.stderr + result.stdout
    return summary_of(workdir / "root", result.stdout)


def test_the_champion_scores_every_row(first: dict[str, Any], workdir: Path) -> None:
    steps = steps_by_name(first)
    assert list(steps)[:4] == ["data-version", "resolve-model", "score", "write"]
    assert all(s["status"] == "succeeded" and not s["cached"] for s in steps.values())
    assert first["metrics"]["rows_in"] == first["metrics"]["rows_scored"] == 1797
    assert first["metrics"]["rows_rejected"] == 0 and first["metrics"]["rows_per_s"] > 0
    distribution = first["breakdowns"]["prediction_distribution"]
    assert sorted(distribution) == [str(d) for d in range(10)]
    assert sum(distribution.values()) == 1797
    out = pd.read_parquet(workdir / "out1").merge(pd.read_parquet(workdir / "truth.parquet"))
    assert len(out) == 1797 and set(out["run_id"]) == {first["run_id"]}
    assert (out["prediction"].astype(str) == out["target"].astype(str)).mean() > 0.8
    assert set(out["model_version"]) == {"model@1"}
    assert set(out["data_version"]) == {first["data_version"]}
    manifest = json.loads((workdir / "out1" / "_SUCCESS").read_text())
    assert manifest["run_id"] == first["run_id"]
    assert manifest["rows_scored"] == 1797 and isinstance(manifest["rows_scored"], int)
    report = Path(first["artifacts"]["report"]).read_text()
    assert "Prediction distribution" in report and "rows_per_s" in report
    assert "Against the champion" not in report  # no gate in this pipeline


def test_a_finished_output_is_refused_before_anything_runs(
    first: dict[str, Any], workdir: Path
) -> None:
    runs = sorted((workdir / "root" / "runs").iterdir())
    result = predict(workdir, "out1")
    assert result.returncode == 2
    assert "already holds a finished run's predictions" in result.stderr
    assert "Traceback" not in result.stderr
    assert sorted((workdir / "root" / "runs").iterdir()) == runs


def test_same_data_same_champion_is_served_from_cache(first: dict[str, Any], workdir: Path) -> None:
    result = predict(workdir, "out2")
    assert result.returncode == 0, result.stderr
    again = summary_of(workdir / "root", result.stdout)
    steps = steps_by_name(again)
    assert steps["score"]["cached"]
    assert not steps["resolve-model"]["cached"] and not steps["write"]["cached"]
    assert again["metrics"] == first["metrics"]
    assert set(pd.read_parquet(workdir / "out2")["run_id"]) == {again["run_id"]}


def test_a_new_champion_rescores(
    first: dict[str, Any], workdir: Path, trained: tuple[Path, Path]
) -> None:
    registry = open_registry(str(workdir / "root" / "registry"))
    assert registry.register("model", trained[1], run_id="another").version == 2
    result = predict(workdir, "out3")
    assert result.returncode == 0, result.stderr
    rescored = summary_of(workdir / "root", result.stdout)
    assert not steps_by_name(rescored)["score"]["cached"]
    assert set(pd.read_parquet(workdir / "out3")["model_version"]) == {"model@2"}
    # a fixed version scores with that version, whatever the champion is
    fixed = predict(workdir, "out4", "-p", "model_version=1")
    assert fixed.returncode == 0, fixed.stderr
    assert steps_by_name(summary_of(workdir / "root", fixed.stdout))["score"]["cached"]


@pytest.mark.parametrize(
    ("params", "data", "message"),
    [
        # each preflight's other refusals: tests/components/score/test_preflight.py
        (["-p", "model_name=churn"], "new.parquet", "has no model 'churn'"),
        ([], "narrow.parquet", "has no column 'pixel_7_7', a feature column"),
    ],
)
def test_bad_input_is_one_sentence_and_exit_2(
    first: dict[str, Any], workdir: Path, params: list[str], data: str, message: str
) -> None:
    pd.read_parquet(workdir / "new.parquet").iloc[:10, :-1].to_parquet(workdir / "narrow.parquet")
    runs = sorted((workdir / "root" / "runs").iterdir())
    result = freshet(
        "run",
        "prediction",
        "--root",
        str(workdir / "root"),
        "--data",
        data,
        "-p",
        f"output_uri={workdir / 'refused'}",
        *params,
        cwd=workdir,
    )
    assert result.returncode == 2, result.stderr
    assert message in result.stderr and "Traceback" not in result.stderr
    assert sorted((workdir / "root" / "runs").iterdir()) == runs
    assert not (workdir / "refused").exists()
