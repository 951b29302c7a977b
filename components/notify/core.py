"""Notify: turn a pipeline's final status into one alert on the team's webhook.

Runs as the pipeline's exit handler (`dsl.ExitHandler`), so it sees every way a run can
end. A run that succeeded posts nothing; a failed or cancelled one posts one alert with the
failing step (when the engine names it) and the error. Posting never fails the step.

The webhook arrives as a secret reference (`sm://...` on Vertex AI, `k8s://...` on Kubeflow
Pipelines), never as the URL: the step resolves it with the run's own identity, so the URL is
in no parameter Vertex or Kubeflow store. A literal URL still works in a local run.

A run that verified on a Vertex AI endpoint and did not succeed may have left that endpoint
behind (a verify worker killed before its teardown ran): the exit task removes every endpoint
labelled with the run, and a failed cleanup is one sentence, never a failed exit task.
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


ENDPOINT_TARGET = "vertex-endpoint"


def cleanup_verification(
    status: FinalStatus, verify_target: str, registry_uri: str, run_id: str
) -> str:
    """Removes the verification endpoints a run that did not succeed left; never raises.

    Args:
        status: The run's final status (a succeeded run tore its endpoint down itself).
        verify_target: The run's `verify_target`; only `vertex-endpoint` makes endpoints.
        registry_uri: The run's registry (`vertex://projects/P/locations/L...` names where).
        run_id: The run whose `freshet-verify` label is searched for.

    Returns:
        One sentence saying what was removed, or why nothing was.
    """
    if verify_target != ENDPOINT_TARGET:
        return f"no endpoint to clean up (verify_target {verify_target or 'process'})"
    if status.state.upper() == "SUCCEEDED":
        return "no endpoint to clean up (the run succeeded, so verify tore its endpoint down)"
    if not run_id:
        return "no endpoint cleaned up: the run has no run_id to find its endpoints by"
    try:
        from freshet.gcp.endpoints import cleanup
        from freshet.registry.vertex import parse_uri

        location, _ = parse_uri(registry_uri)
        results = cleanup(location, run_id=run_id)
    except Exception as exc:  # noqa: BLE001  (the exit task must not fail on cleanup)
        return (
            f"could not clean up the verification endpoints of run {run_id} "
            f"({type(exc).__name__}: {exc}); 'freshet verify cleanup --run {run_id}' removes them"
        )
    failed = [r for r in results if not r.deleted]
    if failed:
        reasons = "; ".join(f"{r.endpoint}: {r.error}" for r in failed)
        return (
            f"could not delete {len(failed)} of {len(results)} verification endpoint(s) of run "
            f"{run_id} ({reasons}); 'freshet verify cleanup --run {run_id}' removes them"
        )
    if not results:
        return f"no verification endpoint of run {run_id} was left"
    names = ", ".join(r.endpoint for r in results)
    return f"deleted {len(results)} verification endpoint(s) of run {run_id}: {names}"
