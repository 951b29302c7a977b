"""Notify: turn a pipeline's final status into one alert on the team's webhook.

Runs as the pipeline's exit handler (`dsl.ExitHandler`), so it sees every way a run can
end. A run that succeeded posts nothing; a failed or cancelled one posts one alert with the
failing step (when the engine names it) and the error. Posting never fails the step.

The webhook arrives as a secret reference (`sm://...` on Vertex AI, `k8s://...` on Kubeflow
Pipelines), never as the URL: the step resolves it with the run's own identity, so the URL is
in no parameter Vertex or Kubeflow store. A literal URL still works in a local run.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from freshet.alerts import Alert, post_alert
from freshet.ops_settings import OpsSettings

# Vertex AI: "The DAG failed because some tasks failed. The failed tasks are: [train]."
_FAILED_TASKS = re.compile(r"failed tasks are:?\s*\[([^\]]*)\]", re.IGNORECASE)
_JOB = re.compile(r"^projects/([^/]+)/locations/([^/]+)/pipelineJobs/([^/]+)$")


@dataclass(frozen=True)
class FinalStatus:
    """The fields of `dsl.PipelineTaskFinalStatus`, without kfp."""

    state: str
    job_resource_name: str = ""
    task_name: str = ""
    error_code: int | None = None
    error_message: str | None = None


def failed_steps(message: str | None) -> list[str]:
    """Step names an engine's error message lists as failed (Vertex names them)."""
    match = _FAILED_TASKS.search(message or "")
    if not match:
        return []
    return [name.strip(" '\"") for name in match.group(1).split(",") if name.strip(" '\"")]


def console_link(job_resource_name: str) -> str | None:
    """The Google Cloud console page of a Vertex AI pipeline job, if the name is one."""
    match = _JOB.match(job_resource_name)
    if not match:
        return None
    project, location, job = match.groups()
    return (
        f"https://console.cloud.google.com/vertex-ai/locations/{location}/pipelines/runs/"
        f"{job}?project={project}"
    )


def final_state_alert(
    status: FinalStatus, pipeline: str, run_id: str, report_url: str = ""
) -> Alert | None:
    """The alert for a run's final status; None when the run succeeded."""
    if status.state.upper() == "SUCCEEDED":
        return None
    steps = failed_steps(status.error_message)
    state = status.state.lower()
    where = f" in step '{', '.join(steps)}'" if steps else ""
    return Alert(
        kind="run_failed",
        title=f"{pipeline} run {state}{where}",
        pipeline=pipeline,
        run_id=run_id or status.job_resource_name.rsplit("/", 1)[-1] or None,
        step=", ".join(steps) or None,
        error=status.error_message or f"the run ended {state} (code {status.error_code})",
        report=report_url or console_link(status.job_resource_name),
    )


def notify(
    status: FinalStatus,
    webhook_url: str,
    pipeline: str,
    run_id: str,
    report_url: str = "",
    timeout_s: float = 5.0,
    deadline_s: float = 30.0,
) -> str:
    """Posts the alert for a failed run.

    Args:
        status: The run's final status.
        webhook_url: A secret reference to a Slack- or Discord-compatible incoming webhook
            (or, locally, its URL); empty: post nothing.
        pipeline: Pipeline name.
        run_id: The run's id.
        report_url: Link to the run's report [default: the Vertex console page].
        timeout_s: Per attempt.
        deadline_s: Total retry budget.

    Returns:
        "succeeded" (nothing posted), "no webhook", "posted" or "not delivered".
    """
    alert = final_state_alert(status, pipeline, run_id, report_url)
    if alert is None:
        return "succeeded"
    if not webhook_url:
        return "no webhook"
    ops = OpsSettings(
        webhook_url=webhook_url, webhook_timeout_s=timeout_s, webhook_deadline_s=deadline_s
    )
    return "posted" if post_alert(alert, ops) else "not delivered"
