"""Runs on Vertex AI as rows of `freshet runs list --vertex`, read from the API.

A freshet run is a PipelineJob with a `freshet-pipeline` label (`freshet.gcp.labels`), so the
listing asks Vertex for those (filtered and ordered by the server) and reads pipeline, data
version and trigger reason from the labels, the failed step from the task details.
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


def row_of(job: Any) -> RunRow:
    """One `google.cloud.aiplatform_v1.PipelineJob` as a run row."""
    labels = dict(job.labels)
    state = job.state.name
    started = _time(job.start_time) or _time(job.create_time) or datetime.now(UTC)
    finished = _time(job.end_time) or started
    failed = [t for t in job.job_detail.task_details if t.state.name == "FAILED"]
    # A DAG task (the root, a nested pipeline) fails with its child: name the leaf.
    parents = {t.parent_task_id for t in failed}
    leaf = next((t.task_name for t in failed if t.task_id not in parents and t.task_name), None)
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


def _endpoint(session: VertexSession) -> str:
    return session.gcp.api_endpoint or f"{session.region}-aiplatform.googleapis.com"


def _time(value: Any) -> datetime | None:
    if not value:
        return None
    stamp: datetime = value if value.tzinfo else value.replace(tzinfo=UTC)
    return stamp
