from __future__ import annotations

import json

import pytest

from freshet.trigger.events import (
    DataUpdateEvent,
    PoisonMessage,
    ScheduleEvent,
    StorageEvent,
    cloud_event_from_http,
    parse_cloud_event,
    parse_message,
)
from tests.freshet.trigger.messages import (
    MALFORMED,
    cloud_event,
    data_update,
    gcs_notification,
    schedule,
)


def test_storage_notification_becomes_a_storage_event() -> None:
    data, attributes = gcs_notification("data-bucket", "incoming/a.csv", 17)
    event = parse_message(attributes, data)
    assert event == StorageEvent(
        "data-bucket", "incoming/a.csv", "17", True, "OBJECT_FINALIZE", "gcs-notification"
    )
    assert isinstance(event, StorageEvent)
    assert event.uri == "gs://data-bucket/incoming/a.csv"


def test_notification_without_payload_uses_the_attributes() -> None:
    data, attributes = gcs_notification("b", "x.csv", 3, payload_format="NONE")
    event = parse_message(attributes, data)
    assert isinstance(event, StorageEvent) and event.generation == "3"


def test_delete_notification_is_not_a_finalize() -> None:
    data, attributes = gcs_notification("b", "x.csv", 3, event_type="OBJECT_DELETE")
    event = parse_message(attributes, data)
    assert isinstance(event, StorageEvent) and not event.finalized


def test_payload_that_disagrees_with_attributes_is_poison() -> None:
    data, attributes = gcs_notification("b", "x.csv", 3)
    attributes["objectGeneration"] = "4"
    with pytest.raises(PoisonMessage, match=r"gs://b/x.csv#4 but its payload names gs://b/x.csv#3"):
        parse_message(attributes, data)


def test_cloud_event_in_a_message() -> None:
    data = json.dumps(cloud_event("b", "in/x.csv", 9)).encode()
    event = parse_message({}, data)
    assert isinstance(event, StorageEvent)
    assert (event.source, event.generation, event.finalized) == ("cloudevent", "9", True)


def test_cloud_event_of_another_type_parses_to_none() -> None:
    event = cloud_event("b", "x", 1)
    event["type"] = "google.cloud.pubsub.topic.v1.messagePublished"
    assert parse_cloud_event(event) == ("ce-1", None)


def test_binary_cloud_event_from_http_headers() -> None:
    event = cloud_event("b", "in/x.csv", 9)
    headers = {f"Ce-{k}": v for k, v in event.items() if k != "data"}
    headers["Content-Type"] = "application/json"
    structured = cloud_event_from_http(headers, json.dumps(event["data"]).encode())
    assert structured is not None
    assert parse_cloud_event(structured)[1] == StorageEvent(
        "b", "in/x.csv", "9", True, "google.cloud.storage.object.v1.finalized", "cloudevent"
    )


def test_plain_http_body_is_not_a_cloud_event() -> None:
    assert cloud_event_from_http({"content-type": "application/json"}, b"{}") is None


def test_data_update_and_schedule_messages() -> None:
    update = parse_message({}, data_update("gs://b/d/", "v7", parameters={"epochs": 2}))
    assert update == DataUpdateEvent("gs://b/d/", "v7", None, {"epochs": 2})
    tick = parse_message({}, schedule("training", epochs=3))
    assert tick == ScheduleEvent("training", {"epochs": 3}, None)


@pytest.mark.parametrize(("data", "attributes"), MALFORMED)
def test_malformed_messages_are_poison(data: bytes, attributes: dict[str, str]) -> None:
    with pytest.raises(PoisonMessage) as caught:
        parse_message(attributes, data)
    assert str(caught.value).endswith(".")


def test_strict_types_refuse_a_numeric_version() -> None:
    with pytest.raises(PoisonMessage, match="data_version"):
        parse_message({}, json.dumps({"data_uri": "gs://b/x", "data_version": 3}).encode())


def test_unknown_keys_in_a_schedule_are_poison() -> None:
    with pytest.raises(PoisonMessage, match="Extra inputs"):
        parse_message({}, json.dumps({"pipeline": "training", "epochs": 3}).encode())
