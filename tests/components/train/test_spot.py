"""Spot: the train task as a Vertex AI CustomJob on Spot VMs, run against the Vertex fake.

The compiled task is run the way Vertex runs it (tests/fakes/vertex_task.py): GCPC's launcher
builds the CustomJob request and sends it to the fake, which runs the job's worker container
command here (tests/fakes/vertex_jobs.py) and can reclaim it as a Spot VM is reclaimed.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import torch
import yaml
from kfp import dsl

from freshet.compile import compile_pipeline
from freshet.components.fetch.core import FetchConfig, fetch
from freshet.config import load_settings
from tests.fakes.vertex_fixtures import (
    NETWORK,
    PROJECT,
    REGION,
    SERVICE_ACCOUNT,
    VertexServices,
)
from tests.fakes.vertex_task import find_task, run_task

DIGEST = "@sha256:" + "0" * 64
COMPONENTS = "europe-docker.pkg.dev/p/r/components" + DIGEST
TRAINER = "europe-docker.pkg.dev/p/r/trainer" + DIGEST
SPOT = {
    "spot": True,
    "machine_type": "g2-standard-8",
    "accelerator_type": "NVIDIA_L4",
    "accelerator_count": 1,
    "retries": 3,
}
TRAIN = {
    "hidden_units": 32,
    "hidden_layers": 2,
    "epochs": 3,
    "batch_size": 16,
    "learning_rate": 0.001,
    "patience": 0,
    "seed": 3,
    "checkpoint_every_steps": 30,
}


def compile_spot(out: Path, **resources: Any) -> Path:
    settings = load_settings(
        images={"components": COMPONENTS, "trainer": TRAINER},
        train_resources={**SPOT, **resources},
    )
    return compile_pipeline("training", settings, out)


@pytest.fixture
def template(vertex: VertexServices, tmp_path: Path) -> Path:
    """The training pipeline compiled with Spot on, with the fake's GCP settings."""
    return compile_spot(tmp_path / "build")


