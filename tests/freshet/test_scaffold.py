"""`freshet init DIR`: a project of one's own that compiles, tests and builds."""

from __future__ import annotations

import subprocess
import sys
import tomllib
from pathlib import Path

import dockerfile
import pytest
import yaml
from typer.testing import CliRunner

from freshet.cli import app
from freshet.compile import compile_pipeline
from freshet.config import load_settings

runner = CliRunner()


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setattr(sys, "path", list(sys.path))  # compiling puts the project on it
    for name in [m for m in sys.modules if m.split(".")[0] == "churn_model"]:
        monkeypatch.delitem(sys.modules, name)  # imported by an earlier test's compile
    result = runner.invoke(app, ["init", str(tmp_path / "churn-model")])
    assert result.exit_code == 0, result.output
    assert "Next: cd " in result.stderr and "freshet run churn-model" in result.stderr
    return tmp_path / "churn-model"


def test_init_writes_a_project_named_after_its_directory(project: Path) -> None:
    files = sorted(str(p.relative_to(project)) for p in project.rglob("*") if p.is_file())
    assert files == [
        ".dockerignore",
        ".gitignore",
        "Dockerfile",
        "README.md",
        "churn_model/__init__.py",
        "churn_model/models.py",
        "churn_model/pipeline.py",
        "freshet.toml",
        "pyproject.toml",
        "tests/test_pipeline.py",
    ]
    toml = tomllib.loads((project / "freshet.toml").read_text())
    assert toml["pipelines"] == {"churn-model": "churn_model.pipeline:build"}
    assert "freshet run churn-model" in (project / "README.md").read_text()


def test_the_project_compiles_from_inside_its_directory(
    project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(project)
    path = compile_pipeline("churn-model", load_settings(), project / "build")
    spec = yaml.safe_load(path.read_text())
    assert spec["pipelineInfo"]["name"] == "churn-model"
    defaults = {
        name: info.get("defaultValue")
        for name, info in spec["root"]["inputDefinitions"]["parameters"].items()
    }
    assert defaults["model"] == "churn_model.models:factory"
    assert defaults["model_name"] == "churn-model"


def test_the_project_s_own_test_passes(project: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "tests"],
        cwd=project,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "2 passed" in result.stdout


def test_the_dockerfile_adds_the_package_onto_a_freshet_image(project: Path) -> None:
    commands = list(dockerfile.parse_file(str(project / "Dockerfile")))
    steps = [(c.cmd.upper(), " ".join(c.value)) for c in commands]
    assert steps[0] == ("ARG", "FRESHET_IMAGE=freshet/components:dev")
    assert steps[1] == ("FROM", "${FRESHET_IMAGE}")
    assert ("COPY", "churn_model /opt/project/churn_model") in steps
    install = next(value for cmd, value in steps if cmd == "RUN")
    assert "pip install" in install and "/opt/project" in install
    assert steps[-1] == ("USER", "10001")  # back to the base image's unprivileged user


@pytest.mark.parametrize(
    ("setup", "args", "message"),
    [
        (
            "file",
            [],
            "is not an empty directory; freshet init writes only into a new or empty one.",
        ),
        (
            "none",
            ["--name", "Bad_Name"],
            "error: The project name 'Bad_Name' cannot name a pipeline: use lowercase letters, "
            "digits and hyphens, starting with a letter (give one with --name).",
        ),
        (
            "none",
            ["--name", "json"],
            "error: The package name 'json' is taken by an installed module; choose another "
            "project name with --name.",
        ),
    ],
)
def test_init_refuses_with_one_sentence_and_writes_nothing(
    tmp_path: Path, setup: str, args: list[str], message: str
) -> None:
    target = tmp_path / "target"
    if setup == "file":
        target.mkdir()
        (target / "notes.txt").write_text("mine")
    result = runner.invoke(app, ["init", str(target), *args])
    assert result.exit_code == 2
    [line] = result.stderr.splitlines()
    assert line.startswith("error: ") and line.endswith(message)
    assert sorted(p.name for p in tmp_path.rglob("*")) == (
        ["notes.txt", "target"] if setup == "file" else []
    )
