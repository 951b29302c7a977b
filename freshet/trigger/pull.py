"""The streaming-pull worker: controls its own intake, acks only after the submission.

Flow control bounds the messages in flight (`trigger.max_messages`), which is also the number
of worker threads. On SIGTERM or SIGINT the worker stops pulling, lets the callbacks in flight
finish (each acks or nacks), nacks what was received but not started, and returns 0.
"""

from __future__ import annotations

import logging
import re
import signal
import threading
from types import FrameType
from typing import Any

from freshet.errors import BadInput, ConfigError
from freshet.trigger.deadletter import DeadLetterPublisher
from freshet.trigger.handler import InboundMessage, TriggerHandler

log = logging.getLogger(__name__)

SUBSCRIPTION_PATTERN = re.compile(
    r"projects/[a-z][-a-z0-9.:]{1,62}/subscriptions/[A-Za-z][\w.~+%-]{2,254}"
)


def check_subscription_name(name: str) -> str:
    """Returns `name` when it is `projects/P/subscriptions/S`, else raises `BadInput`."""
    if not SUBSCRIPTION_PATTERN.fullmatch(name):
        raise BadInput(
            f"Subscription '{name}' is not a full name of the form projects/P/subscriptions/S."
        )
    return name


def check_dead_letter_policy(subscriber: Any, subscription: str) -> None:
    """Makes sure poison messages can reach a dead-letter topic through the policy.

    Raises:
        BadInput: The subscription does not exist.
        ConfigError: It has no dead-letter policy.
    """
    from google.api_core import exceptions

    try:
        found = subscriber.get_subscription(subscription=subscription)
    except exceptions.NotFound:
        raise BadInput(f"Subscription '{subscription}' does not exist.") from None
    except exceptions.PermissionDenied:
        log.warning("Cannot read %s; assuming it has a dead-letter policy.", subscription)
        return
    if not found.dead_letter_policy.dead_letter_topic:
        raise ConfigError(
            f"Subscription '{subscription}' has no dead-letter policy, so a poison message "
            "would be retried forever: run `freshet trigger setup`, or set "
            "trigger.dead_letter = 'publish'."
        )


class PullWorker:
    """Pulls one subscription and hands each message to the handler."""

    def __init__(
        self,
        handler: TriggerHandler,
        subscription: str,
        subscriber: Any | None = None,
        dead_letters: DeadLetterPublisher | None = None,
        max_messages: int | None = None,
    ) -> None:
        """Creates a worker (nothing is pulled before `start`).

        Args:
            handler: Decides per message.
            subscription: `projects/P/subscriptions/S`.
            subscriber: A `pubsub_v1.SubscriberClient` (created when None).
            dead_letters: Forwarder for "publish" mode; None nacks poison for the policy.
            max_messages: Messages in flight at once (default `trigger.max_messages`).
        """
        if subscriber is None:
            from google.cloud import pubsub_v1

            subscriber = pubsub_v1.SubscriberClient()
        self.handler = handler
        self.subscription = check_subscription_name(subscription)
        self.subscriber = subscriber
        self.dead_letters = dead_letters
        self.max_messages = max_messages or handler.settings.trigger.max_messages
        self._future: Any = None

    def start(self) -> None:
        """Opens the streaming pull; callbacks run on `max_messages` threads."""
        from concurrent.futures import ThreadPoolExecutor

        from google.cloud.pubsub_v1 import types
        from google.cloud.pubsub_v1.subscriber.scheduler import ThreadScheduler

        executor = ThreadPoolExecutor(self.max_messages, thread_name_prefix="freshet-pull")
        self._future = self.subscriber.subscribe(
            self.subscription,
            callback=self._on_message,
            flow_control=types.FlowControl(max_messages=self.max_messages),
            scheduler=ThreadScheduler(executor),
            await_callbacks_on_shutdown=True,
        )
        log.info("Pulling %s, %d in flight at most.", self.subscription, self.max_messages)

    def stop(self, timeout: float | None = 60.0) -> None:
        """Stops pulling; waits for the callbacks in flight (they ack or nack)."""
        if self._future is None:
            return
        self._future.cancel()
        try:
            self._future.result(timeout=timeout)
        except Exception as exc:  # the future re-raises what ended the stream
            from concurrent.futures import CancelledError

            if not isinstance(exc, CancelledError):
                log.warning("The stream ended with: %s", exc)
        self._future = None
        log.info("Stopped pulling %s.", self.subscription)

    def run_until(self, stop: threading.Event) -> None:
        """Pulls until `stop` is set or the stream fails, then drains.

        Raises:
            BadInput: The stream failed because the subscription does not exist.
        """
        self.start()
        future = self._future
        while not stop.wait(0.2):
            if future.done():
                break
        failure = future.exception() if future.done() else None
        self.stop()
        if failure is not None:
            from google.api_core import exceptions

            if isinstance(failure, exceptions.NotFound):
                raise BadInput(f"Subscription '{self.subscription}' does not exist.")
            raise failure

    def _on_message(self, message: Any) -> None:
        inbound = InboundMessage(
            message_id=message.message_id,
            data=message.data,
            attributes=dict(message.attributes),
            delivery_attempt=message.delivery_attempt,
        )
        outcome = self.handler.handle(inbound)
        if outcome.action == "ack":
            message.ack()
        elif outcome.action == "nack" or self.dead_letters is None:
            message.nack()
        else:
            try:
                self.dead_letters.forward(inbound, outcome.reason, self.subscription)
            except Exception as exc:
                log.warning("Dead-lettering %s failed: %s", inbound.message_id, exc)
                message.nack()
            else:
                message.ack()


def run_until_signal(worker: PullWorker) -> None:
    """Runs the worker until SIGTERM or SIGINT, then drains it."""
    stop = threading.Event()

    def on_signal(signum: int, frame: FrameType | None) -> None:
        log.info("Received %s: draining.", signal.Signals(signum).name)
        stop.set()

    previous = {sig: signal.signal(sig, on_signal) for sig in (signal.SIGTERM, signal.SIGINT)}
    try:
        worker.run_until(stop)
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