@pytest.fixture(scope="module")
def dataset(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """About 800 training steps."""
    out = tmp_path_factory.mktemp("spot") / "dataset"
    fetch(FetchConfig(uri="sample://synthetic?rows=6000&features=12&classes=3&seed=5"), out)
    return out


def train_inputs(dataset: Path, checkpoint_root: Path) -> dict[str, Any]:
    return {
        **TRAIN,
        "dataset": dsl.Dataset(uri=str(dataset), metadata={"data_version": "gen-1"}),
        "checkpoint_root": str(checkpoint_root),
        # Vertex fills these from the pipeline run; the launcher needs them.
        "project": PROJECT,
        "location": REGION,
        "persistent_resource_id": "",
    }


def test_the_train_task_is_a_spot_custom_job_in_the_template(template: Path) -> None:
    spec = yaml.safe_load(template.read_text())
    task = find_task(spec, "train")
    component = spec["components"][task["componentRef"]["name"]]
    defaults = {
        name: p.get("defaultValue")
        for name, p in component["inputDefinitions"]["parameters"].items()
    }
    launcher = spec["deploymentSpec"]["executors"][component["executorLabel"]]["container"]

    assert defaults["strategy"] == "SPOT"
    assert defaults["service_account"] == SERVICE_ACCOUNT and defaults["network"] == NETWORK
    [pool] = defaults["worker_pool_specs"]
    assert pool["machine_spec"] == {
        "machine_type": "g2-standard-8",
        "accelerator_type": "NVIDIA_L4",
        "accelerator_count": 1,
    }
    assert pool["container_spec"]["image_uri"] == TRAINER
    # The launcher runs from the components image (GCPC pinned there), by digest.
    assert launcher["image"] == COMPONENTS
    assert (
        launcher["command"][-1]
        == "google_cloud_pipeline_components.container.v1.custom_job.launcher"
    )
    assert "accelerator" not in launcher["resources"]  # the GPU is the worker's, not the launcher's
    assert task["retryPolicy"]["maxRetryCount"] == 3
    # The train step's own inputs are still the task's inputs.
    assert set(TRAIN) | {"dataset", "checkpoint_root"} <= set(task["inputs"]["parameters"]) | set(
        task["inputs"]["artifacts"]
    )


def test_without_spot_no_task_is_a_custom_job(vertex: VertexServices) -> None:
    spec = yaml.safe_load(vertex.template.read_text())
    assert "worker_pool_specs" not in str(spec["components"])
    assert "custom_job.launcher" not in str(spec["deploymentSpec"])


def test_spot_train_task_runs_as_a_spot_custom_job(
    template: Path, vertex: VertexServices, dataset: Path, tmp_path: Path
) -> None:
    attempt = run_task(
        template,
        "train",
        train_inputs(dataset, tmp_path / "checkpoints"),
        tmp_path / "attempt-1",
        vertex.vertex.endpoint,
    )

    assert attempt.returncode == 0, attempt.output
    [request] = vertex.vertex.requests("CreateCustomJob")
    assert request.parent == f"projects/{PROJECT}/locations/{REGION}"
    job = request.custom_job
    assert job.job_spec.scheduling.strategy.name == "SPOT"
    assert job.job_spec.service_account == SERVICE_ACCOUNT
    [pool] = job.job_spec.worker_pool_specs
    assert pool.machine_spec.machine_type == "g2-standard-8"
    assert pool.machine_spec.accelerator_type.name == "NVIDIA_L4"
    assert pool.machine_spec.accelerator_count == 1
    assert pool.container_spec.image_uri == TRAINER
    [stored] = vertex.vertex.custom_jobs.jobs()
    assert stored.state.name == "JOB_STATE_SUCCEEDED"
    # The worker ran the train step on the task's own inputs and wrote its outputs.
    model = attempt.executor_output()["artifacts"]["model"]["artifacts"][0]
    assert model["metadata"]["epochs_run"] == 3
    assert model["metadata"]["resumed_from_step"] == 0
    assert model["metadata"]["data_version"] == "gen-1"
    model_dir = Path(attempt.executor_input["outputs"]["artifacts"]["model"]["artifacts"][0]["uri"])
    assert (model_dir / "model.pt").exists()


def test_a_reclaimed_spot_worker_saves_and_the_retry_resumes(
    template: Path, vertex: VertexServices, dataset: Path, tmp_path: Path
) -> None:
    checkpoints = tmp_path / "checkpoints"
    jobs = vertex.vertex.custom_jobs
    jobs.preempt_next(lambda: any(checkpoints.glob("*/last.pt")))
    inputs = train_inputs(dataset, checkpoints)

    first = run_task(template, "train", inputs, tmp_path / "attempt-1", vertex.vertex.endpoint)
    assert first.returncode != 0
    [reclaimed] = jobs.jobs()
    assert reclaimed.state.name == "JOB_STATE_FAILED"
    # SIGTERM reached the Python process through the container's top process: it saved.
    assert "Training stopped by SIGTERM at step" in jobs.log(reclaimed.name)

    # The task's retry: a new attempt, a new CustomJob, the same checkpoint root.
    second = run_task(template, "train", inputs, tmp_path / "attempt-2", vertex.vertex.endpoint)
    assert second.returncode == 0, second.output
    assert len(vertex.vertex.requests("CreateCustomJob")) == 2
    resumed = second.executor_output()["artifacts"]["model"]["artifacts"][0]["metadata"]
    assert resumed["resumed_from_step"] > 0

    # Resuming ends with the weights an uninterrupted run gets (CPU, deterministic).
    uninterrupted = run_task(
        template,
        "train",
        train_inputs(dataset, tmp_path / "fresh-checkpoints"),
        tmp_path / "uninterrupted",
        vertex.vertex.endpoint,
    )
    assert uninterrupted.returncode == 0, uninterrupted.output

    def weights(run: Any) -> dict[str, torch.Tensor]:
        uri = run.executor_input["outputs"]["artifacts"]["model"]["artifacts"][0]["uri"]
        state: dict[str, torch.Tensor] = torch.load(Path(uri) / "model.pt", weights_only=True)
        return state

    a, b = weights(second), weights(uninterrupted)
    assert a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)


def test_submit_with_spot_sends_the_custom_job_to_vertex(vertex: VertexServices) -> None:
    from freshet.runners import RunRequest, submit

    settings = load_settings(
        runner="vertex",
        images={"components": COMPONENTS, "trainer": TRAINER},
        train_resources=SPOT,
    )
    result = submit(RunRequest(run_id="training-spot-1", data_uri="gs://d/x/"), settings)

    assert result.status == "submitted"
    [sent] = vertex.vertex.requests("CreatePipelineJob")
    spec = dict(sent.pipeline_job.pipeline_spec)
    train = spec["components"][find_task(spec, "train")["componentRef"]["name"]]
    assert train["inputDefinitions"]["parameters"]["strategy"]["defaultValue"] == "SPOT"
    values = sent.pipeline_job.runtime_config.parameter_values
    assert values["checkpoint_root"] == "gs://freshet-fake-root/runs/checkpoints"
