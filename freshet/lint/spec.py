"""The one walker over a compiled KFP pipeline spec: one record per executable task.

Lint checks, the local runner's progress, the report's DAG and the preflights all read a
compiled spec through `tasks_of`, so that nested pipelines and conditions are flattened the
same way everywhere.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal


@dataclass
class Worker:
    """A machine a task's CustomJob starts (a GCPC custom-training-job task)."""

    image: str
    machine_type: str
    accelerator: str


@dataclass(frozen=True)
class Binding:
    """Where a task's input parameter comes from, as far as the spec alone tells.

    `root`: the pipeline parameter named `value`; `constant`: the value itself (a constant in
    the spec or the component's default); `runtime`: known only while the pipeline runs (an
    upstream output, a loop item, a final status).
    """

    kind: Literal["root", "constant", "runtime"]
    value: Any = None


RUNTIME = Binding("runtime")


@dataclass
class Task:
    """One container task, with what the policy rules, runners and reports look at."""

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
    component: str = ""
    env: dict[str, str] = field(default_factory=dict)
    parameters: dict[str, Binding] = field(default_factory=dict)
    parameter_types: dict[str, str] = field(default_factory=dict)
    upstream: list[str] = field(default_factory=list)  # executable tasks it waits for


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


def topological(tasks: dict[str, Any]) -> list[str]:
    """Task names of one DAG with every task after the tasks it depends on (ties by name)."""
    order: list[str] = []
    remaining = dict(sorted(tasks.items()))
    while remaining:
        ready = [
            n
            for n, t in remaining.items()
            if all(d in order or d not in tasks for d in t.get("dependentTasks", []))
        ]
        ready = ready[:1] or [next(iter(remaining))]
        order.append(ready[0])
        del remaining[ready[0]]
    return order


def _bindings(
    task: dict[str, Any], component: dict[str, Any], scope: dict[str, Binding]
) -> dict[str, Binding]:
    """A task's input parameters, followed through the enclosing DAG's inputs, then defaults."""
    found: dict[str, Binding] = {}
    for name, source in task.get("inputs", {}).get("parameters", {}).items():
        if "componentInputParameter" in source:
            found[name] = scope.get(source["componentInputParameter"], RUNTIME)
        elif "constant" in source.get("runtimeValue", {}):
            found[name] = Binding("constant", source["runtimeValue"]["constant"])
        else:
            found[name] = RUNTIME
    declared = component.get("inputDefinitions", {}).get("parameters", {})
    for name, info in declared.items():
        if name not in found and "defaultValue" in info:
            found[name] = Binding("constant", info["defaultValue"])
    return found


def _env(container: dict[str, Any]) -> dict[str, str]:
    return {
        str(item.get("name")): str(item.get("value", ""))
        for item in container.get("env", []) or []
        if isinstance(item, dict) and item.get("name")
    }


def tasks_of(spec: dict[str, Any]) -> list[Task]:
    """Flattens the root DAG and its sub-DAGs (conditions, loops, exit handlers, pipelines).

    Returns:
        The executable tasks in DAG order: each DAG's tasks after those they depend on (ties
        by name), a sub-DAG's tasks at the sub-DAG's place.
    """
    components = spec.get("components", {})
    executors = spec.get("deploymentSpec", {}).get("executors", {})
    found: list[Task] = []

    def leaves(dag: dict[str, Any]) -> dict[str, list[str]]:
        """Task name -> the executable tasks it stands for."""
        out: dict[str, list[str]] = {}
        for name, task in dag.get("tasks", {}).items():
            inner = components.get(task.get("componentRef", {}).get("name", ""), {}).get("dag")
            out[name] = (
                [leaf for group in leaves(inner).values() for leaf in group] if inner else [name]
            )
        return out

    def walk(
        dag: dict[str, Any],
        conditions: list[str],
        producers: set[str],
        scope: dict[str, Binding],
        inherited: list[str],
    ) -> None:
        tasks = dag.get("tasks", {})
        expanded = leaves(dag)
        for name in topological(tasks):
            task = tasks[name]
            ref = task.get("componentRef", {}).get("name", "")
            component = components.get(ref, {})
            condition = task.get("triggerPolicy", {}).get("condition", "")
            params = task.get("inputs", {}).get("parameters", {})
            depends = task.get("dependentTasks", [])
            upstream = [leaf for dep in depends for leaf in expanded.get(dep, [])]
            if not depends:
                upstream = list(inherited)
            bindings = _bindings(task, component, scope)
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
                    bindings,
                    upstream,
                )
                continue
            container = executors.get(component.get("executorLabel", ""), {}).get("container", {})
            declared = component.get("inputDefinitions", {}).get("parameters", {})
            found.append(
                Task(
                    name=name,
                    image=container.get("image", ""),
                    resources=container.get("resources", {}),
                    inputs=set(declared),
                    caching=bool(task.get("cachingOptions", {}).get("enableCache", False)),
                    conditions=conditions + ([condition] if condition else []),
                    condition_producers=set(producers),
                    workers=_workers(component),
                    retries=int(task.get("retryPolicy", {}).get("maxRetryCount", 0)),
                    scheduling=_strategy(component, task),
                    component=ref,
                    env=_env(container),
                    parameters=bindings,
                    parameter_types={
                        k: str(v.get("parameterType", "")) for k, v in declared.items()
                    },
                    upstream=upstream,
                )
            )

    root = spec.get("root", {})
    scope = {
        name: Binding("root", name)
        for name in root.get("inputDefinitions", {}).get("parameters", {})
    }
    walk(root.get("dag", {}), [], set(), scope, [])
    return found
