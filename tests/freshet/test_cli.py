"""Bad input on the command line: one sentence, exit code 2, nothing written.

Bad data is the business of the steps' own preflights (tests/components/*); here a
purpose-built pipeline's preflight stands for them.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from freshet.cli import app
from freshet.compile import pipeline_names
from freshet.registry import LocalRegistry
from tests.freshet.tiny_pipelines import checked, compile_to
from tests.integration.helpers import freshet

runner = CliRunner()


def listing(root: Path) -> list[tuple[str, int]]:
    return sorted((str(p.relative_to(root)), p.stat().st_size) for p in root.rglob("*"))


@pytest.fixture
def root(tmp_path: Path) -> Path:
    """A local root whose registry already holds a champion."""
    model = tmp_path / "model"
    model.mkdir()
    (model / "model.onnx").write_bytes(b"w")
    (model / "signature.json").write_text("{}")
    LocalRegistry(tmp_path / "root" / "registry").register("classifier", model)
    return tmp_path / "root"


def bad_inputs(tmp: Path) -> dict[str, tuple[list[str], str]]:
    """Bad input for the purpose-built `checked` pipeline, whose first step refuses x < 0."""
    template = str(compile_to(checked(refuse=True), tmp / "checked.yaml"))
    return {
        "preflight": ([template, "--param", "x=-1"], "x must not be negative: -1."),
        "unknown param": (
            [template, "--param", "epoch=3"],
            "Unknown parameter 'epoch' for pipeline 'checked'; known: data_uri, x.",
        ),
        "param type": ([template, "--param", "x=ten"], "Parameter 'x' must be integer, not 'ten'."),
        "param form": ([template, "--param", "x"], "Parameter 'x' is not in the form KEY=VALUE."),
        "bad run id": ([template, "--run-id", "Bad Id"], "Run id 'Bad Id' is not valid"),
        "missing template": (
            [str(tmp / "nope.yaml")],
            f"Pipeline template not found: '{tmp / 'nope.yaml'}'.",
        ),
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


def test_unknown_pipeline(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    result = runner.invoke(app, ["run", "nope", "--root", str(tmp_path)])
    assert result.exit_code == 2
    known = ", ".join(pipeline_names())
    assert result.stderr.strip() == f"error: Unknown pipeline 'nope'; known pipelines: {known}."


def test_real_process_prints_no_traceback(tmp_path: Path, root: Path) -> None:
    before = listing(root)
    template = compile_to(checked(refuse=True), tmp_path / "checked.yaml")
    checkout = str(Path(__file__).resolve().parents[2])  # where tests.freshet imports from
    result = freshet(
        "run",
        str(template),
        "--root",
        str(root),
        "-p",
        "x=-5",
        cwd=tmp_path,
        env={"PYTHONPATH": checkout},
    )
    assert result.returncode == 2
    assert result.stderr == "error: x must not be negative: -5.\n"
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


def test_compile_writes_yaml(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    result = runner.invoke(app, ["compile", "--out", str(tmp_path / "out")])
    assert result.exit_code == 0, result.output
    expected = [str(tmp_path / "out" / f"{name}.yaml") for name in pipeline_names()]
    assert result.stdout.split() == expected
    assert all(Path(path).exists() for path in expected)
    one = runner.invoke(app, ["compile", "training", "--out", str(tmp_path / "one")])
    assert one.stdout.split() == [str(tmp_path / "one" / "training.yaml")]
