"""Bad input on the command line: one sentence, exit code 2, nothing written."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from freshet.cli import app
from freshet.registry import LocalRegistry
from tests.integration.helpers import freshet

runner = CliRunner()


def listing(root: Path) -> list[tuple[str, int]]:
    return sorted((str(p.relative_to(root)), p.stat().st_size) for p in root.rglob("*"))


@pytest.fixture
def root(tmp_path: Path) -> Path:
    """A local root whose registry already holds a champion."""
    model = tmp_path / "model"
    model.mkdir()
    (model / "model.pt").write_bytes(b"w")
    (model / "model.json").write_text("{}")
    LocalRegistry(tmp_path / "root" / "registry").register("classifier", model)
    return tmp_path / "root"


def csv(tmp_path: Path, name: str, frame: pd.DataFrame) -> str:
    path = tmp_path / name
    frame.to_csv(path, index=False)
    return str(path)


def bad_inputs(tmp: Path) -> dict[str, tuple[list[str], str]]:
    rows = 30
    return {
        "missing file": (
            ["--data", str(tmp / "missing.csv")],
            f"Data file not found: '{tmp / 'missing.csv'}'.",
        ),
        "unknown scheme": (
            ["--data", "s3://bucket/data.csv"],
            "Unknown data URI scheme 's3' in 's3://bucket/data.csv'; use a local "
            "path, file://, gs:// or sample://.",
        ),
        "empty dataset": (
            ["--data", csv(tmp, "empty.csv", pd.DataFrame({"x": [], "label": []}))],
            f"The dataset at '{tmp / 'empty.csv'}' has no rows.",
        ),
        "missing label": (
            ["--data", csv(tmp, "nolabel.csv", pd.DataFrame({"x": range(rows), "y": range(rows)}))],
            f"Label column 'label' not found in '{tmp / 'nolabel.csv'}'; its columns are: x, y.",
        ),
        "label column param": (
            ["--data", str(tmp / "nolabel.csv"), "--param", "label_column=z"],
            f"Label column 'z' not found in '{tmp / 'nolabel.csv'}'; its columns are: x, y.",
        ),
        "non-numeric feature": (
            [
                "--data",
                csv(
                    tmp,
                    "text.csv",
                    pd.DataFrame({"x": ["a", "b", "c"] * 10, "label": [0, 1, 2] * 10}),
                ),
            ],
            f"Feature column 'x' in '{tmp / 'text.csv'}' is not numeric (for example 'a').",
        ),
        "single class": (
            ["--data", csv(tmp, "one.csv", pd.DataFrame({"x": range(rows), "label": [7] * rows}))],
            f"Label column 'label' in '{tmp / 'one.csv'}' has a single class (7); a classifier "
            "needs at least two.",
        ),
        "unknown param": (
            ["--param", "epoch=3"],
            "Unknown parameter 'epoch' for pipeline 'training'; known: alert_webhook, batch_size,",
        ),
        "param type": (["--param", "epochs=ten"], "Parameter 'epochs' must be integer, not 'ten'."),
        "param form": (["--param", "epochs"], "Parameter 'epochs' is not in the form KEY=VALUE."),
        "param range": (
            ["--param", "min_accuracy=2"],
            "min_accuracy must be between 0 and 1: 2.0.",
        ),
        "bad epochs": (["--param", "epochs=0"], "epochs must be at least 1: 0."),
        "bad run id": (["--run-id", "Bad Id"], "Run id 'Bad Id' is not valid"),
    }


def test_every_bad_input_exits_2_with_one_sentence_and_writes_nothing(
    tmp_path: Path, root: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    before = listing(root)
    for case, (args, message) in bad_inputs(tmp_path).items():
        result = runner.invoke(app, ["run", "--root", str(root), *args])
        assert result.exit_code == 2, (case, result.output)
        lines = result.stderr.strip().splitlines()
        assert len(lines) == 1, (case, result.stderr)
        assert lines[0].startswith(f"error: {message}"), (case, lines[0])
        assert listing(root) == before, case
    assert not (root / "runs").exists()


def test_unknown_pipeline(tmp_path: Path) -> None:
    result = runner.invoke(app, ["run", "nope", "--root", str(tmp_path)])
    assert result.exit_code == 2
    assert result.stderr.strip() == "error: Unknown pipeline 'nope'; known pipelines: training."


def test_real_process_prints_no_traceback(tmp_path: Path, root: Path) -> None:
    before = listing(root)
    result = freshet("run", "--root", str(root), "--data", str(tmp_path / "nope.csv"), cwd=tmp_path)
    assert result.returncode == 2
    assert result.stderr == f"error: Data file not found: '{tmp_path / 'nope.csv'}'.\n"
    assert result.stdout == ""
    assert listing(root) == before


def test_help_imports_no_heavy_modules() -> None:
    code = (
        "import sys\n"
        "from typer.testing import CliRunner\n"
        "from freshet.cli import app\n"
        "result = CliRunner().invoke(app, ['--help'])\n"
        "assert result.exit_code == 0, result.output\n"
        "heavy = [m for m in ('torch', 'google.cloud.aiplatform', 'kfp', 'sklearn', 'onnxruntime')"
        " if m in sys.modules]\n"
        "print(heavy)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_compile_writes_yaml(tmp_path: Path) -> None:
    result = runner.invoke(app, ["compile", "--out", str(tmp_path / "out")])
    assert result.exit_code == 0, result.output
    assert (tmp_path / "out" / "training.yaml").exists()
    assert result.stdout.strip() == str(tmp_path / "out" / "training.yaml")
