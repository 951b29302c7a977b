"""The push endpoint: Pub/Sub push envelopes and Eventarc CloudEvents over HTTP.

It answers 2xx only once the run was started, already existed, or the message was
deliberately ignored (or, in "publish" dead-letter mode, forwarded); 503 on a transient
failure so that Pub/Sub retries; 422 for a poison message so that the subscription's
dead-letter policy counts the attempt and forwards it; 401/403 when the OIDC check fails.
"""

from __future__ import annotations

import base64
import binascii
import logging
from collections.abc import Mapping
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field, ValidationError
from starlette.concurrency import run_in_threadpool

from freshet.trigger.deadletter import DeadLetterPublisher
from freshet.trigger.events import PoisonMessage, cloud_event_from_http, parse_cloud_event
from freshet.trigger.handler import InboundMessage, Outcome, TriggerHandler
from freshet.trigger.oidc import AuthFailure, CertCache, PushVerifier

log = logging.getLogger(__name__)

_HTTP = {"ack": 200, "nack": 503, "dead_letter": 422}


class PushMessage(BaseModel):
    """The `message` of a push envelope."""

    model_config = ConfigDict(extra="ignore", populate_by_name=True)

    data: str = ""
    attributes: dict[str, str] = Field(default_factory=dict)
    message_id: str = Field(alias="messageId", min_length=1)


class PushEnvelope(BaseModel):
    """What Pub/Sub POSTs to a push endpoint."""

    model_config = ConfigDict(extra="ignore", populate_by_name=True)

    message: PushMessage
    subscription: str = ""
    delivery_attempt: int | None = Field(default=None, alias="deliveryAttempt")


class PushService:
    """Framework-neutral core of the endpoint: (headers, body) -> (HTTP status, JSON body)."""

    def __init__(
        self,
        handler: TriggerHandler,
        verifier: PushVerifier | None = None,
        dead_letters: DeadLetterPublisher | None = None,
    ) -> None:
        """Creates the service.

        Args:
            handler: Decides per message.
            verifier: Checks the OIDC token; None accepts every request.
            dead_letters: Forwarder for "publish" mode; None leaves poison to the policy.
        """
        self.handler = handler
        self.verifier = verifier
        self.dead_letters = dead_letters

    @classmethod
    def from_handler(cls, handler: TriggerHandler) -> PushService:
        """Builds verifier and dead-letter forwarder from `handler.settings.trigger`."""
        trigger = handler.settings.trigger
        verifier = None
        if trigger.audience:
            verifier = PushVerifier(
                trigger.audience, trigger.allowed_emails, CertCache(trigger.certs_url)
            )
        dead_letters = None
        if trigger.dead_letter == "publish":
            dead_letters = DeadLetterPublisher(trigger.resolved_dead_letter_topic())
        return cls(handler, verifier, dead_letters)

    def handle(self, headers: Mapping[str, str], body: bytes) -> tuple[int, dict[str, Any]]:
        """Handles one HTTP request (never raises)."""
        if self.verifier is not None:
            try:
                self.verifier.verify(_header(headers, "authorization"))
            except AuthFailure as exc:
                log.warning("Push request refused (%s): %s", exc.status, exc.reason)
                return exc.status, {"error": exc.reason}
        try:
            cloud_event = cloud_event_from_http(headers, body)
            if cloud_event is not None:
                event_id = str(cloud_event.get("id", ""))
                message = InboundMessage(event_id, body)
                event_id, event = parse_cloud_event(cloud_event)
                return self._answer(message, self.handler.handle_event(event, event_id), "")
            envelope = PushEnvelope.model_validate_json(body)
        except PoisonMessage as exc:
            return self._answer(InboundMessage("", body), self.handler.poison("", str(exc)), "")
        except ValidationError as exc:
            reason = f"The request is not a Pub/Sub push envelope: {exc.errors()[0]['msg']}."
            log.error("%s", reason)
            return 400, {"status": "poison", "reason": reason}
        message_id = envelope.message.message_id
        try:
            data = base64.b64decode(envelope.message.data, validate=True)
        except binascii.Error:
            message = InboundMessage(message_id, envelope.message.data.encode())
            outcome = self.handler.poison(message_id, "The push message's data is not base64.")
            return self._answer(message, outcome, envelope.subscription)
        message = InboundMessage(
            message_id, data, envelope.message.attributes, envelope.delivery_attempt
        )
        return self._answer(message, self.handler.handle(message), envelope.subscription)

    def _answer(
        self, message: InboundMessage, outcome: Outcome, subscription: str
    ) -> tuple[int, dict[str, Any]]:
        body: dict[str, Any] = {"status": outcome.status, "reason": outcome.reason}
        if outcome.run_id:
            body["run_id"] = outcome.run_id
        if outcome.action == "dead_letter" and self.dead_letters is not None:
            try:
                self.dead_letters.forward(message, outcome.reason, subscription)
            except Exception as exc:
                log.warning("Dead-lettering %s failed: %s", message.message_id, exc)
                return 503, {**body, "error": f"dead-lettering failed: {exc}"}
            return 200, {**body, "dead_lettered": self.dead_letters.topic}
        return _HTTP[outcome.action], body


def _header(headers: Mapping[str, str], name: str) -> str | None:
    return next((v for k, v in headers.items() if k.lower() == name), None)


def create_app(service: PushService) -> FastAPI:
    """The FastAPI app: POST / (push envelopes and CloudEvents), GET /healthz."""
    app = FastAPI(title="freshet trigger", docs_url=None, redoc_url=None)

    @app.get("/healthz")
    def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @app.post("/")
    async def receive(request: Request) -> JSONResponse:
        body = await request.body()
        status, payload = await run_in_threadpool(service.handle, dict(request.headers), body)
        return JSONResponse(payload, status_code=status)

    return app
