"""Issue 12's acceptance through the real CLI: other tasks, real tables, models, pipelines."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from freshet.components.evaluate.core import score
from tests.fakes.contract_models import mixed_frame
from tests.integration.helpers import freshet, summary_of

pytestmark = pytest.mark.slow
REPO = Path(__file__).resolve().parents[2]
QUICK = ("-p", "latency_requests=20", "-p", "golden_count=20")


def run_ok(*args: str, cwd: Path) -> dict[str, Any]:
    result = freshet("run", *args, *QUICK, cwd=cwd)
    assert result.returncode == 0, result.stdout + result.stderr
    return summary_of(Path(args[args.index("--root") + 1]), result.stdout) | {
        "_stdout": result.stdout,
        "_stderr": result.stderr,
    }


def verification_checks(summary: dict[str, Any]) -> dict[str, bool]:
    report = json.loads(Path(summary["artifacts"]["verification_report"]).read_text())
    return {check["name"]: check["passed"] for check in report["checks"]}


@pytest.fixture(scope="module")
def work(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("byo")


def test_a_regression_target_trains_a_regressor_that_serves_values(work: Path) -> None:
    from sklearn.datasets import load_diabetes

    frame = load_diabetes(as_frame=True).frame.rename(columns={"target": "label"})
    frame.to_csv(work / "diabetes.csv", index=False)
    summary = run_ok(
        "--root", str(work / "reg"), "--data", str(work / "diabetes.csv"),
        "-p", "epochs=60", "-p", "hidden_units=32", "-p", "patience=5", cwd=work,
    )  # fmt: skip
    assert "task: regression" in summary["_stderr"] + summary["_stdout"]
    assert {"rmse", "mae", "r2"} <= set(summary["metrics"])
    assert summary["metrics"]["r2"] > 0.2
    assert summary["gate"]["metric"] == "rmse" and summary["gate"]["direction"] == "lower"
    assert summary["decision"] == "passed" and summary["verification"] == "passed"
    golden = json.loads((Path(summary["artifacts"]["bundle"]) / "golden.json").read_text())
    assert "value" in json.dumps(golden["examples"][0])


def test_a_table_with_text_booleans_and_gaps_trains_and_serves_raw_rows(work: Path) -> None:
    mixed_frame(rows=600, seed=3).to_csv(work / "mixed.csv", index=False)
    summary = run_ok(
        "--root", str(work / "mixed"), "--data", str(work / "mixed.csv"),
        "-p", "epochs=15", "-p", "gate_threshold=0.7", cwd=work,
    )  # fmt: skip
    assert summary["metrics"]["accuracy"] >= 0.7
    assert summary["verification"] == "passed"
    checks = verification_checks(summary)
    assert checks["unseen_category"] and checks["golden_objects"]
    golden = json.loads((Path(summary["artifacts"]["bundle"]) / "golden.json").read_text())
    instances = [example["instance"] for example in golden["examples"]]
    assert any(value is None for row in instances for value in row.values())
    assert any(isinstance(value, str) for row in instances for value in row.values())


FACTORY = """
import torch
from torch import nn


class Residual(nn.Module):
    def __init__(self, width: int) -> None:
        super().__init__()
        self.block = nn.Sequential(nn.Linear(width, width), nn.ReLU(), nn.Linear(width, width))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.relu(x + self.block(x))


def residual_mlp(n_inputs: int, n_outputs: int, params: dict) -> nn.Module:
    width = int(params.get("width", 48))
    return nn.Sequential(nn.Linear(n_inputs, width), Residual(width), nn.Linear(width, n_outputs))


def not_a_module(n_inputs: int, n_outputs: int, params: dict) -> object:
    return "a string"
