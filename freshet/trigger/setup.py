"""`freshet trigger setup`: topic, subscription and dead-letter topic, idempotently.

Creates what is missing and brings an existing subscription's ack deadline, retry policy,
dead-letter policy and push config to what is asked; running it twice changes nothing.
The dead-letter topic gets its own subscription, because a topic without one drops messages.

On Google Cloud the Pub/Sub service agent also needs roles/pubsub.publisher on the
dead-letter topic and roles/pubsub.subscriber on the subscription (see the README).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from freshet.errors import BadInput, ConfigError
from freshet.trigger.pull import check_subscription_name

TOPIC_PATTERN = re.compile(r"projects/[a-z][-a-z0-9.:]{1,62}/topics/[A-Za-z][\w.~+%-]{2,254}")
RETRY_MIN_S = 10
RETRY_MAX_S = 600


@dataclass(frozen=True)
class SetupPlan:
    """What `setup` should make exist."""

    topic: str
    subscription: str
    dead_letter_topic: str
    max_delivery_attempts: int = 5
    ack_deadline_seconds: int = 600
    push_endpoint: str = ""
    push_service_account: str = ""
    push_audience: str = ""

    @property
    def dead_letter_subscription(self) -> str:
        """Where dead letters are kept: `<subscription>-dead`."""
        return f"{self.subscription}-dead"


def check_topic_name(name: str) -> str:
    """Returns `name` when it is `projects/P/topics/T`, else raises `BadInput`."""
    if not TOPIC_PATTERN.fullmatch(name):
        raise BadInput(f"Topic '{name}' is not a full name of the form projects/P/topics/T.")
    return name


def _push_config(plan: SetupPlan) -> dict[str, Any]:
    if not plan.push_endpoint:
        return {}
    config: dict[str, Any] = {"push_endpoint": plan.push_endpoint}
    if plan.push_service_account:
        config["oidc_token"] = {
            "service_account_email": plan.push_service_account,
            "audience": plan.push_audience or plan.push_endpoint,
        }
    return config


def _ensure_topic(publisher: Any, name: str) -> str:
    from google.api_core import exceptions

    try:
        publisher.create_topic(name=name)
        return f"created topic {name}"
    except exceptions.AlreadyExists:
        return f"topic {name} exists"


def _ensure_subscription(subscriber: Any, wanted: dict[str, Any], fields: list[str]) -> str:
    """Creates the subscription, or updates the `fields` of an existing one that differ."""
    from google.api_core import exceptions
    from google.cloud.pubsub_v1 import types

    name = wanted["name"]
    try:
        subscriber.create_subscription(request=wanted)
        return f"created subscription {name}"
    except exceptions.AlreadyExists:
        pass
    existing = subscriber.get_subscription(subscription=name)
    if existing.topic != wanted["topic"]:
        raise ConfigError(
            f"Subscription '{name}' exists but reads topic '{existing.topic}', "
            f"not '{wanted['topic']}'; delete it or choose another name."
        )
    target = types.Subscription(**wanted)
    changed = [f for f in fields if getattr(existing, f) != getattr(target, f)]
    if not changed:
        return f"subscription {name} is up to date"
    subscriber.update_subscription(
        request={"subscription": target, "update_mask": {"paths": changed}}
    )
    return f"updated subscription {name}: {', '.join(changed)}"


def setup_trigger(plan: SetupPlan, publisher: Any = None, subscriber: Any = None) -> list[str]:
    """Makes the topic, dead-letter topic and subscriptions exist as planned.

    Args:
        plan: Names and policies.
        publisher: A `pubsub_v1.PublisherClient` (created when None).
        subscriber: A `pubsub_v1.SubscriberClient` (created when None).

    Returns:
        One line per resource saying what was done.

    Raises:
        BadInput: A malformed name.
        ConfigError: The subscription exists on another topic.
    """
    check_topic_name(plan.topic)
    check_topic_name(plan.dead_letter_topic)
    check_subscription_name(plan.subscription)
    if plan.dead_letter_topic == plan.topic:
        raise BadInput(f"The dead-letter topic must differ from the topic '{plan.topic}'.")
    if not 5 <= plan.max_delivery_attempts <= 100:
        raise BadInput(
            f"max delivery attempts must be between 5 and 100, not {plan.max_delivery_attempts}."
        )
    if not 10 <= plan.ack_deadline_seconds <= 600:
        raise BadInput(
            f"The ack deadline must be 10 to 600 seconds, not {plan.ack_deadline_seconds}."
        )
    if publisher is None or subscriber is None:
        from google.cloud import pubsub_v1

        publisher = publisher or pubsub_v1.PublisherClient()
        subscriber = subscriber or pubsub_v1.SubscriberClient()
    done = [_ensure_topic(publisher, plan.topic), _ensure_topic(publisher, plan.dead_letter_topic)]
    done.append(
        _ensure_subscription(
            subscriber,
            {"name": plan.dead_letter_subscription, "topic": plan.dead_letter_topic},
            [],
        )
    )
    main = {
        "name": plan.subscription,
        "topic": plan.topic,
        "ack_deadline_seconds": plan.ack_deadline_seconds,
        "dead_letter_policy": {
            "dead_letter_topic": plan.dead_letter_topic,
            "max_delivery_attempts": plan.max_delivery_attempts,
        },
        "retry_policy": {
            "minimum_backoff": {"seconds": RETRY_MIN_S},
            "maximum_backoff": {"seconds": RETRY_MAX_S},
        },
        "push_config": _push_config(plan),
    }
    fields = ["ack_deadline_seconds", "dead_letter_policy", "retry_policy", "push_config"]
    done.append(_ensure_subscription(subscriber, main, fields))
    return done
