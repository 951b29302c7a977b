from __future__ import annotations

import pytest
from pydantic import ValidationError

from freshet.trigger.events import DataUpdateEvent, ScheduleEvent, StorageEvent
from freshet.trigger.routing import Ignored, Planned, plan
from freshet.trigger.settings import Route, TriggerSettings

TRIGGER = TriggerSettings(
    routes=[
        Route(match="gs://marker-bucket/*", marker="_SUCCESS", parameters={"epochs": 3}),
        Route(match="gs://data-bucket/incoming/*.csv", parameters={"epochs": 2}),
    ]
)


def finalized(bucket: str, name: str, generation: str = "5") -> StorageEvent:
    return StorageEvent(bucket, name, generation, True, "OBJECT_FINALIZE", "gcs-notification")


def test_matching_object_plans_a_run_on_its_generation() -> None:
    decision = plan(finalized("data-bucket", "incoming/2026/a.csv"), "m1", TRIGGER)
    assert decision == Planned(
        pipeline="training",
        parameters={"epochs": 2},
        data_uri="gs://data-bucket/incoming/2026/a.csv",
        data_version="gs://data-bucket/incoming/2026/a.csv#5",
        reason="gcs-notification:gs://data-bucket/incoming/2026/a.csv#5",
    )


def test_unrouted_object_is_ignored_with_reason() -> None:
    decision = plan(finalized("data-bucket", "other/a.csv"), "m1", TRIGGER)
    assert decision == Ignored("no route matches gs://data-bucket/other/a.csv")


def test_non_finalize_event_is_ignored() -> None:
    event = StorageEvent(
        "data-bucket", "incoming/a.csv", "5", False, "OBJECT_DELETE", "gcs-notification"
    )
    decision = plan(event, "m1", TRIGGER)
    assert isinstance(decision, Ignored) and "not a finalize event" in decision.reason


def test_marker_mode_runs_the_folder_once_on_the_marker() -> None:
    parts = [
        plan(finalized("marker-bucket", f"day=1/part-{i}.csv"), "m", TRIGGER) for i in range(500)
    ]
    assert all(isinstance(p, Ignored) and "_SUCCESS" in p.reason for p in parts)
    decision = plan(finalized("marker-bucket", "day=1/_SUCCESS", "99"), "m", TRIGGER)
    assert isinstance(decision, Planned)
    assert decision.data_uri == "gs://marker-bucket/day=1/"
    assert decision.data_version == "gs://marker-bucket/day=1/_SUCCESS#99"
    assert decision.parameters == {"epochs": 3}


def test_marker_at_bucket_root_runs_the_bucket() -> None:
    decision = plan(finalized("marker-bucket", "_SUCCESS"), "m", TRIGGER)
    assert isinstance(decision, Planned) and decision.data_uri == "gs://marker-bucket/"


def test_schedule_tick_is_versioned_by_its_message_id() -> None:
    decision = plan(ScheduleEvent("training", {"epochs": 4}), "tick-42", TRIGGER)
    assert isinstance(decision, Planned)
    assert decision.data_version == "schedule:tick-42"
    assert decision.parameters == {"epochs": 4}


def test_data_update_takes_route_parameters_under_its_own() -> None:
    event = DataUpdateEvent("gs://data-bucket/incoming/x.csv", "v1", None, {"seed": 3})
    decision = plan(event, "m", TRIGGER)
    assert isinstance(decision, Planned)
    assert decision.parameters == {"epochs": 2, "seed": 3}
    other = plan(DataUpdateEvent("/data/local", "v2"), "m", TRIGGER)
    assert isinstance(other, Planned) and other.pipeline == "training" and other.parameters == {}


def test_unhandled_cloud_event_type_is_ignored() -> None:
    assert isinstance(plan(None, "m", TRIGGER), Ignored)


def test_route_must_name_a_bucket() -> None:
    with pytest.raises(ValidationError, match="must start with gs://"):
        Route(match="data-bucket/*")
