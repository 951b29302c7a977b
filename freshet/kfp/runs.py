"""Runs on Kubeflow Pipelines: follow, list, show and cancel, in the shapes Vertex runs have.

A freshet run on KFP is a run in freshet's experiment whose display name is freshet's run id;
its claim (`freshet.kfp.claims`) maps that id to KFP's own run id and records the pipeline,
trigger reason and data version (KFP runs have no labels). Runs a recurring run started have
no claim: they are found by KFP id and named by their pipeline spec.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from rich.console import Console

from freshet.errors import BadInput
from freshet.gcp.follow import JobView, watch
from freshet.history import RunRow
from freshet.kfp.claims import Claims
from freshet.kfp.client import KfpSession

# KFP run states as freshet (and the Vertex follow loop) names them.
_STATE = {"CANCELED": "CANCELLED", "CANCELING": "CANCELLING", "SKIPPED": "SUCCEEDED"}
_STATUS = {"SUCCEEDED": "succeeded", "FAILED": "failed", "CANCELLED": "cancelled"}


def state_of(run: Any) -> str:
    """A `V2beta1Run`'s state as a Vertex-style name (CANCELED -> CANCELLED)."""
    state = str(run.state or "PENDING")
    return _STATE.get(state, state)


def leaf_details(run: Any) -> list[Any]:
    """A `V2beta1Run`'s task details that are steps: not a DAG (sub-pipeline, condition)."""
    details = (run.run_details.task_details if run.run_details else None) or []
    parents = {t.parent_task_id for t in details if t.parent_task_id}
    return [t for t in details if t.task_id not in parents]


def view_of(run: Any) -> JobView:
    """One `V2beta1Run` as the follow loop's view."""
    details = leaf_details(run)
    tasks = {str(t.display_name): _STATE.get(str(t.state), str(t.state)) for t in details}
    error = run.error.message if run.error and run.error.message else ""
    return JobView(state=state_of(run), tasks=tasks, error=error)


