"""Event models: what arrives from Pub/Sub or Eventarc, parsed strictly.

Four shapes arrive:

* a Cloud Storage Pub/Sub notification (attributes `eventType`, `bucketId`, `objectId`,
  `objectGeneration`, `payloadFormat`; the JSON_API_V1 object resource in `data`),
* an Eventarc CloudEvent `google.cloud.storage.object.v1.*` (structured JSON, or the
  binary `ce-*` headers of an HTTP request),
* a scheduler message `{"pipeline": ..., "parameters": {...}}`,
* a plain data-update message `{"data_uri": ..., "data_version": ...}`.

Anything else raises `PoisonMessage` naming the problem: it can never succeed, so it belongs
on the dead-letter topic rather than in a retry loop.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StrictStr, ValidationError

STORAGE_EVENT_PREFIX = "google.cloud.storage.object.v1."
FINALIZED_CLOUDEVENT = STORAGE_EVENT_PREFIX + "finalized"
GCS_FINALIZE = "OBJECT_FINALIZE"


class PoisonMessage(Exception):
    """A message that cannot be parsed or validated; `str()` says why."""


class StorageObject(BaseModel):
    """The fields of a Cloud Storage JSON API object resource that a run needs."""

    model_config = ConfigDict(extra="ignore", strict=True)

    bucket: StrictStr = Field(min_length=1)
    name: StrictStr = Field(min_length=1)
    generation: StrictStr = Field(pattern=r"^[0-9]+$")


class GcsNotificationAttributes(BaseModel):
    """Attributes of a Cloud Storage Pub/Sub notification."""

    model_config = ConfigDict(extra="ignore", strict=True, populate_by_name=True)

    event_type: StrictStr = Field(alias="eventType", min_length=1)
    bucket: StrictStr = Field(alias="bucketId", min_length=1)
    name: StrictStr = Field(alias="objectId", min_length=1)
    generation: StrictStr = Field(alias="objectGeneration", pattern=r"^[0-9]+$")
    payload_format: Literal["JSON_API_V1", "NONE"] = Field(alias="payloadFormat")


class CloudEventEnvelope(BaseModel):
    """A structured-mode CloudEvent (specversion 1.0)."""

    model_config = ConfigDict(extra="ignore", strict=True)

    specversion: Literal["1.0"]
    id: StrictStr = Field(min_length=1)
    source: StrictStr = Field(min_length=1)
    type: StrictStr = Field(min_length=1)
    data: dict[str, Any] | None = None


class ScheduleMessage(BaseModel):
    """What a Cloud Scheduler job publishes: run this pipeline (now)."""

    model_config = ConfigDict(extra="forbid", strict=True)

    pipeline: StrictStr = Field(min_length=1)
    parameters: dict[str, Any] = Field(default_factory=dict)
    data_uri: StrictStr | None = None


class DataUpdateMessage(BaseModel):
    """A plain message saying: this data, at this version, is new."""

    model_config = ConfigDict(extra="forbid", strict=True)

    data_uri: StrictStr = Field(min_length=1)
    data_version: StrictStr = Field(min_length=1)
    pipeline: StrictStr | None = None
    parameters: dict[str, Any] = Field(default_factory=dict)


@dataclass(frozen=True)
class StorageEvent:
    """Something happened to one Cloud Storage object (from a notification or a CloudEvent)."""

    bucket: str
    name: str
    generation: str
    finalized: bool
    event_type: str
    source: Literal["gcs-notification", "cloudevent"]

    @property
    def uri(self) -> str:
        """`gs://bucket/object`."""
        return f"gs://{self.bucket}/{self.name}"


@dataclass(frozen=True)
class ScheduleEvent:
    """A scheduled run request."""

    pipeline: str
    parameters: dict[str, Any] = field(default_factory=dict)
    data_uri: str | None = None


@dataclass(frozen=True)
class DataUpdateEvent:
    """A data-update message."""

    data_uri: str
    data_version: str
    pipeline: str | None = None
    parameters: dict[str, Any] = field(default_factory=dict)


Event = StorageEvent | ScheduleEvent | DataUpdateEvent


def _problems(exc: ValidationError) -> str:
    return "; ".join(
        f"{'.'.join(str(p) for p in err['loc']) or 'message'}: {err['msg']}" for err in exc.errors()
    )


def _json_object(data: bytes, what: str) -> dict[str, Any]:
    try:
        value = json.loads(data.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError):
        raise PoisonMessage(f"The {what} is not valid JSON: {data[:80]!r}.") from None
    if not isinstance(value, dict):
        raise PoisonMessage(f"The {what} is JSON but not an object: {data[:80]!r}.")
    return value


def parse_storage_notification(attributes: Mapping[str, str], data: bytes) -> StorageEvent:
    """Parses a Cloud Storage Pub/Sub notification.

    Raises:
        PoisonMessage: Missing or malformed attributes, or a resource that disagrees with them.
    """
    try:
        attrs = GcsNotificationAttributes.model_validate(dict(attributes))
    except ValidationError as exc:
        raise PoisonMessage(f"Malformed Cloud Storage notification: {_problems(exc)}.") from None
    if attrs.payload_format == "JSON_API_V1" and attrs.event_type == GCS_FINALIZE:
        try:
            resource = StorageObject.model_validate(_json_object(data, "notification payload"))
        except ValidationError as exc:
            raise PoisonMessage(
                f"Malformed object resource in a Cloud Storage notification: {_problems(exc)}."
            ) from None
        seen = (resource.bucket, resource.name, resource.generation)
        if seen != (attrs.bucket, attrs.name, attrs.generation):
            raise PoisonMessage(
                f"The notification's attributes name gs://{attrs.bucket}/{attrs.name}"
                f"#{attrs.generation} but its payload names gs://{seen[0]}/{seen[1]}#{seen[2]}."
            )
    return StorageEvent(
        bucket=attrs.bucket,
        name=attrs.name,
        generation=attrs.generation,
        finalized=attrs.event_type == GCS_FINALIZE,
        event_type=attrs.event_type,
        source="gcs-notification",
    )


def parse_cloud_event(event: Mapping[str, Any]) -> tuple[str, StorageEvent | None]:
    """Parses a structured CloudEvent; returns its id and, for storage events, the event.

    Returns:
        (id, event); event is None for a type other than `google.cloud.storage.object.v1.*`.

    Raises:
        PoisonMessage: Not a CloudEvent, or a storage event without bucket/name/generation.
    """
    try:
        envelope = CloudEventEnvelope.model_validate(dict(event))
    except ValidationError as exc:
        raise PoisonMessage(f"Malformed CloudEvent: {_problems(exc)}.") from None
    if not envelope.type.startswith(STORAGE_EVENT_PREFIX):
        return envelope.id, None
    try:
        resource = StorageObject.model_validate(envelope.data or {})
    except ValidationError as exc:
        raise PoisonMessage(
            f"Malformed object in CloudEvent {envelope.id}: {_problems(exc)}."
        ) from None
    return envelope.id, StorageEvent(
        bucket=resource.bucket,
        name=resource.name,
        generation=resource.generation,
        finalized=envelope.type == FINALIZED_CLOUDEVENT,
        event_type=envelope.type,
        source="cloudevent",
    )


def cloud_event_from_http(headers: Mapping[str, str], body: bytes) -> dict[str, Any] | None:
    """The structured form of a CloudEvent delivered over HTTP, or None if it is not one.

    Binary mode carries the attributes in `ce-*` headers and the data in the body; structured
    mode sends `application/cloudevents+json`.
    """
    lowered = {k.lower(): v for k, v in headers.items()}
    if lowered.get("content-type", "").startswith("application/cloudevents+json"):
        return _json_object(body, "CloudEvent")
    if "ce-type" not in lowered:
        return None
    event: dict[str, Any] = {k[3:]: v for k, v in lowered.items() if k.startswith("ce-")}
    event["data"] = _json_object(body, "CloudEvent data") if body else None
    return event


def parse_message(attributes: Mapping[str, str], data: bytes) -> Event | None:
    """Parses one Pub/Sub message into an event.

    Returns:
        The event, or None for a CloudEvent of a type this project does not handle.

    Raises:
        PoisonMessage: The message matches none of the known shapes, naming the problem.
    """
    if "eventType" in attributes or "bucketId" in attributes:
        return parse_storage_notification(attributes, data)
    payload = _json_object(data, "message data")
    if "specversion" in payload:
        return parse_cloud_event(payload)[1]
    try:
        if "data_version" in payload or ("data_uri" in payload and "pipeline" not in payload):
            update = DataUpdateMessage.model_validate(payload)
            return DataUpdateEvent(
                update.data_uri, update.data_version, update.pipeline, update.parameters
            )
        if "pipeline" in payload:
            schedule = ScheduleMessage.model_validate(payload)
            return ScheduleEvent(schedule.pipeline, schedule.parameters, schedule.data_uri)
    except ValidationError as exc:
        raise PoisonMessage(f"Malformed message: {_problems(exc)}.") from None
    raise PoisonMessage(
        "The message is neither a Cloud Storage notification, a CloudEvent, a scheduler "
        f"message nor a data-update message: keys {sorted(payload)}."
    )
