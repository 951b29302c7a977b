"""The train step as a Vertex AI CustomJob on Spot VMs.

Vertex puts only CustomJobs on Spot capacity, so with `train_resources.spot` the pipeline's
train task runs Google Cloud Pipeline Components' CustomJob launcher, which creates a CustomJob
whose one worker runs the unchanged train component (same image, command and inputs) with
`scheduling.strategy=SPOT`. A preempted worker gets SIGTERM, saves its checkpoint and fails
the job; the task's retry creates a new CustomJob that resumes from that checkpoint.
"""

from __future__ import annotations

from typing import Any

from freshet.config import GcpSettings, TrainResources


def on_spot(
    component: Any, resources: TrainResources, launcher_image: str, gcp: GcpSettings
) -> Any:
    """Wraps a KFP component into a CustomJob component that runs it on Spot VMs.

    Args:
        component: The train component (its container becomes the CustomJob's worker).
        resources: Machine type, accelerator, disk and time limit of the worker.
        launcher_image: Image of the launcher task: the components image, which has the
            pinned google-cloud-pipeline-components installed (so it is pinned by digest
            where the other images are, instead of GCPC's own `:2.22.0` tag).
        gcp: Service account, network and labels the CustomJob runs with.

    Returns:
        A component with the train component's inputs and outputs plus the CustomJob
        launcher's (project and location default to the pipeline's own).
    """
    from google_cloud_pipeline_components.v1.custom_job import (
        create_custom_training_job_from_component,
    )

    wrapped = create_custom_training_job_from_component(
        component,
        display_name="train",
        machine_type=resources.machine_type,
        accelerator_type=resources.accelerator_type if resources.accelerator_count else "",
        accelerator_count=resources.accelerator_count or 1,
        boot_disk_size_gb=resources.boot_disk_size_gb,
        timeout=f"{resources.max_run_s}s",
        strategy="SPOT",
        service_account=gcp.service_account or "",
        network=gcp.network or "",
        labels=dict(gcp.labels),
    )
    wrapped.component_spec.implementation.container.image = launcher_image
    return wrapped
