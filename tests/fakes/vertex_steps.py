"""Steps of a submitted pipeline job, given their inputs as Vertex AI gives them.

`task_inputs` reads a task's inputs from the compiled template and the job the fake recorded:
pipeline parameters (through sub-DAG channels), constants and the final status of the steps;
what upstream tasks would have produced (artifacts, output parameters) the test gives.

`vertex_api_override` points the Vertex SDK of a task's process at the fake. On Vertex the
SDK reaches `{region}-aiplatform.googleapis.com` by default; a task's process here has no
freshet session, so a `sitecustomize` sets the SDK's `api_endpoint` when the interpreter
starts, the one thing that differs from Vertex (as the GCPC launcher's client does in
tests/fakes/vertex_task.py). The SDK itself is unchanged.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest
from google.cloud import aiplatform_v1 as v1

from tests.fakes.vertex_task import find_task

_CHANNEL = "pipelinechannel--"
_SITECUSTOMIZE = """
import os

_endpoint = os.environ.get("FRESHET_TEST_VERTEX_API")
if _endpoint:
    from google.cloud.aiplatform import initializer

    # What init(api_endpoint=...) sets; init without a project would also switch to REST.
    initializer.global_config._api_endpoint = _endpoint
"""


def task_inputs(
    spec: dict[str, Any], job: v1.PipelineJob, task: str, given: dict[str, Any] | None = None
) -> dict[str, Any]:
    """A task's inputs: from the job's parameters and status, and `given` for the rest.

    Raises:
        KeyError: An input produced by another task that `given` does not hold.
    """
    given = dict(given or {})
    root = spec["root"]["inputDefinitions"]["parameters"]
    values = dict(job.runtime_config.parameter_values)
    declared = find_task(spec, task)["inputs"]
    inputs: dict[str, Any] = {}
    for name, source in declared.get("parameters", {}).items():
        if name in given:
            inputs[name] = given[name]
        elif "componentInputParameter" in source:
            parameter = source["componentInputParameter"].removeprefix(_CHANNEL)
            if parameter not in root:
                raise KeyError(f"{task}.{name} comes from another task; give it")
            inputs[name] = values.get(parameter, root[parameter].get("defaultValue"))
        elif "runtimeValue" in source:
            inputs[name] = source["runtimeValue"]["constant"]
        elif "taskFinalStatus" in source:
            inputs[name] = {
                "state": job.state.name.removeprefix("PIPELINE_STATE_"),
                "pipelineJobResourceName": job.name,
                "pipelineTaskName": source["taskFinalStatus"]["producerTask"],
                "error": {"code": job.error.code, "message": job.error.message},
            }
        else:
            raise KeyError(f"{task}.{name} comes from another task; give it")
    for name in declared.get("artifacts", {}):
        inputs[name] = given[name]
    return inputs


def vertex_api_override(
    monkeypatch: pytest.MonkeyPatch, directory: Path, endpoint: str, python: str
) -> None:
    """Task processes started from now on call the Vertex fake at `endpoint`.

    Args:
        monkeypatch: Undoes the environment changes after the test.
        directory: Where the `sitecustomize` goes.
        endpoint: The fake's host:port.
        python: The interpreter tasks run with (its folder goes first on PATH, as the image's).
    """
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "sitecustomize.py").write_text(_SITECUSTOMIZE)
    path = os.environ.get("PYTHONPATH")
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join(filter(None, [str(directory), path])))
    monkeypatch.setenv("FRESHET_TEST_VERTEX_API", endpoint)
    monkeypatch.setenv("PATH", f"{Path(python).parent}{os.pathsep}{os.environ['PATH']}")
