"""Schedules on Kubeflow Pipelines: recurring runs, with the same commands as Vertex schedules.

Users write the 5-field unix cron Vertex takes (`0 3 * * *`); KFP's recurring runs take 6
fields, seconds first (robfig/cron), so a checked 5-field cron gets a leading `0`. KFP runs
recurring runs in the controller's time zone (UTC) and has no run-count limit: a schedule
asking for another time zone or `--max-runs` is refused rather than silently changed.
"""

from __future__ import annotations

from typing import Any

from freshet.errors import BadInput
from freshet.gcp.schedules import ScheduleRow, ScheduleSpec, check_spec
from freshet.kfp.client import KfpSession
from freshet.runners.base import RunRequest


def to_kfp_cron(cron: str) -> str:
    """The 6-field KFP cron of a checked 5-field cron: `0 3 * * *` -> `0 0 3 * * *`.

    Raises:
        BadInput: Not a valid 5-field cron (one sentence naming the bad field).
    """
    from freshet.gcp.schedules import check_cron

    return "0 " + " ".join(check_cron(cron).split())


def check_kfp_spec(spec: ScheduleSpec) -> ScheduleSpec:
    """Checks a schedule for KFP before any call (see `check_spec`).

    Raises:
        BadInput: As `check_spec`; or a time zone other than UTC, or a run-count limit.
    """
    check_spec(spec)
    if spec.time_zone not in ("UTC", "Etc/UTC"):
        raise BadInput(
            f"Kubeflow Pipelines runs schedules in UTC: time zone '{spec.time_zone}' cannot be "
            "honoured; give the cron in UTC and drop --time-zone."
        )
    if spec.max_run_count is not None:
        raise BadInput(
            "Kubeflow Pipelines recurring runs have no run-count limit: use --end-time "
            "instead of --max-runs."
        )
    return spec


def _row(recurring: Any) -> ScheduleRow:
    trigger = recurring.trigger
    cron = trigger.cron_schedule.cron if trigger and trigger.cron_schedule else ""
    return ScheduleRow(
        id=str(recurring.recurring_run_id),
        display_name=str(recurring.display_name),
        state=str(recurring.status or recurring.mode or ""),
        cron=cron,
        next_run_time="",
        started_runs=0,
    )


def list_schedules(session: KfpSession) -> list[ScheduleRow]:
    """The recurring runs of freshet's experiment."""
    rows: list[ScheduleRow] = []
    token = ""
    while True:
        answer = session.call(
            "list recurring runs",
            session.client.list_recurring_runs,
            experiment_id=session.experiment_id(),
            page_size=100,
            page_token=token,
        )
        rows += [_row(r) for r in answer.recurring_runs or []]
        token = answer.next_page_token or ""
        if not token:
            return rows


def create_schedule(runner: Any, request: RunRequest, spec: ScheduleSpec) -> ScheduleRow:
    """Creates a recurring run of `request`'s pipeline on `spec`'s cron.

    Args:
        runner: A `KfpRunner` (it checks the request against its template).
        request: Pipeline, template and parameters of every scheduled run.
        spec: When the runs start.

    Raises:
        BadInput: Malformed request or schedule, or the display name is taken.
    """
    check_kfp_spec(spec)
    cron = to_kfp_cron(spec.cron)
    run = runner.prepare(request.model_copy(update={"reason": "schedule"}))
    run.parameters.pop("run_id", None)  # each scheduled run is a new run
    session: KfpSession = runner.session
    taken = [r for r in list_schedules(session) if r.display_name == spec.display_name]
    if taken:
        raise BadInput(
            f"A schedule named '{spec.display_name}' exists already (id {taken[0].id}); "
            "choose another --name or delete it first."
        )
    recurring = session.call(
        "create the recurring run",
        session.client.create_recurring_run,
        experiment_id=session.experiment_id(),
        job_name=spec.display_name,
        cron_expression=cron,
        start_time=spec.start_time.isoformat() if spec.start_time else None,
        end_time=spec.end_time.isoformat() if spec.end_time else None,
        max_concurrency=spec.max_concurrent_runs,
        no_catchup=True,
        pipeline_package_path=str(run.template),
        params=run.parameters,
        pipeline_root=session.kfp.pipeline_root,
        enable_caching=run.enable_caching,
        service_account=session.kfp.service_account,
    )
    return _row(recurring)


def find_schedule(session: KfpSession, ref: str) -> ScheduleRow:
    """A recurring run by id or display name.

    Raises:
        BadInput: None (or more than one) matches `ref`.
    """
    rows = list_schedules(session)
    matches = [r for r in rows if ref in (r.id, r.display_name)]
    if not matches:
        known = ", ".join(f"{r.display_name} ({r.id})" for r in rows) or "none"
        raise BadInput(
            f"No schedule '{ref}' in experiment '{session.kfp.experiment}'; schedules: {known}."
        )
    if len(matches) > 1:
        raise BadInput(f"Schedule name '{ref}' is ambiguous: use its id.")
    return matches[0]


def _change(session: KfpSession, ref: str, action: str) -> ScheduleRow:
    row = find_schedule(session, ref)
    client = session.client
    method = {
        "pause": client.disable_recurring_run,
        "resume": client.enable_recurring_run,
        "delete": client.delete_recurring_run,
    }[action]
    session.call(f"{action} the schedule", method, row.id)
    if action == "delete":
        return row
    return _row(session.call("read the schedule", client.get_recurring_run, row.id))


def pause_schedule(session: KfpSession, ref: str) -> ScheduleRow:
    """Disables a recurring run; returns it as it is now."""
    return _change(session, ref, "pause")


def resume_schedule(session: KfpSession, ref: str) -> ScheduleRow:
    """Enables a recurring run; returns it as it is now."""
    return _change(session, ref, "resume")


def delete_schedule(session: KfpSession, ref: str) -> ScheduleRow:
    """Deletes a recurring run (runs it started are kept); returns what was deleted."""
    return _change(session, ref, "delete")
