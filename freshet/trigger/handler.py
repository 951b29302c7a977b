"""One message in, one decision out: ack, nack, or dead-letter.

The handler parses the message, routes it, derives the run id from (pipeline, template
version, data version), submits through the injected `submit` (production: the one
`freshet.runners.submit`) and says what to do with the message:

* ack: the run was started, already existed, or the message was deliberately ignored;
* nack: a transient failure (Pub/Sub redelivers);
* dead_letter: the message can never succeed (unparseable, invalid, or refused as bad input).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from freshet.config import Settings
from freshet.data_updates import DataUpdateRecorder
from freshet.errors import BadInput
from freshet.run_id import derive_run_id
from freshet.runners.base import RunRequest, RunResult
from freshet.trigger.events import Event, PoisonMessage, parse_message
from freshet.trigger.routing import Ignored, plan

log = logging.getLogger(__name__)

SubmitFn = Callable[[RunRequest], RunResult]
_RECORDED_KEPT = 4096
TemplateFn = Callable[[str], tuple[Path, str]]


@dataclass(frozen=True)
class InboundMessage:
    """A Pub/Sub message as pull and push both see it."""

    message_id: str
    data: bytes
    attributes: Mapping[str, str] = field(default_factory=dict)
    delivery_attempt: int | None = None


@dataclass(frozen=True)
class Outcome:
    """What was decided for one message, and why."""

    action: Literal["ack", "nack", "dead_letter"]
    status: Literal["submitted", "already_exists", "ignored", "transient", "poison"]
    reason: str
    run_id: str | None = None


class CompiledTemplates:
    """Compiles each pipeline once per process; returns (path, template version)."""

    def __init__(self, settings: Settings) -> None:
        self._settings = settings
        self._cache: dict[str, tuple[Path, str]] = {}
        self._lock = threading.Lock()

    def __call__(self, pipeline: str) -> tuple[Path, str]:
        """The compiled template of `pipeline` and its version.

        Raises:
            BadInput: The pipeline is unknown.
        """
        with self._lock:
            if pipeline not in self._cache:
                from freshet.compile import (
                    compile_for_local,
                    compile_for_target,
                    compile_pipeline,
                    template_version,
                )

                # The template the configured runner can run (locally: never on Spot; on KFP:
                # the kfp target, Spot and GPU in their Kubernetes form).
                runner = self._settings.runner
                if runner == "kfp":
                    path = compile_for_target(pipeline, self._settings, "kfp")
                else:
                    local = runner == "local"
                    compile_for = compile_for_local if local else compile_pipeline
                    path = compile_for(pipeline, self._settings)
                self._cache[pipeline] = (path, template_version(path))
            return self._cache[pipeline]


class _KeyedLocks:
    """One lock per key, dropped when unused: duplicates inside one worker submit in turn."""

    def __init__(self) -> None:
        self._guard = threading.Lock()
        self._locks: dict[str, tuple[threading.Lock, int]] = {}

    @contextmanager
    def hold(self, key: str) -> Iterator[None]:
        with self._guard:
            lock, users = self._locks.get(key, (threading.Lock(), 0))
            self._locks[key] = (lock, users + 1)
        try:
            with lock:
                yield
        finally:
            with self._guard:
                lock, users = self._locks[key]
                if users == 1:
                    del self._locks[key]
                else:
                    self._locks[key] = (lock, users - 1)


class TriggerHandler:
    """Turns messages into at most one run per (pipeline, template version, data version)."""

    def __init__(
        self,
        settings: Settings,
        submit: SubmitFn | None = None,
        templates: TemplateFn | None = None,
    ) -> None:
        """Creates a handler.

        Args:
            settings: Routes (`settings.trigger`) and where runs go.
            submit: Starts a run; default `freshet.runners.submit` with `settings`.
            templates: Pipeline name -> (compiled path, template version); default compiles.
        """
        self.settings = settings
        self._submit = submit or _default_submit(settings)
        self._templates = templates or CompiledTemplates(settings)
        self._locks = _KeyedLocks()
        self._data_updates = DataUpdateRecorder(settings.root)
        # Versions this process has recorded: a repeat would be an `INSERT OR IGNORE` that
        # changes nothing but costs a commit (most messages are repeats).
        self._recorded: dict[tuple[str, str], None] = {}
        self._recorded_lock = threading.Lock()

    def handle(self, message: InboundMessage) -> Outcome:
        """Decides what to do with one Pub/Sub message (never raises)."""
        try:
            event = parse_message(message.attributes, message.data)
        except PoisonMessage as exc:
            return self.poison(message.message_id, str(exc))
        return self.handle_event(event, message.message_id)

    def handle_event(self, event: Event | None, message_id: str) -> Outcome:
        """Decides what to do with one parsed event (never raises)."""
        decision = plan(event, message_id, self.settings.trigger)
        if isinstance(decision, Ignored):
            log.info("Message %s ignored: %s.", message_id, decision.reason)
            return Outcome("ack", "ignored", decision.reason)
        try:
            template, version = self._templates(decision.pipeline)
        except BadInput as exc:
            return self.poison(message_id, str(exc))
        except Exception as exc:
            return self._transient(message_id, None, exc)
        run_id = derive_run_id(decision.pipeline, version, decision.data_version)
        self._record_update(decision.pipeline, decision.data_version)
        request = RunRequest(
            pipeline=decision.pipeline,
            template=template,
            parameters=decision.parameters,
            data_uri=decision.data_uri,
            data_version=decision.data_version,
            run_id=run_id,
            reason=decision.reason,
            source_message_id=message_id,
        )
        try:
            with self._locks.hold(run_id):
                result = self._submit(request)
        except BadInput as exc:
            return self.poison(message_id, str(exc), run_id)
        except Exception as exc:
            return self._transient(message_id, run_id, exc)
        if result.status == "already_exists":
            log.info("Message %s: run %s already exists.", message_id, run_id)
            return Outcome("ack", "already_exists", decision.reason, run_id)
        log.info("Message %s started run %s (%s).", message_id, run_id, decision.reason)
        return Outcome("ack", "submitted", decision.reason, run_id)

    def _record_update(self, pipeline: str, data_version: str) -> None:
        """Records the first sighting of a data version (the freshness SLA counts from it)."""
        key = (pipeline, data_version)
        if key in self._recorded:
            return
        try:
            self._data_updates.record(pipeline, data_version)
        except Exception as exc:  # history is best effort: never lose the message for it
            log.warning("Could not record data update %s: %s", data_version, exc)
            return
        with self._recorded_lock:
            self._recorded[key] = None
            if len(self._recorded) > _RECORDED_KEPT:
                del self._recorded[next(iter(self._recorded))]  # the oldest

    @staticmethod
    def poison(message_id: str, reason: str, run_id: str | None = None) -> Outcome:
        """The outcome for a message that can never succeed (logged with its reason)."""
        log.error("Message %s is poison and goes to the dead-letter topic: %s", message_id, reason)
        return Outcome("dead_letter", "poison", reason, run_id)

    @staticmethod
    def _transient(message_id: str, run_id: str | None, exc: Exception) -> Outcome:
        reason = f"{type(exc).__name__}: {exc}"
        log.warning("Message %s failed and will be redelivered: %s", message_id, reason)
        return Outcome("nack", "transient", reason, run_id)


def _default_submit(settings: Settings) -> SubmitFn:
    def submit(request: RunRequest) -> RunResult:
        from freshet.runners import submit as runners_submit

        return runners_submit(request, settings)

    return submit
