"""Pipeline schedules over the local fake of the Vertex API, and their checks."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
import yaml

from freshet.compile import template_version
from freshet.config import load_settings
from freshet.errors import BadInput
from freshet.gcp.schedules import (
    ScheduleSpec,
    check_cron,
    check_spec,
    create_schedule,
    delete_schedule,
    list_schedules,
    parse_time,
    pause_schedule,
    resume_schedule,
)
from freshet.runners import RunRequest
from freshet.runners.vertex import VertexRunner
from tests.fakes.vertex_fixtures import PROJECT, REGION, SERVICE_ACCOUNT, VertexServices


def _create(vertex: VertexServices, **spec: object) -> tuple[VertexRunner, object]:
    runner = VertexRunner(load_settings(runner="vertex"))
    fields = {"display_name": "nightly", "cron": "0 3 * * *", **spec}
    row = create_schedule(
        runner,
        RunRequest(template=vertex.template, parameters={"epochs": "5"}),
        ScheduleSpec(**fields),  # type: ignore[arg-type]
    )
    return runner, row


def test_create_sends_cron_zone_limits_and_the_pipeline_job(vertex: VertexServices) -> None:
    start = datetime(2030, 1, 1, 2, 0, tzinfo=UTC)
    _, row = _create(
        vertex,
        time_zone="Europe/Berlin",
        max_concurrent_runs=2,
        start_time=start,
        end_time=datetime(2030, 6, 1, tzinfo=UTC),
        max_run_count=10,
    )

    [sent] = vertex.vertex.requests("CreateSchedule")
    assert sent.parent == f"projects/{PROJECT}/locations/{REGION}"
    schedule = sent.schedule
    assert schedule.cron == "TZ=Europe/Berlin 0 3 * * *"
    assert schedule.display_name == "nightly"
    assert (schedule.max_concurrent_run_count, schedule.max_run_count) == (2, 10)
    assert schedule.start_time == start
    job = schedule.create_pipeline_job_request.pipeline_job
    assert dict(job.pipeline_spec) == yaml.safe_load(vertex.template.read_text())
    # No fixed run id; the registry and the checkpoints in Cloud Storage.
    assert dict(job.runtime_config.parameter_values) == {
        "epochs": 5,
        "registry_uri": "gs://freshet-fake-root/runs/registry",
        "checkpoint_root": "gs://freshet-fake-root/runs/checkpoints",
        "template_version": template_version(vertex.template),  # fixed with the template
    }
    assert job.service_account == SERVICE_ACCOUNT
    assert job.labels["freshet-reason"] == "schedule"
    assert row.state == "ACTIVE" and row.display_name == "nightly"  # type: ignore[attr-defined]


def test_list_pause_resume_delete(vertex: VertexServices) -> None:
    runner, row = _create(vertex)
    session = runner.session

    assert [r.display_name for r in list_schedules(session)] == ["nightly"]
    assert pause_schedule(session, "nightly").state == "PAUSED"
    assert resume_schedule(session, row.id).state == "ACTIVE"  # type: ignore[attr-defined]
    delete_schedule(session, "nightly")

    assert list_schedules(session) == []
    name = f"projects/{PROJECT}/locations/{REGION}/schedules/{row.id}"  # type: ignore[attr-defined]
    assert [r.name for r in vertex.vertex.requests("PauseSchedule")] == [name]
    assert [r.name for r in vertex.vertex.requests("ResumeSchedule")] == [name]
    assert [r.name for r in vertex.vertex.requests("DeleteSchedule")] == [name]
    assert vertex.vertex.schedules() == []


def test_pausing_a_paused_schedule_is_bad_input(vertex: VertexServices) -> None:
    runner, _ = _create(vertex)
    pause_schedule(runner.session, "nightly")
    with pytest.raises(BadInput, match="Cannot pause the schedule: .* is PAUSED"):
        pause_schedule(runner.session, "nightly")


def test_a_display_name_in_use_is_refused(vertex: VertexServices) -> None:
    _create(vertex)
    with pytest.raises(BadInput, match="A schedule named 'nightly' exists already"):
        _create(vertex)
    assert len(vertex.vertex.schedules()) == 1


def test_an_unknown_schedule_is_named(vertex: VertexServices) -> None:
    runner, _ = _create(vertex)
    with pytest.raises(BadInput, match="No schedule 'weekly' .* schedules: nightly"):
        pause_schedule(runner.session, "weekly")


@pytest.mark.parametrize(
    "cron", ["0 3 * * *", "*/15 * * * MON-FRI", "0 0 1,15 JAN,JUL *", "5 4 * * 7", "0 0-6/2 * * *"]
)
def test_valid_cron_expressions(cron: str) -> None:
    assert check_cron(cron) == cron


@pytest.mark.parametrize(
    ("cron", "problem"),
    [
        ("0 3 * *", "it has 4 fields, not 5"),
        ("61 * * * *", "'61' is not a valid minute (0-59)"),
        ("0 24 * * *", "'24' is not a valid hour (0-23)"),
        ("0 0 0 * *", "'0' is not a valid day of month (1-31)"),
        ("0 0 * FOO *", "'FOO' is not a valid month (1-12)"),
        ("*/0 * * * *", "'*/0' is not a valid minute"),
        ("0 5-2 * * *", "'5-2' is not a valid hour"),
    ],
)
def test_malformed_cron_is_named(cron: str, problem: str) -> None:
    with pytest.raises(BadInput) as raised:
        check_cron(cron)
    assert str(raised.value).startswith(f"Cron expression '{cron}' is not valid: {problem}")


def test_schedule_checks() -> None:
    with pytest.raises(BadInput, match="Time zone 'Mars/Olympus' is not an IANA time zone"):
        check_spec(ScheduleSpec("n", "0 3 * * *", time_zone="Mars/Olympus"))
    with pytest.raises(BadInput, match="Max concurrent runs must be at least 1, not 0"):
        check_spec(ScheduleSpec("n", "0 3 * * *", max_concurrent_runs=0))
    start = parse_time("2030-01-02T00:00", "Start time", "UTC")
    end = parse_time("2030-01-01T00:00", "End time", "UTC")
    with pytest.raises(BadInput, match="End time .* is not after start time"):
        check_spec(ScheduleSpec("n", "0 3 * * *", start_time=start, end_time=end))
    with pytest.raises(BadInput, match="Start time 'tomorrow' is not an ISO 8601 time"):
        parse_time("tomorrow", "Start time", "UTC")


def test_times_without_offset_are_in_the_schedule_time_zone() -> None:
    assert parse_time("2030-07-01T03:00", "Start time", "Europe/Berlin") == datetime(
        2030, 7, 1, 1, 0, tzinfo=UTC
    )
