from __future__ import annotations

import logging
import socket
import time

import pytest

from freshet.alerts import DISCORD_LIMIT, Alert, payload, post_alert, webhook_format
from freshet.ops_settings import OpsSettings
from tests.fakes.webhook import webhook_receiver

ALERT = Alert(
    kind="run_failed",
    title="training run failed in step 'train'",
    pipeline="training",
    run_id="training-20260101-000000-abcdef",
    step="train",
    error="CUDA out of memory @everyone",
    report="/data/.freshet/runs/training-20260101-000000-abcdef/report.html",
)


def ops(url: str, **extra: object) -> OpsSettings:
    values: dict[str, object] = {"webhook_timeout_s": 0.5, "webhook_deadline_s": 3.0, **extra}
    return OpsSettings(webhook_url=url, **values)  # type: ignore[arg-type]


def test_slack_payload_carries_run_step_error_and_report() -> None:
    with webhook_receiver() as hook:
        assert post_alert(ALERT, ops(hook.url)) is True
    assert hook.attempts == 1
    [body] = hook.received
    assert set(body) == {"text"}
    for expected in (
        "training-20260101-000000-abcdef",
        "train",
        "CUDA out of memory",
        "report.html",
    ):
        assert expected in body["text"]


def test_discord_payload_uses_content_and_disables_mentions() -> None:
    with webhook_receiver() as hook:
        assert post_alert(ALERT, ops(hook.url, webhook_format="discord"))
    [body] = hook.received
    assert "CUDA out of memory" in body["content"]
    assert body["allowed_mentions"] == {"parse": []}


def test_format_is_chosen_from_the_host() -> None:
    assert webhook_format("https://discord.com/api/webhooks/1/x") == "discord"
    assert webhook_format("https://hooks.slack.com/services/T/B/x") == "slack"
    assert webhook_format("https://discord.com/api/webhooks/1/x", "slack") == "slack"


def test_long_errors_are_clipped_to_the_discord_limit() -> None:
    long = ALERT.model_copy(update={"error": "x" * 5000})
    body = payload(long, "discord")
    assert len(body["content"]) <= DISCORD_LIMIT
    assert body["content"].count("```") % 2 == 0


def test_transient_failures_are_retried_until_delivered() -> None:
    with webhook_receiver(fail_first=3, fail_status=503) as hook:
        assert post_alert(ALERT, ops(hook.url)) is True
    assert hook.attempts == 4
    assert len(hook.received) == 1


def test_rate_limit_is_retried() -> None:
    with webhook_receiver(fail_first=1, fail_status=429) as hook:
        assert post_alert(ALERT, ops(hook.url))
    assert hook.attempts == 2


def test_a_webhook_that_never_answers_gives_up_without_raising(
    caplog: pytest.LogCaptureFixture,
) -> None:
    with webhook_receiver(hang=True) as hook:
        started = time.monotonic()
        with caplog.at_level(logging.WARNING, logger="freshet.alerts"):
            delivered = post_alert(ALERT, ops(hook.url, webhook_deadline_s=1.5))
        elapsed = time.monotonic() - started
    assert delivered is False
    assert hook.attempts >= 2  # it retried the timeouts
    assert elapsed < 5.0
    assert "not delivered" in caplog.text
    assert "secret" not in caplog.text  # the webhook path is a credential


def test_client_errors_are_not_retried() -> None:
    with webhook_receiver(status=404) as hook:
        assert post_alert(ALERT, ops(hook.url)) is False
    assert hook.attempts == 1


def test_nothing_listening_is_not_delivered() -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    assert post_alert(ALERT, ops(f"http://127.0.0.1:{port}/hook", webhook_deadline_s=0.5)) is False


def test_no_webhook_configured_posts_nothing() -> None:
    assert post_alert(ALERT, OpsSettings()) is False


def test_webhook_url_must_be_http() -> None:
    from pydantic import ValidationError

    with pytest.raises(ValidationError, match="http"):
        OpsSettings(webhook_url="hooks.slack.com/services/x")


def test_a_referenced_webhook_is_resolved_when_posting(monkeypatch: pytest.MonkeyPatch) -> None:
    with webhook_receiver() as hook:
        monkeypatch.setenv("ALERTS_WEBHOOK_FOR_TEST", hook.url)
        assert post_alert(ALERT, ops("env://ALERTS_WEBHOOK_FOR_TEST")) is True
    assert len(hook.received) == 1


def test_failed_deliveries_name_the_reference_never_the_url(
    caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    with webhook_receiver(status=404) as hook:
        monkeypatch.setenv("ALERTS_WEBHOOK_FOR_TEST", hook.url)
        with caplog.at_level(logging.INFO, logger="freshet.alerts"):
            assert post_alert(ALERT, ops("env://ALERTS_WEBHOOK_FOR_TEST")) is False
    [warning] = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert warning.startswith("Alert to env://ALERTS_WEBHOOK_FOR_TEST not delivered (HTTP 404")
    assert hook.url not in caplog.text and "/services/" not in caplog.text


def test_an_unresolvable_reference_is_a_warning_naming_it(
    caplog: pytest.LogCaptureFixture,
) -> None:
    with caplog.at_level(logging.WARNING, logger="freshet.alerts"):
        assert post_alert(ALERT, ops("env://FRESHET_TEST_NO_SUCH_HOOK")) is False
    assert (
        "Alert to env://FRESHET_TEST_NO_SUCH_HOOK not delivered (Secret reference "
        "'env://FRESHET_TEST_NO_SUCH_HOOK' cannot be resolved: environment variable "
        "FRESHET_TEST_NO_SUCH_HOOK is not set.)"
    ) in caplog.text