"""


def test_a_factory_module_outside_the_repo_trains(work: Path) -> None:
    project = work / "myproject"
    project.mkdir()
    (project / "mymodels.py").write_text(textwrap.dedent(FACTORY))
    summary = run_ok(
        "--root", str(project / "root"), "-p", "model=mymodels:residual_mlp",
        "-p", 'model_params={"width": 40}', "-p", "epochs=8", cwd=project,
    )  # fmt: skip
    assert summary["decision"] == "passed" and summary["verification"] == "passed"
    assert summary["metrics"]["accuracy"] >= 0.9
    signature = json.loads((Path(summary["artifacts"]["model"]) / "signature.json").read_text())
    assert signature["producer"] == "freshet.train"


@pytest.mark.parametrize(
    ("args", "sentence"),
    [
        (("-p", "model=nowhere.models:net"), "nowhere.models"),
        (("-p", "model=mymodels:not_a_module"), "mymodels:not_a_module"),
        (("-p", "task=regression", "--data", "TEXTLABEL"), "regression"),
        (("-p", "task=classification", "--data", "ONECLASS"), "single class"),
        (("-p", "gate_metric=rmse"), "rmse"),
        (("--data", "EMPTYCOLUMN"), "empty"),
    ],
)
def test_bad_input_is_one_sentence_exit_2_and_nothing_written(
    work: Path, args: tuple[str, ...], sentence: str
) -> None:
    project = work / "myproject"
    frames = {
        "TEXTLABEL": mixed_frame(rows=50),
        "ONECLASS": mixed_frame(rows=50).assign(label="yes"),
        "EMPTYCOLUMN": mixed_frame(rows=50).assign(empty=np.nan),
    }
    resolved = []
    for arg in args:
        if arg in frames:
            path = project / f"{arg.lower()}.csv"
            frames[arg].to_csv(path, index=False)
            arg = str(path)
        resolved.append(arg)
    root = project / f"bad-{abs(hash(args))}"
    result = freshet("run", "--root", str(root), *resolved, cwd=project)
    assert result.returncode == 2, result.stdout + result.stderr
    assert sentence in result.stderr
    assert "Traceback" not in result.stderr
    assert not (root / "runs").exists() or not any((root / "runs").iterdir())


def test_the_gradient_boosting_pipeline_ships_through_the_same_steps(work: Path) -> None:
    summary = run_ok(
        "training-gbt", "--root", str(work / "gbt"), "--data", str(work / "mixed.csv"),
        "-p", "max_iter=40", "-p", "gate_threshold=0.7", cwd=work,
    )  # fmt: skip
    assert summary["pipeline"] == "training-gbt"
    assert summary["decision"] == "passed" and summary["verification"] == "passed"
    assert summary["champion"]["promoted_by_this_run"]
    signature = json.loads((Path(summary["artifacts"]["model"]) / "signature.json").read_text())
    assert signature["producer"] == "freshet.train_gbt"


def test_the_example_project_runs_end_to_end(work: Path) -> None:
    project = work / "churn"
    shutil.copytree(REPO / "examples" / "churn", project)
    summary = run_ok("churn", "--root", str(project / "root"), cwd=project)
    assert summary["pipeline"] == "churn"
    assert summary["decision"] == "passed" and summary["verification"] == "passed"
    signature = json.loads((Path(summary["artifacts"]["model"]) / "signature.json").read_text())
    assert signature["producer"] == "churn_project.forest"
    assert (project / "root/registry/churn/aliases/champion.json").exists()
    own = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "tests"],
        cwd=project,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert own.returncode == 0, own.stdout + own.stderr


def test_the_champion_is_scored_again_on_the_new_split(work: Path) -> None:
    root = work / "shift"
    frame = mixed_frame(rows=600, seed=11)
    frame.to_csv(work / "before.csv", index=False)
    first = run_ok(
        "--root", str(root), "--data", str(work / "before.csv"), "-p", "epochs=10",
        "-p", "gate_threshold=0.6", "-p", "model_name=churn", cwd=work,
    )  # fmt: skip
    assert first["champion"]["version"] == 1
    shifted = mixed_frame(rows=600, seed=12)
    shifted["income"] = shifted["income"] + 15.0
    shifted.to_csv(work / "after.csv", index=False)
    second = run_ok(
        "--root", str(root), "--data", str(work / "after.csv"), "-p", "epochs=10",
        "-p", "gate_threshold=0.6", "-p", "model_name=churn", "-p", "max_regression=1", cwd=work,
    )  # fmt: skip
    gate = second["gate"]
    assert gate["champion_version"] == 1
    champion_dir = root / "registry/churn/versions/1"
    rescored = score(champion_dir, Path(second["artifacts"]["dataset"]))
    assert gate["champion"] == pytest.approx(rescored.metrics["accuracy"])
    stored = json.loads((champion_dir / "version.json").read_text())["metrics"]["accuracy"]
    assert first["metrics"]["accuracy"] == pytest.approx(stored)
    assert pd.read_parquet(Path(second["artifacts"]["dataset"]) / "test.parquet")[
        "income"
    ].mean() > (
        pd.read_parquet(Path(first["artifacts"]["dataset"]) / "test.parquet")["income"].mean()
    )


def test_a_scaffolded_project_runs_straight_away(work: Path) -> None:
    made = freshet("init", str(work / "fraud-model"), cwd=work)
    assert made.returncode == 0, made.stdout + made.stderr
    project = work / "fraud-model"
    summary = run_ok("fraud-model", "--root", str(project / "root"), "-p", "epochs=5", cwd=project)
    assert summary["pipeline"] == "fraud-model"
    assert summary["status"] == "succeeded" and summary["verification"] == "passed"
    note = "model: 'fraud_model.models:factory'"
    assert note in summary["_stderr"]
