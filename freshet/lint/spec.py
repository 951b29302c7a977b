"""A flat view of a compiled KFP pipeline spec: one record per executable task."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass
class Worker:
    """A machine a task's CustomJob starts (a GCPC custom-training-job task)."""

    image: str
    machine_type: str
    accelerator: str


@dataclass
class Task:
    """One container task, with what the policy rules look at."""

    name: str
    image: str
    resources: dict[str, Any]
    inputs: set[str]
    caching: bool
    conditions: list[str] = field(default_factory=list)
    condition_producers: set[str] = field(default_factory=set)
    workers: list[Worker] = field(default_factory=list)
    retries: int = 0
    scheduling: str = ""  # a CustomJob's strategy: STANDARD, SPOT, FLEX_START


def _workers(component: dict[str, Any]) -> list[Worker]:
    """The worker pools a CustomJob launcher task creates (compiled in as a default)."""
    pools = (
        component.get("inputDefinitions", {})
        .get("parameters", {})
        .get("worker_pool_specs", {})
        .get("defaultValue", [])
    )
    return [
        Worker(
            image=pool.get("container_spec", {}).get("image_uri", ""),
            machine_type=pool.get("machine_spec", {}).get("machine_type", ""),
            accelerator=pool.get("machine_spec", {}).get("accelerator_type", ""),
        )
        for pool in pools
        if isinstance(pool, dict)
    ]


def _strategy(component: dict[str, Any], task: dict[str, Any]) -> str:
    """A CustomJob task's scheduling strategy: the task's constant, else the compiled default."""
    given = task.get("inputs", {}).get("parameters", {}).get("strategy", {})
    constant = given.get("runtimeValue", {}).get("constant")
    if constant is not None:
        return str(constant)
    declared = component.get("inputDefinitions", {}).get("parameters", {}).get("strategy", {})
    return str(declared.get("defaultValue", "")) if _workers(component) else ""


def tasks_of(spec: dict[str, Any]) -> list[Task]:
    """Flattens the root DAG and its sub-DAGs (conditions, loops, exit handlers)."""
    components = spec.get("components", {})
    executors = spec.get("deploymentSpec", {}).get("executors", {})
    found: list[Task] = []

    def walk(dag: dict[str, Any], conditions: list[str], producers: set[str]) -> None:
        for name, task in sorted(dag.get("tasks", {}).items()):
            component = components.get(task.get("componentRef", {}).get("name", ""), {})
            condition = task.get("triggerPolicy", {}).get("condition", "")
            params = task.get("inputs", {}).get("parameters", {})
            if "dag" in component:
                referenced = {
                    source["taskOutputParameter"]["producerTask"]
                    for channel, source in params.items()
                    if condition and channel in condition and "taskOutputParameter" in source
                }
                walk(
                    component["dag"],
                    conditions + [condition] if condition else conditions,
                    producers | referenced,
                )
                continue
            container = executors.get(component.get("executorLabel", ""), {}).get("container", {})
            found.append(
                Task(
                    name=name,
                    image=container.get("image", ""),
                    resources=container.get("resources", {}),
                    inputs=set(component.get("inputDefinitions", {}).get("parameters", {})),
                    caching=bool(task.get("cachingOptions", {}).get("enableCache", False)),
                    conditions=conditions + ([condition] if condition else []),
                    condition_producers=set(producers),
                    workers=_workers(component),
                    retries=int(task.get("retryPolicy", {}).get("maxRetryCount", 0)),
                    scheduling=_strategy(component, task),
                )
            )

    walk(spec.get("root", {}).get("dag", {}), [], set())
    return found
