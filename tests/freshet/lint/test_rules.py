"""Each policy rule against the real compiled pipeline and a spec that breaks it."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest
import yaml
from typer.testing import CliRunner

from freshet.cli import app
from freshet.compile import compile_pipeline
from freshet.config import load_settings
from freshet.lint.engine import Finding, lint_spec, load_rules

DIGEST = "@sha256:" + "0" * 64
RULES = load_rules()


@pytest.fixture(scope="module")
def compiled(tmp_path_factory: pytest.TempPathFactory) -> Path:
    settings = load_settings(
        images={"components": "r.example/c" + DIGEST, "trainer": "r.example/t" + DIGEST},
        train_resources={"accelerator_type": "NVIDIA_L4", "accelerator_count": 1},
    )
    return compile_pipeline("training", settings, tmp_path_factory.mktemp("lint"))


@pytest.fixture
def spec(compiled: Path) -> dict[str, Any]:
    return copy.deepcopy(yaml.safe_load(compiled.read_text()))


def dag_tasks(spec: dict[str, Any]) -> dict[str, Any]:
    """Every task of the root DAG and of sub-DAGs, by name."""
    found = dict(spec["root"]["dag"]["tasks"])
    for component in spec["components"].values():
        found.update(component.get("dag", {}).get("tasks", {}))
    return found


def rules_hit(spec: dict[str, Any], strict: bool = True) -> set[tuple[str, str]]:
    return {(f.rule, f.task) for f in lint_spec(spec, RULES, strict)}


def test_shipped_pipeline_passes_strict(spec: dict[str, Any]) -> None:
    assert lint_spec(spec, RULES, strict=True) == []


def test_missing_limits(spec: dict[str, Any]) -> None:
    del spec["deploymentSpec"]["executors"]["exec-fetch"]["container"]["resources"]
    findings = lint_spec(spec, RULES, strict=True)
    assert findings == [Finding("", "fetch", "resource-limits", "no CPU and no memory limit")]


def test_accelerator_outside_training(spec: dict[str, Any]) -> None:
    container = spec["deploymentSpec"]["executors"]["exec-evaluate"]["container"]
    container["resources"]["accelerator"] = {"resourceType": "NVIDIA_L4", "resourceCount": "1"}
    assert rules_hit(spec) == {("accelerator-only-on-training", "evaluate")}


def test_unpinned_image_only_in_strict(spec: dict[str, Any]) -> None:
    spec["deploymentSpec"]["executors"]["exec-gate"]["container"]["image"] = "python:3.11-slim"
    assert rules_hit(spec, strict=False) == set()
    assert rules_hit(spec, strict=True) == {("image-pinned-by-digest", "gate")}


def test_cached_reader_without_data_version(spec: dict[str, Any]) -> None:
    del spec["components"]["comp-fetch"]["inputDefinitions"]["parameters"]["data_version"]
    assert rules_hit(spec) == {("data-version-input", "fetch")}
    dag_tasks(spec)["fetch"]["cachingOptions"] = {}
    assert rules_hit(spec) == set()


def test_register_outside_the_gate(spec: dict[str, Any]) -> None:
    condition = next(
        t for t in dag_tasks(spec).values() if "condition" in t.get("triggerPolicy", {})
    )
    del condition["triggerPolicy"]
    hit = rules_hit(spec)
    assert ("gate-before-register", "register") in hit


def test_vertex_names(spec: dict[str, Any]) -> None:
    spec["pipelineInfo"]["name"] = "Training_Pipeline"
    spec["root"]["inputDefinitions"]["parameters"]["bad-name"] = {"parameterType": "STRING"}
    findings = [f for f in lint_spec(spec, RULES, True) if f.rule == "vertex-names"]
    assert [f.message.split("'")[1] for f in findings] == ["Training_Pipeline", "bad-name"]


def test_cli_exit_codes(compiled: Path, tmp_path: Path, spec: dict[str, Any]) -> None:
    runner = CliRunner()
    ok = runner.invoke(app, ["lint", "--strict", str(compiled)])
    assert ok.exit_code == 0, ok.output
    spec["deploymentSpec"]["executors"]["exec-train"]["container"]["image"] = "trainer:latest"
    broken = tmp_path / "broken.yaml"
    broken.write_text(yaml.safe_dump(spec))
    bad = runner.invoke(app, ["lint", "--strict", str(broken)], env={"COLUMNS": "250"})
    assert bad.exit_code == 1
    assert "image-pinned-by-digest" in bad.stdout and "train" in bad.stdout
    missing = runner.invoke(app, ["lint", str(tmp_path / "none.yaml")])
    assert missing.exit_code == 2
    assert "Pipeline template not found" in missing.stderr


@pytest.fixture(scope="module")
def compiled_spot(tmp_path_factory: pytest.TempPathFactory) -> Path:
    settings = load_settings(
        images={"components": "r.example/c" + DIGEST, "trainer": "r.example/t" + DIGEST},
        train_resources={
            "spot": True,
            "machine_type": "g2-standard-8",
            "accelerator_type": "NVIDIA_L4",
            "accelerator_count": 1,
        },
    )
    return compile_pipeline("training", settings, tmp_path_factory.mktemp("lint-spot"))


@pytest.fixture
def spot_spec(compiled_spot: Path) -> dict[str, Any]:
    return copy.deepcopy(yaml.safe_load(compiled_spot.read_text()))


def spot_worker(spec: dict[str, Any]) -> dict[str, Any]:
    """The worker pool the Spot train task's CustomJob starts."""
    parameters = spec["components"]["comp-train"]["inputDefinitions"]["parameters"]
    pool: dict[str, Any] = parameters["worker_pool_specs"]["defaultValue"][0]
    return pool


