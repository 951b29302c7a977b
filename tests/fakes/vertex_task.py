"""One task of a compiled pipeline, run the way Vertex AI Pipelines runs it, against the fake.

Vertex builds a task's executor input, resolves the placeholders in its container's command
and runs the container. Here kfp.local's own functions build the executor input and resolve
the placeholders; `{{$.json_escape[1]}}` (which kfp.local does not resolve) becomes the
executor input as the text of a JSON string, as Vertex substitutes it; and the container is
this environment.

For Google Cloud Pipeline Components' CustomJob launcher two things differ from Vertex, and
only these: its JobService client is pointed at the fake (the launcher builds the endpoint
from the location) and it polls every 0.2 s instead of every 20 s. The request it builds and
sends is GCPC's own.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from google.protobuf import json_format
from kfp.local import executor_input_utils, placeholder_utils
from kfp.pipeline_spec import pipeline_spec_pb2

_LAUNCHER = """
import os, sys
from google.api_core import client_options
from google.cloud.aiplatform import gapic
from google_cloud_pipeline_components.container.v1.custom_job import launcher
from google_cloud_pipeline_components.container.v1.gcp_launcher import job_remote_runner


class JobServiceClientOfTheFake(gapic.JobServiceClient):
    def __init__(self, *args, **kwargs):
        kwargs.pop("client_options", None)
        options = client_options.ClientOptions(api_endpoint=os.environ["FAKE_VERTEX_ENDPOINT"])
        super().__init__(client_options=options, **kwargs)


gapic.JobServiceClient = JobServiceClientOfTheFake
job_remote_runner._POLLING_INTERVAL_IN_SECONDS = 0.2
launcher.main(sys.argv[1:])
"""


@dataclass
class TaskRun:
    """What one execution of a task left behind."""

    returncode: int
    output: str
    executor_input: dict[str, Any]

    def executor_output(self) -> dict[str, Any]:
        """The executor output the task's program wrote."""
        path = Path(self.executor_input["outputs"]["outputFile"])
        result: dict[str, Any] = json.loads(path.read_text())
        return result


def _as_protojson(value: Any) -> Any:
    """Numbers as Vertex renders a protobuf Value in JSON: an integral number has no '.0'."""
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, dict):
        return {k: _as_protojson(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_as_protojson(v) for v in value]
    return value


def find_task(spec: dict[str, Any], name: str) -> dict[str, Any]:
    """A task by name, in the root DAG or any sub-DAG."""
    dags = [spec["root"]["dag"]] + [c["dag"] for c in spec["components"].values() if "dag" in c]
    for dag in dags:
        if name in dag.get("tasks", {}):
            task: dict[str, Any] = dag["tasks"][name]
            return task
    raise KeyError(name)


def run_task(
    template: Path,
    task_name: str,
    arguments: dict[str, Any],
    task_root: Path,
    endpoint: str,
) -> TaskRun:
    """Runs one attempt of a task of a compiled pipeline; a retry is another call.

    Args:
        template: Compiled pipeline YAML.
        task_name: The task, e.g. "train".
        arguments: Its input values: parameters, and `dsl.Artifact`s for input artifacts.
        task_root: Where its outputs go (a fresh folder per attempt, as on Vertex).
        endpoint: The fake Vertex API's host:port.
    """
    spec = yaml.safe_load(template.read_text())
    component_name = find_task(spec, task_name)["componentRef"]["name"]
    component = json_format.ParseDict(
        spec["components"][component_name], pipeline_spec_pb2.ComponentSpec()
    )
    container = spec["deploymentSpec"]["executors"][component.executor_label]["container"]
    executor_input = _as_protojson(
        executor_input_utils.executor_input_to_dict(
            executor_input_utils.construct_executor_input(
                component, arguments, str(task_root), block_input_artifact=False
            ),
            component,
        )
    )
    command = placeholder_utils.replace_placeholders(
        [*container["command"], *container.get("args", [])],
        executor_input,
        pipeline_resource_name="training-steps",
        task_resource_name=task_name,
        pipeline_root=str(task_root.parent),
        unique_pipeline_id="fake-run",
    )
    escaped = json.dumps(json.dumps(executor_input))[1:-1]
    command = [part.replace("{{$.json_escape[1]}}", escaped) for part in command]
    launcher = [
        "python3",
        "-u",
        "-m",
        "google_cloud_pipeline_components.container.v1.custom_job.launcher",
    ]
    if command[: len(launcher)] == launcher:
        command = [sys.executable, "-c", _LAUNCHER, *command[len(launcher) :]]
    task_root.mkdir(parents=True, exist_ok=True)
    done = subprocess.run(
        command,
        env={**os.environ, "FAKE_VERTEX_ENDPOINT": endpoint},
        capture_output=True,
        text=True,
        timeout=600,
    )
    return TaskRun(done.returncode, done.stdout + done.stderr, executor_input)
