"""The streaming-pull worker against Google's Pub/Sub emulator."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

from freshet.errors import BadInput, ConfigError
from freshet.runners.base import RunRequest, RunResult
from freshet.trigger.deadletter import REASON_ATTRIBUTE, DeadLetterPublisher
from freshet.trigger.handler import TemplateFn, TriggerHandler
from freshet.trigger.ledger import Ledger
from freshet.trigger.pull import PullWorker, check_dead_letter_policy
from tests.freshet.trigger.conftest import PubSubNames, make_settings
from tests.freshet.trigger.messages import MALFORMED, drain, gcs_notification, wait_until


@contextmanager
def running(worker: PullWorker) -> Iterator[PullWorker]:
    worker.start()
    try:
        yield worker
    finally:
        worker.stop()


def publish_notification(publisher: Any, topic: str, name: str, generation: int) -> str:
    data, attributes = gcs_notification("data-bucket", name, generation)
    return str(publisher.publish(topic, data, **attributes).result())


def test_duplicates_start_one_run_and_everything_is_acked(
    pubsub: PubSubNames, handler: TriggerHandler, ledger: Ledger
) -> None:
    topic = pubsub.topic("updates")
    sub, _ = pubsub.with_dead_letters("worker", topic, ack_deadline_seconds=10)
    for _ in range(5):
        publish_notification(pubsub.publisher, topic, "incoming/a.csv", 1)
    publish_notification(pubsub.publisher, topic, "incoming/b.csv", 1)
    publish_notification(pubsub.publisher, topic, "ignored/c.csv", 1)
    with running(PullWorker(handler, sub, pubsub.subscriber)):
        wait_until(lambda: len(ledger.calls()) == 6, what="6 submit calls")
    statuses = sorted(call[2] for call in ledger.calls())
    assert statuses == ["already_exists"] * 4 + ["submitted"] * 2
    assert drain(pubsub.subscriber, sub) == []


def test_a_nacked_message_is_redelivered_and_then_submitted(
    pubsub: PubSubNames, tmp_path: Path, build_dir: Path, templates: TemplateFn, ledger: Ledger
) -> None:
    attempts: list[str] = []

    def flaky(request: RunRequest) -> RunResult:
        attempts.append(request.source_message_id or "")
        if len(attempts) == 1:
            raise ConnectionError("Vertex AI is unavailable")
        return ledger.submit(request)

    handler = TriggerHandler(make_settings(tmp_path, build_dir), submit=flaky, templates=templates)
    topic = pubsub.topic("flaky")
    sub, dead = pubsub.with_dead_letters("flaky", topic, ack_deadline_seconds=10)
    message_id = publish_notification(pubsub.publisher, topic, "incoming/x.csv", 3)
    with running(PullWorker(handler, sub, pubsub.subscriber)):
        wait_until(lambda: len(ledger.runs()) == 1, what="the retried submission")
    assert attempts == [message_id, message_id]
    assert drain(pubsub.subscriber, sub) == []
    assert drain(pubsub.subscriber, dead, timeout=1) == []


def test_poison_reaches_the_dead_letter_topic_through_the_policy(
    pubsub: PubSubNames, handler: TriggerHandler, ledger: Ledger
) -> None:
    topic = pubsub.topic("poison")
    sub, dead = pubsub.with_dead_letters("poison", topic, ack_deadline_seconds=10)
    for data, attributes in MALFORMED:
        pubsub.publisher.publish(topic, data, **attributes).result()
    letters: list[Any] = []
    with running(PullWorker(handler, sub, pubsub.subscriber)):
        wait_until(
            lambda: (
                letters.extend(drain(pubsub.subscriber, dead, 1)) or len(letters) == len(MALFORMED)
            ),
            what="all poison on the dead-letter topic",
        )
    assert sorted(m.data for m in letters) == sorted(d for d, _ in MALFORMED)
    assert {m.attributes["CloudPubSubDeadLetterSourceDeliveryCount"] for m in letters} == {"5"}
    assert ledger.calls() == []
    assert drain(pubsub.subscriber, sub) == []


def test_publish_mode_forwards_poison_at_once_with_its_reason(
    pubsub: PubSubNames, handler: TriggerHandler
) -> None:
    topic = pubsub.topic("plain")
    sub = pubsub.subscription("plain", topic, ack_deadline_seconds=10)
    dead_topic = pubsub.topic("plain-dead")
    dead = pubsub.subscription("plain-dead", dead_topic)
    forwarder = DeadLetterPublisher(dead_topic, pubsub.publisher)
    message_id = pubsub.publisher.publish(topic, b"{oops", origin="test").result()
    letters: list[Any] = []
    with running(PullWorker(handler, sub, pubsub.subscriber, dead_letters=forwarder)):
        wait_until(lambda: letters.extend(drain(pubsub.subscriber, dead, 1)) or letters)
    [letter] = letters
    assert letter.data == b"{oops"
    assert letter.attributes["origin"] == "test"
    assert letter.attributes[REASON_ATTRIBUTE].startswith("The message data is not valid JSON")
    assert letter.attributes["freshet_source_message_id"] == message_id
    assert drain(pubsub.subscriber, sub) == []


def test_policy_mode_refuses_a_subscription_without_dead_letter_policy(
    pubsub: PubSubNames,
) -> None:
    topic = pubsub.topic("nopolicy")
    sub = pubsub.subscription("nopolicy", topic)
    with pytest.raises(ConfigError, match="has no dead-letter policy"):
        check_dead_letter_policy(pubsub.subscriber, sub)
    missing = sub.replace("nopolicy", "missing")
    with pytest.raises(BadInput, match="does not exist"):
        check_dead_letter_policy(pubsub.subscriber, missing)


def test_malformed_subscription_name_is_bad_input(handler: TriggerHandler) -> None:
    with pytest.raises(BadInput, match="Subscription 'my-sub' is not a full name"):
        PullWorker(handler, "my-sub", subscriber=object())
