"""Spot is a Vertex setting: local runs train in-process, and refuse a Spot template."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from freshet.cli import app
from freshet.compile import compile_pipeline
from freshet.config import load_settings
from tests.integration.helpers import freshet

SPOT_ENV = {
    "FRESHET_TRAIN_RESOURCES__SPOT": "true",
    "FRESHET_TRAIN_RESOURCES__MACHINE_TYPE": "g2-standard-8",
}


def test_a_spot_project_still_runs_locally(tmp_path: Path) -> None:
    build = tmp_path / "build"
    env = {**SPOT_ENV, "FRESHET_BUILD_DIR": str(build)}
    compiled = freshet("compile", cwd=tmp_path, env=env)
    assert compiled.returncode == 0, compiled.stderr
    vertex_template = build / "training.yaml"
    before = vertex_template.read_bytes()
    assert b"custom_job.launcher" in before

    run = freshet(
        "run", "--root", str(tmp_path / "root"), "--param", "epochs=2", cwd=tmp_path, env=env
    )

    assert run.returncode == 0, run.stderr
    [summary_path] = (tmp_path / "root" / "runs").glob("*/summary.json")
    summary = json.loads(summary_path.read_text())
    assert summary["status"] == "succeeded"
    local = yaml.safe_load((build / "local" / "training.yaml").read_text())
    assert "custom_job.launcher" not in str(local["deploymentSpec"])
    assert vertex_template.read_bytes() == before  # the Vertex template is left as compiled


def test_a_spot_template_is_refused_with_one_sentence(tmp_path: Path) -> None:
    settings = load_settings(train_resources={"spot": True, "machine_type": "g2-standard-8"})
    template = compile_pipeline("training", settings, tmp_path / "build")
    root = tmp_path / "root"

    result = CliRunner().invoke(app, ["run", str(template), "--root", str(root)])

    assert result.exit_code == 2
    assert result.stderr == (
        f"error: Template '{template}' runs train as a Vertex AI CustomJob "
        "(train_resources.spot), which kfp.local cannot start: run it on Vertex, or compile "
        "it without train_resources.spot for local runs.\n"
    )
    assert not root.exists()


@pytest.mark.parametrize(
    ("env", "message"),
    [
        (
            {"FRESHET_TRAIN_RESOURCES__SPOT": "true"},
            "error: Invalid settings: train_resources: spot needs machine_type, the machine of "
            "the Spot VM (e.g. g2-standard-8 for one NVIDIA_L4)",
        ),
        (
            {**SPOT_ENV, "FRESHET_TRAIN_RESOURCES__MACHINE_TYPE": "G2 Standard"},
            "error: Invalid settings: train_resources.machine_type: must be a Compute Engine "
            "machine type such as 'g2-standard-8' (got 'G2 Standard').",
        ),
    ],
)
def test_bad_spot_settings_exit_2_and_compile_nothing(
    tmp_path: Path, env: dict[str, str], message: str
) -> None:
    build = tmp_path / "build"
    result = freshet("compile", cwd=tmp_path, env={**env, "FRESHET_BUILD_DIR": str(build)})
    assert result.returncode == 2
    [line] = result.stderr.splitlines()
    assert line.startswith(message)
    assert not build.exists()
