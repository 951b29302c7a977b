"""How the shipped pipelines are wired: caching, preflights, the gate's inputs, the exit task."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml
from kfp import components

from freshet.compile import compile_pipeline
from freshet.config import load_settings

TRAINERS = {"training": "train", "training-gbt": "train-gbt"}


def compiled(name: str, tmp_path: Path) -> tuple[dict[str, Any], dict[str, Any]]:
    path = compile_pipeline(name, load_settings(), tmp_path)
    assert components.load_component_from_file(str(path)).name == name
    spec = yaml.safe_load(path.read_text())
    tasks = dict(spec["root"]["dag"]["tasks"])
    for sub in spec["components"].values():
        tasks.update(sub.get("dag", {}).get("tasks", {}))
    return spec, tasks


@pytest.mark.parametrize("name", sorted(TRAINERS))
def test_expensive_steps_are_cached_and_state_readers_never(name: str, tmp_path: Path) -> None:
    _, tasks = compiled(name, tmp_path)
    trainer = TRAINERS[name]
    assert {"data-version", "fetch", trainer, "evaluate", "gate", "package"} <= set(tasks)
    for reader in ("data-version", "gate", "verify", "register"):
        assert tasks[reader]["cachingOptions"] == {}, reader
    for expensive in ("fetch", trainer, "evaluate", "package"):
        assert tasks[expensive]["cachingOptions"] == {"enableCache": True}, expensive
    fetch_version = tasks["fetch"]["inputs"]["parameters"]["data_version"]
    assert fetch_version["taskOutputParameter"]["producerTask"] == "data-version"
    # the exit task runs however the steps end, to report failures
    assert tasks["notify"]["triggerPolicy"] == {"strategy": "ALL_UPSTREAM_TASKS_COMPLETED"}


@pytest.mark.parametrize("name", sorted(TRAINERS))
def test_the_gate_scores_candidate_and_champion_on_the_fetched_data(
    name: str, tmp_path: Path
) -> None:
    _, tasks = compiled(name, tmp_path)
    artifacts = tasks["gate"]["inputs"]["artifacts"]
    assert artifacts["dataset"]["taskOutputArtifact"]["producerTask"] == "fetch"
    assert artifacts["evaluation"]["taskOutputArtifact"]["producerTask"] == "evaluate"
    assert set(tasks["gate"]["inputs"]["parameters"]) >= {
        "gate_metric",
        "gate_threshold",
        "max_regression",
    }


@pytest.mark.parametrize("name", sorted(TRAINERS))
def test_the_steps_that_can_refuse_input_declare_their_preflights(
    name: str, tmp_path: Path
) -> None:
    spec, _ = compiled(name, tmp_path)
    declared = {
        label: env["value"]
        for label, executor in spec["deploymentSpec"]["executors"].items()
        for env in executor.get("container", {}).get("env", [])
        if env["name"] == "FRESHET_PREFLIGHT"
    }
    trainer = TRAINERS[name].replace("-", "_")
    assert declared == {
        "exec-fetch": "freshet.components.fetch.preflight:check",
        f"exec-{TRAINERS[name]}": f"freshet.components.{trainer}.preflight:check",
        "exec-gate": "freshet.components.gate.preflight:check",
    }


def test_the_user_facing_parameters_of_training(tmp_path: Path) -> None:
    spec, _ = compiled("training", tmp_path)
    parameters = spec["root"]["inputDefinitions"]["parameters"]
    assert parameters["task"]["defaultValue"] == "auto"
    assert parameters["model"]["defaultValue"] == ""
    assert parameters["gate_threshold"]["defaultValue"] == "auto"
    assert "min_accuracy" not in parameters