class KfpRuns:
    """The remote-run operations of one KFP session (see `freshet.runners.remote`)."""

    name = "Kubeflow Pipelines"

    def __init__(self, session: KfpSession, claims: Claims) -> None:
        self.session = session
        self.claims = claims

    def kfp_id(self, run_id: str) -> str:
        """KFP's id of a run given by freshet's run id (via its claim) or KFP's own.

        Raises:
            BadInput: Neither a claimed freshet run id nor a KFP run id.
        """
        claim = self.claims.lookup(run_id)
        if claim is not None and claim.kfp_run_id:
            return claim.kfp_run_id
        return run_id

    def get(self, run_id: str) -> Any:
        """The `V2beta1Run`; BadInput naming the id when there is none."""
        try:
            return self.session.call(
                f"find run '{run_id}'", self.session.client.get_run, self.kfp_id(run_id)
            )
        except BadInput:
            raise BadInput(
                f"No run '{run_id}' on Kubeflow Pipelines at {self.session.host}."
            ) from None

    def follow(
        self, run_id: str, console: Console, sleep: Callable[[float], None] = time.sleep
    ) -> JobView:
        """Polls the run until it ends (CANCELLED ends it too, unlike kfp's own wait)."""
        kfp_id = self.kfp_id(run_id)

        def fetch() -> JobView:
            return view_of(self.session.call("read the run", self.session.client.get_run, kfp_id))

        return watch(fetch, run_id, console, self.session.kfp.poll_seconds, sleep)

    def cancel(self, run_id: str) -> str:
        """Terminates a run; its state after the request."""
        kfp_id = self.get(run_id).run_id
        self.session.call(f"cancel run '{run_id}'", self.session.client.terminate_run, str(kfp_id))
        return state_of(self.get(run_id))

    def outcome(self, run_id: str) -> dict[str, Any]:
        """What an ended run produced: its metrics, or a note saying why they are not shown."""
        from freshet.kfp.artifacts import run_outcome

        return run_outcome(self.session, self.get(run_id))

    def url(self, run_id: str) -> str:
        """The UI link of a run."""
        return self.session.run_url(self.kfp_id(run_id))

    def rows(self, pipeline: str | None, status: str | None, limit: int) -> list[RunRow]:
        """The runs of freshet's experiment, newest first, as run rows."""
        rows: list[RunRow] = []
        token = ""
        while len(rows) < limit:
            answer = self.session.call(
                "list runs",
                self.session.client.list_runs,
                experiment_id=self.session.experiment_id(),
                sort_by="created_at desc",
                page_size=min(100, max(limit, 10)),
                page_token=token,
            )
            for run in answer.runs or []:
                row = self.row_of(run)
                if pipeline and row.pipeline != pipeline or status and row.status != status:
                    continue
                rows.append(row)
                if len(rows) == limit:
                    break
            token = answer.next_page_token or ""
            if not token:
                break
        return rows

    def row_of(self, run: Any) -> RunRow:
        """One `V2beta1Run` as a run row (pipeline, reason, data version from its claim)."""
        claim = self.claims.lookup(str(run.display_name))
        meta = claim.meta if claim is not None and claim.kfp_run_id == run.run_id else {}
        state = state_of(run)
        started = _time(run.created_at) or datetime.now(UTC)
        finished = _time(run.finished_at) or started
        details = leaf_details(run)
        failed = next((str(t.display_name) for t in details if t.state == "FAILED"), None)
        return RunRow(
            run_id=str(run.display_name if meta else run.run_id),
            pipeline=str(meta.get("pipeline") or _spec_name(run)),
            status=_STATUS.get(state, state.lower()),
            decision=None,
            reason=str(meta.get("reason") or ("schedule" if run.recurring_run_id else "")),
            data_version=meta.get("data_version"),
            started_at=started,
            finished_at=finished,
            seconds=(finished - started).total_seconds(),
            failed_step=failed,
            error=(run.error.message if run.error else None) or None,
        )

    def show(self, run_id: str) -> dict[str, Any]:
        """One run in the shape of a local run's summary."""
        run = self.get(run_id)
        from freshet.kfp.artifacts import run_outcome

        row = self.row_of(run)
        steps = []
        for task in leaf_details(run):
            began, ended = _time(task.start_time), _time(task.end_time)
            steps.append(
                {
                    "name": str(task.display_name),
                    "status": _STATE.get(str(task.state), str(task.state)).lower(),
                    "seconds": (ended - began).total_seconds() if began and ended else 0.0,
                    "cached": task.state == "SKIPPED",
                }
            )
        parameters = dict((run.runtime_config.parameters if run.runtime_config else None) or {})
        return {
            "run_id": row.run_id,
            "kfp_run_id": run.run_id,
            "pipeline": row.pipeline,
            "status": row.status,
            "reason": row.reason,
            "data_version": row.data_version,
            "started_at": row.started_at.isoformat(),
            "seconds": row.seconds,
            "steps": steps,
            "parameters": parameters,
            "error": row.error,
            "failed_step": row.failed_step,
            "console_url": self.session.run_url(str(run.run_id)),
            **run_outcome(self.session, run),  # metrics, or a note on why there are none
        }


def _spec_name(run: Any) -> str:
    spec = run.pipeline_spec
    if isinstance(spec, str):
        spec = json.loads(spec)
    if isinstance(spec, dict):
        info = spec.get("pipelineInfo") or spec.get("pipeline_spec", {}).get("pipelineInfo", {})
        return str(info.get("name", ""))
    return ""


def _time(value: Any) -> datetime | None:
    if not value:
        return None
    if isinstance(value, str):
        value = datetime.fromisoformat(value.replace("Z", "+00:00"))
    stamp: datetime = value if value.tzinfo else value.replace(tzinfo=UTC)
    return stamp
