"""Builders of the messages Cloud Storage, Eventarc and Cloud Scheduler send."""

from __future__ import annotations

import json
from typing import Any


def gcs_notification(
    bucket: str,
    name: str,
    generation: int | str,
    event_type: str = "OBJECT_FINALIZE",
    payload_format: str = "JSON_API_V1",
) -> tuple[bytes, dict[str, str]]:
    """(data, attributes) of a Cloud Storage Pub/Sub notification."""
    resource = {
        "kind": "storage#object",
        "id": f"{bucket}/{name}/{generation}",
        "bucket": bucket,
        "name": name,
        "generation": str(generation),
        "metageneration": "1",
        "contentType": "text/csv",
        "size": "1024",
        "md5Hash": "1B2M2Y8AsgTpgAmY7PhCfg==",
    }
    attributes = {
        "notificationConfig": f"projects/_/buckets/{bucket}/notificationConfigs/1",
        "eventType": event_type,
        "payloadFormat": payload_format,
        "bucketId": bucket,
        "objectId": name,
        "objectGeneration": str(generation),
        "eventTime": "2026-11-22T10:00:00.000000Z",
    }
    data = json.dumps(resource).encode() if payload_format == "JSON_API_V1" else b""
    return data, attributes


def cloud_event(
    bucket: str, name: str, generation: int | str, kind: str = "finalized", event_id: str = "ce-1"
) -> dict[str, Any]:
    """A structured Eventarc CloudEvent for a Cloud Storage object."""
    return {
        "specversion": "1.0",
        "id": event_id,
        "source": f"//storage.googleapis.com/projects/_/buckets/{bucket}",
        "type": f"google.cloud.storage.object.v1.{kind}",
        "subject": f"objects/{name}",
        "time": "2026-11-22T10:00:00Z",
        "datacontenttype": "application/json",
        "data": {"bucket": bucket, "name": name, "generation": str(generation)},
    }


def data_update(data_uri: str, data_version: str, **extra: Any) -> bytes:
    return json.dumps({"data_uri": data_uri, "data_version": data_version, **extra}).encode()


def schedule(pipeline: str = "training", **parameters: Any) -> bytes:
    return json.dumps({"pipeline": pipeline, "parameters": parameters}).encode()


MALFORMED: list[tuple[bytes, dict[str, str]]] = [
    (b"not json at all", {}),
    (b"[1, 2, 3]", {}),
    (b'{"hello": "world"}', {}),
    (json.dumps({"data_uri": "gs://b/x.csv"}).encode(), {}),
    (json.dumps({"pipeline": "training", "parameters": [1]}).encode(), {}),
    (b"{}", {"eventType": "OBJECT_FINALIZE", "bucketId": "data-bucket"}),
    (
        b"",
        {
            "eventType": "OBJECT_FINALIZE",
            "bucketId": "data-bucket",
            "objectId": "incoming/a.csv",
            "objectGeneration": "not-a-number",
            "payloadFormat": "NONE",
        },
    ),
]


def wait_until(predicate: Any, timeout: float = 30.0, what: str = "condition") -> None:
    """Polls `predicate` until it is true; fails the test after `timeout` seconds."""
    import time

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.05)
    raise AssertionError(f"timed out after {timeout} s waiting for {what}")


def drain(subscriber: Any, subscription: str, timeout: float = 3.0) -> list[Any]:
    """Pulls and acks everything currently on a subscription (until it answers empty)."""
    received: list[Any] = []
    while True:
        response = subscriber.pull(
            request={"subscription": subscription, "max_messages": 100}, timeout=timeout
        )
        if not response.received_messages:
            return received
        received.extend(m.message for m in response.received_messages)
        subscriber.acknowledge(
            request={
                "subscription": subscription,
                "ack_ids": [m.ack_id for m in response.received_messages],
            }
        )
