"""GPU on Vertex: only the training task asks for an accelerator, with its CPU/memory limits."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from freshet.compile import compile_pipeline
from freshet.config import load_settings
from freshet.runners import RunRequest, submit
from tests.fakes.vertex_fixtures import VertexServices

GPU = {
    "accelerator_type": "NVIDIA_L4",
    "accelerator_count": 1,
    "cpu_limit": "8",
    "memory_limit": "32G",
}


def resources(spec: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Container resources by task name, sub-DAGs (the gate's branch) included."""
    found: dict[str, dict[str, Any]] = {}

    def walk(dag: dict[str, Any]) -> None:
        for name, task in dag["tasks"].items():
            component = spec["components"][task["componentRef"]["name"]]
            if "dag" in component:
                walk(component["dag"])
            else:
                executor = spec["deploymentSpec"]["executors"][component["executorLabel"]]
                found[name] = executor["container"].get("resources", {})

    walk(spec["root"]["dag"])
    return found


def test_only_the_train_task_gets_the_accelerator(tmp_path: Path) -> None:
    settings = load_settings(train_resources=GPU)
    spec = yaml.safe_load(compile_pipeline("training", settings, tmp_path).read_text())

    by_task = resources(spec)
    assert {"train", "fetch", "evaluate", "gate", "register"} <= set(by_task)
    train = by_task.pop("train")
    assert train["accelerator"]["resourceType"] == "NVIDIA_L4"
    assert train["accelerator"]["resourceCount"] == "1"
    assert (train["resourceCpuLimit"], train["resourceMemoryLimit"]) == ("8", "32G")
    assert [name for name, r in by_task.items() if "accelerator" in r] == []
    assert all(r["resourceCpuLimit"] == settings.step_cpu_limit for r in by_task.values())


def test_without_accelerator_settings_no_task_asks_for_one(tmp_path: Path) -> None:
    spec = yaml.safe_load(compile_pipeline("training", load_settings(), tmp_path).read_text())
    assert [n for n, r in resources(spec).items() if "accelerator" in r] == []


def test_vertex_receives_the_accelerator_request(vertex: VertexServices, tmp_path: Path) -> None:
    settings = load_settings(runner="vertex", train_resources=GPU, build_dir=tmp_path)

    submit(RunRequest(run_id="training-gpu"), settings)

    [sent] = vertex.vertex.requests("CreatePipelineJob")
    by_task = resources(dict(sent.pipeline_job.pipeline_spec))
    assert by_task["train"]["accelerator"]["resourceType"] == "NVIDIA_L4"
    assert [n for n, r in by_task.items() if "accelerator" in r] == ["train"]
