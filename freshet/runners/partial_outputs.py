"""A failed local run's pipeline outputs, read from the tasks that did finish.

kfp.local hands back pipeline outputs only when the whole run succeeds. Each task it ran
wrote `<pipeline_root>/<run>/<task>/executor_output.json` (parameters, artifact URIs and
metadata), so for a failed run the outputs whose producing task finished are read from there:
the metrics, the gate's decision and report of a run that failed at verification are still
in its summary. The run's folder is found in its own log (kfp.local prints each task's
executor input), never by guessing from timestamps, so concurrent runs sharing a root do
not mix.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from types import SimpleNamespace
from typing import Any


def run_folder(log_text: str, pipeline_root: Path) -> Path | None:
    """The folder kfp.local wrote this run's task outputs into, from the run's log."""
    pattern = re.escape(str(pipeline_root)) + r"/([^/\"\s]+)/[^/\"\s]+/executor_output\.json"
    match = re.search(pattern, log_text)
    return pipeline_root / match.group(1) if match else None


def partial_outputs(spec: dict[str, Any], folder: Path) -> dict[str, Any]:
    """The pipeline's outputs whose producing task wrote its executor output.

    Args:
        spec: The compiled pipeline.
        folder: The run's folder under the pipeline root (see `run_folder`).

    Returns:
        Output name to value: parameters as values, artifacts as objects with `uri` and
        `metadata` (what kfp.local returns); outputs of tasks that did not finish are absent.
    """
    found: dict[str, Any] = {}
    dag = spec.get("root", {}).get("dag", {})
    outputs = dag.get("outputs", {})
    for name, source in outputs.get("artifacts", {}).items():
        selector = source.get("artifactSelectors", [{}])[0]
        value = _leaf(
            spec,
            dag,
            selector.get("producerSubtask"),
            selector.get("outputArtifactKey"),
            "artifacts",
            folder,
        )
        if value is not None:
            found[name] = SimpleNamespace(
                uri=value.get("uri", ""), metadata=value.get("metadata", {})
            )
    for name, source in outputs.get("parameters", {}).items():
        selector = source.get("valueFromParameter", {})
        value = _leaf(
            spec,
            dag,
            selector.get("producerSubtask"),
            selector.get("outputParameterKey"),
            "parameters",
            folder,
        )
        if value is not None:
            found[name] = value
    return found


def _leaf(
    spec: dict[str, Any],
    dag: dict[str, Any],
    task: str | None,
    key: str | None,
    kind: str,
    folder: Path,
) -> Any:
    """Follows an output through nested pipelines to the task that produced it."""
    if not task or not key:
        return None
    component = spec.get("components", {}).get(
        dag.get("tasks", {}).get(task, {}).get("componentRef", {}).get("name", ""), {}
    )
    if "dag" in component:
        inner = component["dag"].get("outputs", {}).get(kind, {}).get(key, {})
        if kind == "artifacts":
            selector = inner.get("artifactSelectors", [{}])[0]
            return _leaf(
                spec,
                component["dag"],
                selector.get("producerSubtask"),
                selector.get("outputArtifactKey"),
                kind,
                folder,
            )
        selector = inner.get("valueFromParameter", {})
        return _leaf(
            spec,
            component["dag"],
            selector.get("producerSubtask"),
            selector.get("outputParameterKey"),
            kind,
            folder,
        )
    path = folder / task / "executor_output.json"
    if not path.exists():
        return None
    written = json.loads(path.read_text())
    if kind == "artifacts":
        artifacts = written.get("artifacts", {}).get(key, {}).get("artifacts", [])
        return artifacts[0] if artifacts else None
    return written.get("parameterValues", {}).get(key)
