"""Explicit dead-lettering, for `trigger.dead_letter = "publish"`.

The default ("policy") leaves poison messages to the subscription's dead-letter policy: the
worker nacks them and Pub/Sub forwards them after `max_delivery_attempts`. In "publish" mode
the worker publishes the message itself, at once, with the reason as an attribute, then acks.
"""

from __future__ import annotations

import logging
from typing import Any

from freshet.trigger.handler import InboundMessage

log = logging.getLogger(__name__)

REASON_ATTRIBUTE = "freshet_reason"
SOURCE_ID_ATTRIBUTE = "freshet_source_message_id"
SOURCE_SUBSCRIPTION_ATTRIBUTE = "freshet_source_subscription"
_MAX_ATTRIBUTE_BYTES = 1024


def _clip(text: str) -> str:
    return text.encode()[:_MAX_ATTRIBUTE_BYTES].decode(errors="ignore")


class DeadLetterPublisher:
    """Publishes poison messages to a dead-letter topic with the reason attached."""

    def __init__(self, topic: str, publisher: Any | None = None) -> None:
        """Creates a forwarder.

        Args:
            topic: `projects/P/topics/T`.
            publisher: A `pubsub_v1.PublisherClient` (created when None).
        """
        if publisher is None:
            from google.cloud import pubsub_v1

            publisher = pubsub_v1.PublisherClient()
        self.topic = topic
        self._publisher = publisher

    def forward(
        self, message: InboundMessage, reason: str, subscription: str, timeout: float = 30.0
    ) -> None:
        """Publishes the message unchanged plus reason attributes; waits for the server.

        Raises:
            Exception: Whatever the publish raised; the caller then nacks.
        """
        attributes = {
            **message.attributes,
            REASON_ATTRIBUTE: _clip(reason),
            SOURCE_ID_ATTRIBUTE: message.message_id,
            SOURCE_SUBSCRIPTION_ATTRIBUTE: subscription,
        }
        self._publisher.publish(self.topic, message.data, **attributes).result(timeout=timeout)
        log.info("Message %s forwarded to %s: %s", message.message_id, self.topic, reason)