def test_shipped_spot_pipeline_passes_strict(spot_spec: dict[str, Any]) -> None:
    assert lint_spec(spot_spec, RULES, strict=True) == []


def test_a_custom_job_worker_image_must_be_pinned(spot_spec: dict[str, Any]) -> None:
    spot_worker(spot_spec)["container_spec"]["image_uri"] = "trainer:latest"
    assert rules_hit(spot_spec, strict=False) == set()
    findings = lint_spec(spot_spec, RULES, strict=True)
    assert [(f.rule, f.task, f.message) for f in findings] == [
        ("image-pinned-by-digest", "train", "image 'trainer:latest' is not pinned by digest")
    ]


def test_a_custom_job_worker_needs_a_machine_type(spot_spec: dict[str, Any]) -> None:
    del spot_worker(spot_spec)["machine_spec"]["machine_type"]
    findings = lint_spec(spot_spec, RULES, strict=True)
    assert [(f.rule, f.task, f.message) for f in findings] == [
        ("resource-limits", "train", "starts a CustomJob worker with no machine type")
    ]


def test_a_custom_job_worker_accelerator_counts_as_the_task_s(spot_spec: dict[str, Any]) -> None:
    rules = [
        rule.model_copy(update={"params": {"tasks": ["evaluate"]}})
        if rule.id == "accelerator-only-on-training"
        else rule
        for rule in RULES
    ]
    findings = lint_spec(spot_spec, rules, strict=True)
    assert [(f.rule, f.task, f.message) for f in findings] == [
        (
            "accelerator-only-on-training",
            "train",
            "requests NVIDIA_L4 but only ['evaluate'] may use accelerators",
        )
    ]


def test_a_spot_task_must_be_retried(spot_spec: dict[str, Any]) -> None:
    del dag_tasks(spot_spec)["train"]["retryPolicy"]
    findings = lint_spec(spot_spec, RULES, strict=True)
    assert [(f.rule, f.task, f.message) for f in findings] == [
        (
            "spot-retried",
            "train",
            "runs on Spot VMs with 0 retries: a reclaimed worker fails the run instead of "
            "resuming (at least 1 needed)",
        )
    ]
    dag_tasks(spot_spec)["train"]["inputs"]["parameters"]["strategy"] = {
        "runtimeValue": {"constant": "STANDARD"}
    }
    assert lint_spec(spot_spec, RULES, strict=True) == []
