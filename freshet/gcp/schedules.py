"""Vertex AI pipeline schedules: create, list, pause, resume, delete.

A schedule is found by its id, its full resource name or its display name; display names are
kept unique (create refuses a name in use) so that a person can use them.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from freshet.errors import BadInput, FreshetError
from freshet.gcp.session import VertexSession
from freshet.runners.base import RunRequest

_MONTHS = ("JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC")
_DAYS = ("SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT")
# (name, lowest, highest, names) of the five unix-cron fields.
_FIELDS = (
    ("minute", 0, 59, ()),
    ("hour", 0, 23, ()),
    ("day of month", 1, 31, ()),
    ("month", 1, 12, _MONTHS),
    ("day of week", 0, 7, _DAYS),
)
_ITEM = re.compile(r"^(\*|(?P<a>\w+)(-(?P<b>\w+))?)(/(?P<step>\d+))?$")


@dataclass(frozen=True)
class ScheduleSpec:
    """When and how often a pipeline runs."""

    display_name: str
    cron: str
    time_zone: str = "UTC"
    max_concurrent_runs: int = 1
    start_time: datetime | None = None
    end_time: datetime | None = None
    max_run_count: int | None = None


@dataclass(frozen=True)
class ScheduleRow:
    """A schedule as `freshet schedule list` shows it."""

    id: str
    display_name: str
    state: str
    cron: str
    next_run_time: str
    started_runs: int


def _value(text: str, low: int, high: int, names: tuple[str, ...]) -> int:
    if text.upper() in names:
        return names.index(text.upper()) + low
    if not text.isdigit() or not low <= int(text) <= high:
        raise ValueError(text)
    return int(text)


def check_cron(cron: str) -> str:
    """Returns `cron` when it is a five-field unix-cron expression, else raises `BadInput`."""
    parts = cron.split()
    problem = None if len(parts) == 5 else f"it has {len(parts)} fields, not 5"
    for part, (name, low, high, names) in zip(parts, _FIELDS, strict=False):
        if problem:
            break
        for item in part.split(","):
            match = _ITEM.match(item)
            try:
                if match is None or match["step"] == "0":
                    raise ValueError(item)
                if match["a"] is not None:
                    first = _value(match["a"], low, high, names)
                    if match["b"] is not None and _value(match["b"], low, high, names) < first:
                        raise ValueError(item)
            except ValueError:
                problem = f"'{item}' is not a valid {name} ({low}-{high})"
                break
    if problem:
        raise BadInput(
            f"Cron expression '{cron}' is not valid: {problem} "
            "(expected 'minute hour day-of-month month day-of-week', e.g. '0 3 * * *')."
        )
    return cron


def check_time_zone(name: str) -> str:
    """Returns `name` when it is an IANA time zone, else raises `BadInput`."""
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise BadInput(
            f"Time zone '{name}' is not an IANA time zone such as 'Europe/Berlin'."
        ) from None
    return name


def parse_time(text: str, option: str, time_zone: str) -> datetime:
    """An ISO 8601 time (in `time_zone` when it has no offset), else `BadInput` naming it."""
    try:
        value = datetime.fromisoformat(text)
    except ValueError:
        raise BadInput(
            f"{option} '{text}' is not an ISO 8601 time such as 2030-01-31T03:00."
        ) from None
    if value.tzinfo is None:
        value = value.replace(tzinfo=ZoneInfo(time_zone))
    return value.astimezone(UTC)


def check_spec(spec: ScheduleSpec) -> ScheduleSpec:
    """Checks a schedule before any API call.

    Raises:
        BadInput: Malformed cron or time zone, a run limit below 1, an end before the start.
    """
    check_cron(spec.cron)
    check_time_zone(spec.time_zone)
    if spec.max_concurrent_runs < 1:
        raise BadInput(f"Max concurrent runs must be at least 1, not {spec.max_concurrent_runs}.")
    if spec.max_run_count is not None and spec.max_run_count < 1:
        raise BadInput(f"Max run count must be at least 1, not {spec.max_run_count}.")
    if spec.start_time and spec.end_time and spec.end_time <= spec.start_time:
        raise BadInput(
            f"End time {spec.end_time.isoformat()} is not after start time "
            f"{spec.start_time.isoformat()}."
        )
    return spec


def _row(schedule: Any) -> ScheduleRow:
    resource = schedule.gca_resource
    next_run = resource.next_run_time
    return ScheduleRow(
        id=resource.name.rsplit("/", 1)[-1],
        display_name=resource.display_name,
        state=resource.state.name,
        cron=resource.cron,
        next_run_time=next_run.isoformat() if next_run else "",
        started_runs=int(resource.started_run_count),
    )


def _api_call(action: str, call: Any, *args: Any, **kwargs: Any) -> Any:
    from google.api_core import exceptions

    try:
        return call(*args, **kwargs)
    except exceptions.InvalidArgument as exc:
        raise BadInput(f"Vertex AI rejected the schedule ({action}): {exc.message}") from None
    except exceptions.FailedPrecondition as exc:
        raise BadInput(f"Cannot {action} the schedule: {exc.message}") from None
    except exceptions.GoogleAPICallError as exc:
        raise FreshetError(f"Vertex AI refused to {action} the schedule: {exc}.") from None


def list_schedules(session: VertexSession) -> list[ScheduleRow]:
    """Every pipeline schedule in the project and region."""
    from google.cloud import aiplatform

    found = _api_call(
        "list",
        aiplatform.PipelineJobSchedule.list,
        project=session.project,
        location=session.region,
        credentials=session.credentials,
    )
    return [_row(s) for s in found]


def create_schedule(runner: Any, request: RunRequest, spec: ScheduleSpec) -> ScheduleRow:
    """Creates a schedule that runs `request`'s pipeline on `spec`'s cron.

    Args:
        runner: A `VertexRunner` (it checks the request and builds the job).
        request: Pipeline, template and parameters of every scheduled run.
        spec: When the runs start.

    Returns:
        The new schedule.

    Raises:
        BadInput: Malformed request or schedule, or the display name is taken.
    """
    from google.cloud import aiplatform

    check_spec(spec)
    run = runner.prepare(request.model_copy(update={"reason": "schedule"}))
    run.parameters.pop("run_id", None)  # each scheduled run gets its own id from Vertex
    run.labels.pop("freshet-data-version", None)  # and its own data, unknown today
    session: VertexSession = runner.session
    taken = [r for r in list_schedules(session) if r.display_name == spec.display_name]
    if taken:
        raise BadInput(
            f"A schedule named '{spec.display_name}' exists already (id {taken[0].id}); "
            "choose another --name or delete it first."
        )
    job = runner.build_job(run)
    schedule = aiplatform.PipelineJobSchedule(
        pipeline_job=job,
        display_name=spec.display_name,
        credentials=session.credentials,
        project=session.project,
        location=session.region,
    )
    _api_call(
        "create",
        schedule.create,
        cron=f"TZ={spec.time_zone} {spec.cron}",
        start_time=spec.start_time,
        end_time=spec.end_time,
        max_run_count=spec.max_run_count,
        max_concurrent_run_count=spec.max_concurrent_runs,
        service_account=session.gcp.service_account,
        network=session.gcp.network,
    )
    return _row(schedule)


def find_schedule(session: VertexSession, ref: str) -> Any:
    """A schedule by id, resource name or display name.

    Raises:
        BadInput: No schedule (or more than one) matches `ref`.
    """
    from google.cloud import aiplatform

    rows = list_schedules(session)
    matches = [
        r for r in rows if ref in (r.id, r.display_name, f"{session.parent}/schedules/{r.id}")
    ]
    if not matches:
        known = ", ".join(f"{r.display_name} ({r.id})" for r in rows) or "none"
        raise BadInput(f"No schedule '{ref}' in {session.parent}; schedules: {known}.")
    if len(matches) > 1:
        raise BadInput(f"Schedule name '{ref}' is ambiguous: use its id.")
    return _api_call(
        "find",
        aiplatform.PipelineJobSchedule.get,
        f"{session.parent}/schedules/{matches[0].id}",
        credentials=session.credentials,
    )


def pause_schedule(session: VertexSession, ref: str) -> ScheduleRow:
    """Pauses a schedule; returns it as it is now."""
    schedule = find_schedule(session, ref)
    _api_call("pause", schedule.pause)
    return _row(_api_call("read", _refreshed, schedule))


def resume_schedule(session: VertexSession, ref: str) -> ScheduleRow:
    """Resumes a paused schedule; returns it as it is now."""
    schedule = find_schedule(session, ref)
    _api_call("resume", schedule.resume)
    return _row(_api_call("read", _refreshed, schedule))


def delete_schedule(session: VertexSession, ref: str) -> ScheduleRow:
    """Deletes a schedule (runs it started are kept); returns what was deleted."""
    schedule = find_schedule(session, ref)
    row = _row(schedule)
    _api_call("delete", schedule.delete)
    return row


def _refreshed(schedule: Any) -> Any:
    _ = schedule.state  # reading the state fetches the schedule again
    return schedule
