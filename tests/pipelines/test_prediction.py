"""How the prediction pipeline is wired: what is cached on what, preflights, the score machine."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml
from kfp import components

from freshet.compile import compile_pipeline
from freshet.config import PredictResources, load_settings

PREFLIGHTS = "freshet.components.score.preflight"


def compiled(tmp_path: Path, **settings: Any) -> tuple[dict[str, Any], dict[str, Any]]:
    path = compile_pipeline("prediction", load_settings(**settings), tmp_path)
    assert components.load_component_from_file(str(path)).name == "prediction"
    spec = yaml.safe_load(path.read_text())
    tasks = dict(spec["root"]["dag"]["tasks"])
    for sub in spec["components"].values():
        tasks.update(sub.get("dag", {}).get("tasks", {}))
    return spec, tasks


def producer(task: dict[str, Any], name: str) -> str:
    return str(task["inputs"]["parameters"][name]["taskOutputParameter"]["producerTask"])


def test_score_is_cached_on_the_data_and_model_versions(tmp_path: Path) -> None:
    _, tasks = compiled(tmp_path)
    assert {"data-version", "resolve-model", "score", "write", "notify"} <= set(tasks)
    for reader in ("data-version", "resolve-model", "write"):
        assert tasks[reader]["cachingOptions"] == {}, reader
    score = tasks["score"]
    assert score["cachingOptions"] == {"enableCache": True}
    assert producer(score, "data_version") == "data-version"
    assert producer(score, "model_version") == "resolve-model"
    # the run id changes every run: it goes to the uncached write step, never to score
    assert "run_id" not in score["inputs"]["parameters"]
    assert "run_id" in tasks["write"]["inputs"]["parameters"]
    assert tasks["notify"]["triggerPolicy"] == {"strategy": "ALL_UPSTREAM_TASKS_COMPLETED"}


def test_preflights_and_the_score_machine_from_settings(tmp_path: Path) -> None:
    resources = PredictResources(cpu_limit="8", memory_limit="32G", retries=3)
    spec, _ = compiled(tmp_path, predict_resources=resources)
    executors = spec["deploymentSpec"]["executors"]
    env = {
        name: {e["name"]: e["value"] for e in ex["container"].get("env", [])}
        for name, ex in executors.items()
    }
    assert env["exec-resolve-model"]["FRESHET_PREFLIGHT"] == f"{PREFLIGHTS}:check_model"
    assert env["exec-score"]["FRESHET_PREFLIGHT"] == f"{PREFLIGHTS}:check_input"
    assert env["exec-write"]["FRESHET_PREFLIGHT"] == f"{PREFLIGHTS}:check_output"
    machine = executors["exec-score"]["container"]["resources"]
    assert (machine["resourceCpuLimit"], machine["resourceMemoryLimit"]) == ("8", "32G")
    assert executors["exec-write"]["container"]["resources"]["resourceCpuLimit"] == "2"
    steps = next(c for n, c in spec["components"].items() if n == "comp-prediction-steps")
    assert steps["dag"]["tasks"]["score"]["retryPolicy"]["maxRetryCount"] == 3
    parameters = spec["root"]["inputDefinitions"]["parameters"]
    assert parameters["model_alias"]["defaultValue"] == "champion"
    assert parameters["max_error_fraction"]["defaultValue"] == 0.01
    assert parameters["use_batch_prediction_job"]["defaultValue"] is False
