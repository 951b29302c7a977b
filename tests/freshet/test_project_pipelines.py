"""A project's own pipelines under `[pipelines]` in freshet.toml, compiled and run as shipped."""

from __future__ import annotations

import json
import sys
import uuid
from dataclasses import dataclass
from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from freshet.cli import app
from freshet.compile import compile_pipeline, pipeline_names
from freshet.config import load_settings
from freshet.errors import BadInput
from freshet.trigger.handler import CompiledTemplates

runner = CliRunner()

PIPE = """\
from tests.freshet.tiny_pipelines import adder

PIPELINE = adder()
NOT_CALLABLE = 3


def build(settings):
    assert settings.images.components  # the builder gets freshet's settings
    return adder()


def not_a_pipeline(settings):
    return {"name": "adder"}


def broken(settings):
    raise RuntimeError("no GPU here\\nsecond line")
"""


@dataclass
class Project:
    root: Path
    package: str

    def configure(self, **pipelines: str) -> None:
        lines = [f'{name} = "{reference}"' for name, reference in pipelines.items()]
        (self.root / "freshet.toml").write_text(
            'build_dir = "build"\n\n[pipelines]\n' + "\n".join(lines) + "\n"
        )


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Project:
    """A project directory holding a package of its own (a fresh name per test), as cwd."""
    package = f"proj_{uuid.uuid4().hex[:8]}"
    root = tmp_path / "project"
    (root / package).mkdir(parents=True)
    (root / package / "__init__.py").write_text("")
    (root / package / "pipe.py").write_text(PIPE)
    (root / package / "broken_import.py").write_text("import not_installed_anywhere_xyz\n")
    monkeypatch.chdir(root)
    monkeypatch.setattr(sys, "path", list(sys.path))  # compile puts the project on it
    for name in [m for m in sys.modules if m.startswith(package)]:
        monkeypatch.delitem(sys.modules, name)
    made = Project(root, package)
    made.configure(mine=f"{package}.pipe:build")
    return made


def test_a_project_pipeline_is_known_compiled_and_run_like_freshet_s(project: Project) -> None:
    settings = load_settings()
    assert settings.pipelines == {"mine": f"{project.package}.pipe:build"}
    assert {"mine", "training"} <= set(pipeline_names(settings))
    assert "mine" not in pipeline_names()

    compiled = runner.invoke(app, ["compile", "mine"])
    assert compiled.exit_code == 0, compiled.output
    assert compiled.stdout.strip() == "build/mine.yaml"
    spec = yaml.safe_load((project.root / "build/mine.yaml").read_text())
    assert spec["pipelineInfo"]["name"] == "adder"

    ran = runner.invoke(app, ["run", "mine", "-p", "x=5", "--root", "state"])
    assert ran.exit_code == 0, ran.output
    [summary_path] = (project.root / "state" / "runs").glob("*/summary.json")
    summary = json.loads(summary_path.read_text())
    assert summary["status"] == "succeeded" and summary["parameters"] == {"x": 5}

    unknown = runner.invoke(app, ["run", "nope"])
    assert unknown.exit_code == 2
    assert unknown.stderr.startswith("error: Unknown pipeline 'nope'; known pipelines: ")
    assert "mine" in unknown.stderr


def test_triggers_and_every_compile_take_project_pipelines(project: Project) -> None:
    settings = load_settings()
    path, version = CompiledTemplates(settings)("mine")
    assert path == Path("build/mine.yaml") and version.startswith("sha256-")
    everything = runner.invoke(app, ["compile", "--out", "all"])
    assert everything.exit_code == 0, everything.output
    assert "all/mine.yaml" in everything.stdout.split()


def test_a_pipeline_object_may_be_named_directly(project: Project) -> None:
    project.configure(direct=f"{project.package}.pipe:PIPELINE")
    path = compile_pipeline("direct", load_settings(), project.root / "out")
    assert yaml.safe_load(path.read_text())["pipelineInfo"]["name"] == "adder"


def test_a_project_entry_may_replace_a_shipped_pipeline(project: Project) -> None:
    project.configure(training=f"{project.package}.pipe:build")
    path = compile_pipeline("training", load_settings(), project.root / "out")
    assert yaml.safe_load(path.read_text())["pipelineInfo"]["name"] == "adder"


@pytest.mark.parametrize(
    ("reference", "message"),
    [
        (
            "nowhere_pkg_xyz.pipe:build",
            "Pipeline 'bad' 'nowhere_pkg_xyz.pipe:build' cannot be imported: "
            "ModuleNotFoundError: No module named 'nowhere_pkg_xyz'.",
        ),
        (
            "{package}.broken_import:build",
            "Pipeline 'bad' '{package}.broken_import:build' cannot be imported: "
            "ModuleNotFoundError: No module named 'not_installed_anywhere_xyz'.",
        ),
        (
            "{package}.pipe:missing",
            "Pipeline 'bad' '{package}.pipe:missing': module '{package}.pipe' has no 'missing'.",
        ),
        (
            "{package}.pipe:not_a_pipeline",
            "Pipeline 'bad': {package}.pipe:not_a_pipeline(settings) returned dict, not a kfp "
            "pipeline (a function decorated with @dsl.pipeline).",
        ),
        (
            "{package}.pipe:broken",
            "Pipeline 'bad': {package}.pipe:broken(settings) failed: RuntimeError: no GPU here.",
        ),
        (
            "{package}.pipe:NOT_CALLABLE",
            "Pipeline 'bad' '{package}.pipe:NOT_CALLABLE' is neither a function nor a kfp "
            "pipeline.",
        ),
    ],
)
def test_a_bad_entry_is_one_sentence_and_exit_2(
    project: Project, reference: str, message: str
) -> None:
    project.configure(bad=reference.format(package=project.package))
    with pytest.raises(BadInput) as caught:
        compile_pipeline("bad", load_settings(), project.root / "out")
    assert str(caught.value) == message.format(package=project.package)
    result = runner.invoke(app, ["compile", "bad"])
    assert (result.exit_code, result.stderr) == (2, f"error: {caught.value}\n")
    assert not (project.root / "build").exists()


@pytest.mark.parametrize(
    ("line", "message"),
    [
        (
            'mine = "pkg.pipe"',
            "error: Invalid settings: pipelines.mine: must name the pipeline's builder as "
            "'package.module:function' (got 'pkg.pipe').",
        ),
        (
            'Mine = "pkg.pipe:build"',
            "error: Invalid settings: pipelines.Mine.[key]: a pipeline name must be lowercase "
            "letters, digits, '_' and '-', starting with a letter (got 'Mine').",
        ),
    ],
)
def test_a_malformed_entry_is_refused_when_settings_load(
    project: Project, line: str, message: str
) -> None:
    (project.root / "freshet.toml").write_text(f"[pipelines]\n{line}\n")
    result = runner.invoke(app, ["compile"])
    assert (result.exit_code, result.stderr) == (2, message + "\n")
