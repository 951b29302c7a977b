"""Vertex AI Pipelines behind `freshet.runners.remote.RemoteRuns`."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from rich.console import Console

from freshet.gcp.follow import JobView, follow
from freshet.gcp.session import VertexSession
from freshet.history import RunRow


class VertexRuns:
    """The remote-run operations of one Vertex session."""

    name = "Vertex AI"

    def __init__(self, session: VertexSession) -> None:
        self.session = session

    def follow(
        self, run_id: str, console: Console, sleep: Callable[[float], None] = time.sleep
    ) -> JobView:
        """See `RemoteRuns.follow`."""
        return follow(self.session, run_id, console, sleep)

    def cancel(self, run_id: str) -> str:
        """See `RemoteRuns.cancel`.

        Raises:
            BadInput: No such job in the project and region.
        """
        from google.api_core.exceptions import FailedPrecondition, NotFound

        from freshet.errors import BadInput

        client = self._client()
        name = self.session.job_name(run_id)
        try:
            client.cancel_pipeline_job(name=name)
        except NotFound:
            raise BadInput(f"No run '{run_id}' on Vertex AI in {self.session.parent}.") from None
        except FailedPrecondition:
            pass  # already ended: the state below says how
        job = client.get_pipeline_job(name=name)
        return str(JobView.of(job).state)

    def outcome(self, run_id: str) -> dict[str, Any]:
        """See `RemoteRuns.outcome`: the evaluate task's metrics and the gate's decision."""
        from freshet.gcp.run_outcomes import run_outcomes

        job = self._client().get_pipeline_job(name=self.session.job_name(run_id))
        found = run_outcomes(job)
        return {key: found[key] for key in ("metrics", "gate", "decision") if key in found}

    def url(self, run_id: str) -> str:
        """See `RemoteRuns.url`."""
        return self.session.console_url(run_id)

    def rows(self, pipeline: str | None, status: str | None, limit: int) -> list[RunRow]:
        """See `RemoteRuns.rows`."""
        from freshet.gcp.runs import vertex_runs

        return vertex_runs(self.session, pipeline, status, limit)

    def show(self, run_id: str) -> dict[str, Any]:
        """See `RemoteRuns.show`."""
        from freshet.gcp.runs import vertex_run

        return vertex_run(self.session, run_id)

    def _client(self) -> Any:
        from google.cloud import aiplatform_v1

        from freshet.gcp.runs import _endpoint

        return aiplatform_v1.PipelineServiceClient(
            credentials=self.session.credentials,
            client_options={"api_endpoint": _endpoint(self.session)},
        )
