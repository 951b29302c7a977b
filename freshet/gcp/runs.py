"""Runs on Vertex AI as rows of `freshet runs list --vertex`, read from the API.

A freshet run is a PipelineJob with a `freshet-pipeline` label (`freshet.gcp.labels`), so the
listing asks Vertex for those (filtered and ordered by the server) and reads pipeline, data
version and trigger reason from the labels, the failed step from the task details. `vertex_run`
reads one job into the shape of a local `summary.json`, so `runs show` prints both alike.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from freshet.gcp.session import VertexSession
from freshet.history import RunRow

_STATUS = {
    "PIPELINE_STATE_SUCCEEDED": "succeeded",
    "PIPELINE_STATE_FAILED": "failed",
    "PIPELINE_STATE_CANCELLED": "cancelled",
}
_STATE_OF = {"succeeded": "PIPELINE_STATE_SUCCEEDED", "failed": "PIPELINE_STATE_FAILED"}


def job_filter(pipeline: str | None, status: str | None) -> str:
    """The ListPipelineJobs filter for freshet runs, of one pipeline and status if given."""
    clauses = [f'labels.freshet-pipeline="{pipeline}"' if pipeline else "labels.freshet-pipeline:*"]
    if status:
        clauses.append(f'state="{_STATE_OF[status]}"')
    return " AND ".join(clauses)


def leaf_tasks(job: Any) -> list[Any]:
    """The job's task details that are steps: not the root, not a DAG containing others."""
    details = list(job.job_detail.task_details)
    parents = {t.parent_task_id for t in details if t.parent_task_id}
    return [t for t in details if t.task_name and t.task_id not in parents]


def row_of(job: Any) -> RunRow:
    """One `google.cloud.aiplatform_v1.PipelineJob` as a run row."""
    labels = dict(job.labels)
    state = job.state.name
    started = _time(job.start_time) or _time(job.create_time) or datetime.now(UTC)
    finished = _time(job.end_time) or started
    # A DAG task (the root, a nested pipeline) fails with its child: name the leaf.
    leaf = next((t.task_name for t in leaf_tasks(job) if t.state.name == "FAILED"), None)
    return RunRow(
        run_id=job.name.rsplit("/", 1)[-1],
        pipeline=labels.get("freshet-pipeline", ""),
        status=_STATUS.get(state, state.removeprefix("PIPELINE_STATE_").lower()),
        decision=None,
        reason=labels.get("freshet-reason", ""),
        data_version=labels.get("freshet-data-version") or None,
        started_at=started,
        finished_at=finished,
        seconds=(finished - started).total_seconds(),
        failed_step=leaf,
        error=job.error.message or None,
    )


def vertex_runs(
    session: VertexSession, pipeline: str | None, status: str | None, limit: int
) -> list[RunRow]:
    """The runs freshet started on Vertex, newest first.

    Args:
        session: The Vertex session (project and region).
        pipeline: Only this pipeline's runs.
        status: Only runs that "succeeded" or "failed".
        limit: At most this many.
    """
    from google.cloud import aiplatform_v1

    client = aiplatform_v1.PipelineServiceClient(
        credentials=session.credentials,
        client_options={"api_endpoint": _endpoint(session)},
    )
    request = aiplatform_v1.ListPipelineJobsRequest(
        parent=session.parent,
        filter=job_filter(pipeline, status),
        order_by="create_time desc",
        page_size=min(limit, 100),
    )
    rows: list[RunRow] = []
    for job in client.list_pipeline_jobs(request=request):
        rows.append(row_of(job))
        if len(rows) == limit:
            break
    return rows


def vertex_run(session: VertexSession, run_id: str) -> dict[str, Any]:
    """One run on Vertex, in the shape of a local run's summary.

    Raises:
        BadInput: Vertex has no pipeline job with this id in the project and region.
    """
    from google.api_core.exceptions import NotFound
    from google.cloud import aiplatform_v1

    from freshet.errors import BadInput
    from freshet.gcp.run_outcomes import run_outcomes

    client = aiplatform_v1.PipelineServiceClient(
        credentials=session.credentials, client_options={"api_endpoint": _endpoint(session)}
    )
    try:
        job = client.get_pipeline_job(name=session.job_name(run_id))
    except NotFound:
        raise BadInput(f"No run '{run_id}' on Vertex AI in {session.parent}.") from None
    row = row_of(job)
    steps = []
    for task in leaf_tasks(job):
        began, ended = _time(task.start_time), _time(task.end_time)
        steps.append(
            {
                "name": task.task_name,
                "status": task.state.name.lower(),
                "seconds": (ended - began).total_seconds() if began and ended else 0.0,
                "cached": task.execution.state.name == "CACHED",
            }
        )
    return {
        "run_id": row.run_id,
        "pipeline": row.pipeline,
        "status": row.status,
        "reason": row.reason,
        "data_version": row.data_version,
        "started_at": row.started_at.isoformat(),
        "seconds": row.seconds,
        "steps": steps,
        "parameters": dict(job.runtime_config.parameter_values),
        "labels": dict(job.labels),
        "error": row.error,
        "failed_step": row.failed_step,
        "console_url": session.console_url(row.run_id),
        **run_outcomes(job),  # verification outcome and registry version
    }


def _endpoint(session: VertexSession) -> str:
    return session.gcp.api_endpoint or f"{session.region}-aiplatform.googleapis.com"


def _time(value: Any) -> datetime | None:
    if not value:
        return None
    stamp: datetime = value if value.tzinfo else value.replace(tzinfo=UTC)
    return stamp
