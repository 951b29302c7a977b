"""Vertex runs logged to a Vertex AI Experiment (`[gcp] experiment = NAME`).

What `PipelineJob.submit(experiment=...)` does, around freshet's own create call: the
experiment is found or created before the job (so a run is never created for an experiment
that cannot exist), and the job's `system.PipelineRun` context is added to it afterwards, so
its parameters and metrics show in Vertex AI Experiments.
"""

from __future__ import annotations

from typing import Any

from freshet.errors import FreshetError
from freshet.gcp.session import VertexSession


def ensure_experiment(session: VertexSession) -> Any:
    """The session's experiment (an SDK `Experiment`), created when missing; None if unset.

    Raises:
        FreshetError: Vertex AI refused to find or create it.
    """
    name = session.gcp.experiment
    if not name:
        return None
    from google.api_core.exceptions import GoogleAPIError
    from google.cloud import aiplatform

    try:
        return aiplatform.Experiment.get_or_create(
            name, project=session.project, location=session.region, credentials=session.credentials
        )
    except (GoogleAPIError, ValueError) as exc:
        raise FreshetError(
            f"Vertex AI Experiment '{name}' could not be found or created: {exc}"
        ) from None


def log_to_experiment(job: Any, created: Any, experiment: Any) -> None:
    """Adds a created pipeline job to an experiment.

    Raises:
        FreshetError: The job was created but could not be added (it runs regardless).
    """
    # The job object holds the request it was built from; the SDK's association reads the
    # created resource (its name and run context), which freshet's create call returned.
    job._gca_resource = created
    try:
        job._associate_to_experiment(experiment)
    except RuntimeError as exc:
        raise FreshetError(
            f"Run '{job.job_id}' was submitted but could not be logged to Vertex AI Experiment "
            f"'{experiment.name}': {exc.__cause__ or exc}"
        ) from None
