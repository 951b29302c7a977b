"""The gate component's function, called with kfp artifact objects (no kfp runner)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from kfp.dsl import Artifact, Dataset

from freshet.components.evaluate.core import score
from freshet.components.gate.component import gate
from freshet.registry import LocalRegistry
from tests.fakes.contract_models import regression_frame, train_linear, write_dataset


def run_gate(tmp_path: Path, data: Path, **params: object) -> tuple[str, Artifact]:
    (tmp_path / "evaluation").write_text(score(tmp_path / "model", data).to_json())
    report = Artifact(uri=str(tmp_path / "report"))
    settings = {
        "registry_uri": str(tmp_path / "registry"),
        "model_name": "m",
        "gate_metric": "",
        "gate_threshold": "auto",
        "max_regression": 0.0,
        **params,
    }
    decision = gate(
        dataset=Dataset(uri=str(data)),
        evaluation=Artifact(uri=str(tmp_path / "evaluation")),
        report=report,
        **settings,  # type: ignore[arg-type]
    )
    return decision, report


def test_gate_writes_the_record(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    data = write_dataset(tmp_path / "data", regression_frame(200), "regression")
    train_linear(data, tmp_path / "model")
    older = write_dataset(tmp_path / "older", regression_frame(120), "regression")
    train_linear(older, tmp_path / "champion")
    registry = LocalRegistry(tmp_path / "registry")
    registry.register("m", tmp_path / "champion", metrics={"rmse": 1.0})

    decision, report = run_gate(tmp_path, data, max_regression=100.0)

    record = json.loads((tmp_path / "report").read_text())
    assert decision == record["decision"] == "passed"
    assert record["metric"] == "rmse" and record["champion_version"] == 1
    on_this_split = score(tmp_path / "champion", data).metrics["rmse"]
    assert record["champion"] == on_this_split != 1.0  # scored on these rows, not the stored
    assert report.metadata == {"decision": "passed", "reasons": record["reasons"], "metric": "rmse"}
    assert capsys.readouterr().out.startswith("gate: passed: No ceiling on rmse")


def test_the_champions_own_model_is_unchanged(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    data = write_dataset(tmp_path / "data", regression_frame(200), "regression")
    train_linear(data, tmp_path / "model")
    LocalRegistry(tmp_path / "registry").register("m", tmp_path / "model", metrics={"rmse": 1.0})

    decision, report = run_gate(tmp_path, data)

    record = json.loads((tmp_path / "report").read_text())
    assert decision == record["decision"] == "unchanged"
    assert record["champion_version"] == 1 and record["champion"] is None
    assert report.metadata == {
        "decision": "unchanged",
        "reasons": record["reasons"],
        "metric": "rmse",
    }
    assert capsys.readouterr().out.startswith("gate: unchanged: The candidate is champion v1")


def test_bad_parameter_is_one_line(tmp_path: Path) -> None:
    data = write_dataset(tmp_path / "data", regression_frame(100), "regression")
    train_linear(data, tmp_path / "model")
    with pytest.raises(SystemExit, match="^gate: Gate metric 'accuracy' does not exist for a "):
        run_gate(tmp_path, data, gate_metric="accuracy")
    assert not (tmp_path / "report").exists()
