"""Routing: which event starts which pipeline, on which data, at which data version."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from freshet.trigger.events import DataUpdateEvent, Event, ScheduleEvent, StorageEvent
from freshet.trigger.settings import Route, TriggerSettings


@dataclass(frozen=True)
class Planned:
    """An event that should start a run: the normalized run request, minus the run id."""

    pipeline: str
    parameters: dict[str, Any]
    data_uri: str | None
    data_version: str
    reason: str


@dataclass(frozen=True)
class Ignored:
    """An event deliberately not acted on, and why."""

    reason: str


def find_route(uri: str, routes: list[Route]) -> Route | None:
    """The first route whose glob matches `uri`, if any."""
    return next((route for route in routes if route.matches(uri)), None)


def _plan_storage(event: StorageEvent, trigger: TriggerSettings) -> Planned | Ignored:
    versioned = f"{event.uri}#{event.generation}"
    if not event.finalized:
        return Ignored(f"{event.event_type} of {versioned} is not a finalize event")
    route = find_route(event.uri, trigger.routes)
    if route is None:
        return Ignored(f"no route matches {event.uri}")
    data_uri = event.uri
    if route.marker is not None:
        folder, _, base = event.name.rpartition("/")
        if base != route.marker:
            return Ignored(f"{event.uri} is not the marker '{route.marker}' its route waits for")
        data_uri = f"gs://{event.bucket}/{folder + '/' if folder else ''}"
    return Planned(
        pipeline=route.pipeline,
        parameters=dict(route.parameters),
        data_uri=data_uri,
        data_version=versioned,
        reason=f"{event.source}:{versioned}",
    )


def _plan_update(event: DataUpdateEvent, trigger: TriggerSettings) -> Planned:
    route = None if event.pipeline else find_route(event.data_uri, trigger.routes)
    pipeline = event.pipeline or (route.pipeline if route else trigger.default_pipeline)
    parameters = {**(route.parameters if route else {}), **event.parameters}
    return Planned(
        pipeline=pipeline,
        parameters=parameters,
        data_uri=event.data_uri,
        data_version=event.data_version,
        reason=f"data-update:{event.data_version}",
    )


def plan(event: Event | None, message_id: str, trigger: TriggerSettings) -> Planned | Ignored:
    """Turns an event into a planned run, or says why it is ignored.

    Args:
        event: The parsed event; None for a CloudEvent type this project does not handle.
        message_id: The Pub/Sub message (or CloudEvent) id: a scheduler tick's data version,
            so that a redelivered tick starts no second run.
        trigger: Routes and defaults.

    Returns:
        What to run, or why nothing runs.
    """
    if event is None:
        return Ignored("the CloudEvent is not a google.cloud.storage.object.v1 event")
    if isinstance(event, StorageEvent):
        return _plan_storage(event, trigger)
    if isinstance(event, DataUpdateEvent):
        return _plan_update(event, trigger)
    assert isinstance(event, ScheduleEvent)
    return Planned(
        pipeline=event.pipeline,
        parameters=dict(event.parameters),
        data_uri=event.data_uri,
        data_version=f"schedule:{message_id}",
        reason=f"schedule:{message_id}",
    )
