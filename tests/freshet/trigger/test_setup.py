"""`freshet trigger setup` against the emulator, and the trigger commands' bad-input answers."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from freshet.cli import app
from freshet.errors import ConfigError
from freshet.trigger.setup import SetupPlan, setup_trigger
from tests.freshet.trigger.conftest import PROJECT, PubSubNames

runner = CliRunner()


def names(pubsub: PubSubNames) -> tuple[str, str]:
    return (
        f"projects/{PROJECT}/topics/data-{pubsub.tag}",
        f"projects/{PROJECT}/subscriptions/freshet-{pubsub.tag}",
    )


def test_setup_creates_everything_then_changes_nothing(pubsub: PubSubNames) -> None:
    topic, subscription = names(pubsub)
    args = ["trigger", "setup", "--topic", topic, "--subscription", subscription]
    first = runner.invoke(app, args)
    assert first.exit_code == 0, first.output
    assert first.output.splitlines() == [
        f"created topic {topic}",
        f"created topic {topic}-dead",
        f"created subscription {subscription}-dead",
        f"created subscription {subscription}",
    ]
    found = pubsub.subscriber.get_subscription(subscription=subscription)
    assert found.dead_letter_policy.dead_letter_topic == f"{topic}-dead"
    assert found.dead_letter_policy.max_delivery_attempts == 5
    assert found.ack_deadline_seconds == 600
    second = runner.invoke(app, args)
    assert second.exit_code == 0
    assert second.output.splitlines()[-1] == f"subscription {subscription} is up to date"
    assert "created" not in second.output


def test_setup_updates_a_drifted_subscription_and_adds_push(pubsub: PubSubNames) -> None:
    topic, subscription = names(pubsub)
    pubsub.publisher.create_topic(name=topic)
    pubsub.subscriber.create_subscription(
        request={"name": subscription, "topic": topic, "ack_deadline_seconds": 30}
    )
    plan = SetupPlan(
        topic=topic,
        subscription=subscription,
        dead_letter_topic=f"{topic}-dead",
        max_delivery_attempts=7,
        push_endpoint="http://127.0.0.1:9/",
    )
    lines = setup_trigger(plan, pubsub.publisher, pubsub.subscriber)
    assert lines[0] == f"topic {topic} exists"
    assert lines[-1].startswith(f"updated subscription {subscription}: ack_deadline_seconds")
    found = pubsub.subscriber.get_subscription(subscription=subscription)
    assert found.dead_letter_policy.max_delivery_attempts == 7
    assert found.push_config.push_endpoint == "http://127.0.0.1:9/"
    assert setup_trigger(plan, pubsub.publisher, pubsub.subscriber)[-1].endswith("up to date")


def test_setup_refuses_a_subscription_on_another_topic(pubsub: PubSubNames) -> None:
    topic, subscription = names(pubsub)
    other = pubsub.topic("other")
    pubsub.subscriber.create_subscription(request={"name": subscription, "topic": other})
    plan = SetupPlan(topic, subscription, f"{topic}-dead")
    with pytest.raises(ConfigError, match="reads topic"):
        setup_trigger(plan, pubsub.publisher, pubsub.subscriber)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            ["setup", "--topic", "data", "--subscription", "projects/p1/subscriptions/sub"],
            "Topic 'data' is not a full name of the form projects/P/topics/T.",
        ),
        (
            ["setup", "--topic", "projects/p1/topics/topic1", "--subscription", "s"],
            "Subscription 's' is not a full name of the form projects/P/subscriptions/S.",
        ),
        (
            [
                "setup",
                "--topic",
                "projects/p1/topics/topic1",
                "--subscription",
                "projects/p1/subscriptions/sub1",
                "--max-delivery-attempts",
                "2",
            ],
            "max delivery attempts must be between 5 and 100, not 2.",
        ),
        (
            ["setup", "--topic", "projects/p1/topics/topic1"],
            "Pass --topic and --subscription (or set trigger.topic/subscription).",
        ),
        (["pull", "--subscription", "my-sub"], "Subscription 'my-sub' is not a full name"),
        (["pull"], "No subscription: pass --subscription or set trigger.subscription."),
        (["watch", "/no/such/dir"], "The directory to watch does not exist: '/no/such/dir'."),
        (["watch", ".", "--settle", "0"], "The settle time must be positive, not 0.0."),
        (["watch", ".", "-p", "epochs"], "Parameter 'epochs' is not in the form KEY=VALUE."),
        (["serve", "--port", "70000"], "The port must be between 1 and 65535, not 70000."),
    ],
)
def test_bad_input_is_one_sentence_and_exit_2(
    args: list[str], message: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    result = runner.invoke(app, ["trigger", *args])
    assert result.exit_code == 2, result.output
    assert result.output.startswith(f"error: {message}")
    assert "Traceback" not in result.output
    assert list(tmp_path.iterdir()) == []


def test_pull_refuses_a_subscription_without_dead_letter_policy(
    pubsub: PubSubNames, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    sub = pubsub.subscription("bare", pubsub.topic("bare"))
    result = runner.invoke(app, ["trigger", "pull", "--subscription", sub])
    assert result.exit_code == 2
    assert f"error: Subscription '{sub}' has no dead-letter policy" in result.output
    missing = runner.invoke(app, ["trigger", "pull", "--subscription", sub + "-gone"])
    assert missing.exit_code == 2
    assert f"error: Subscription '{sub}-gone' does not exist." in missing.output
