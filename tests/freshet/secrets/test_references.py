"""Secret references: the four forms, what each runner can resolve, Kubernetes naming."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from freshet.ops_settings import OpsSettings
from freshet.secrets import (
    SecretError,
    is_reference,
    kubernetes_secret_env,
    looks_like_credential,
    parse_reference,
)
from freshet.secrets.references import check_for_runner


@pytest.mark.parametrize(
    ("text", "scheme", "target"),
    [
        ("sm://projects/p-1/secrets/hook", "sm", "projects/p-1/secrets/hook/versions/latest"),
        ("sm://projects/123/secrets/a_b/versions/7", "sm", "projects/123/secrets/a_b/versions/7"),
        ("k8s://alerts.webhook/url", "k8s", "alerts.webhook/url"),
        ("env://SLACK_HOOK", "env", "SLACK_HOOK"),
        ("file:///run/secrets/hook", "file", "/run/secrets/hook"),
    ],
)
def test_the_four_forms(text: str, scheme: str, target: str) -> None:
    reference = parse_reference(text)
    assert (reference.scheme, reference.target, str(reference)) == (scheme, target, text)
    assert is_reference(text)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "sm://my-project/hook",
            "Secret reference 'sm://my-project/hook' is malformed: expected "
            "sm://projects/PROJECT/secrets/NAME[/versions/VERSION].",
        ),
        (
            "sm://projects/p/secrets/hook/versions/0",
            "Secret reference 'sm://projects/p/secrets/hook/versions/0' is malformed: expected "
            "sm://projects/PROJECT/secrets/NAME[/versions/VERSION].",
        ),
        (
            "k8s://Alerts/url",
            "Secret reference 'k8s://Alerts/url' is malformed: expected k8s://SECRET_NAME/KEY.",
        ),
        ("env://1X", "Secret reference 'env://1X' is malformed: expected env://VARIABLE."),
        ("file://", "Secret reference 'file://' is malformed: expected file://PATH."),
    ],
)
def test_malformed_references_are_one_sentence(text: str, expected: str) -> None:
    with pytest.raises(SecretError) as raised:
        parse_reference(text)
    assert str(raised.value) == expected


def test_a_value_that_is_not_a_reference() -> None:
    assert not is_reference("https://hooks.slack.com/services/T/B/x")
    with pytest.raises(SecretError, match="is not a secret reference: use one of sm://"):
        parse_reference("vault://kv/hook")


def test_what_each_runner_resolves() -> None:
    assert check_for_runner("sm://projects/p/secrets/h", "vertex", "x").scheme == "sm"
    assert check_for_runner("k8s://alerts/url", "kfp", "x").scheme == "k8s"
    assert check_for_runner("file:///tmp/h", "local", "x").scheme == "file"
    with pytest.raises(SecretError) as raised:
        check_for_runner("env://HOOK", "vertex", "[ops] webhook_url")
    assert str(raised.value) == (
        "[ops] webhook_url 'env://HOOK' cannot be resolved by a step on the vertex runner: "
        "use sm://projects/PROJECT/secrets/NAME[/versions/VERSION]."
    )


def test_kubernetes_naming_convention() -> None:
    assert kubernetes_secret_env("k8s://alerts-webhook/url") == (
        "alerts-webhook",
        "url",
        "FRESHET_SECRET_ALERTS_WEBHOOK_URL",
    )
    assert (
        kubernetes_secret_env("k8s://team.tokens/api.key")[2]
        == "FRESHET_SECRET_TEAM_TOKENS_API_KEY"
    )
    with pytest.raises(SecretError, match="is not a Kubernetes secret reference"):
        kubernetes_secret_env("sm://projects/p/secrets/h")


@pytest.mark.parametrize(
    ("name", "credential"),
    [
        ("alert_webhook", True),
        ("API_TOKEN", True),
        ("db_password", True),
        ("client_secret", True),
        ("api_key", True),
        ("data_uri", False),
        ("model_name", False),
    ],
)
def test_credential_names(name: str, credential: bool) -> None:
    assert looks_like_credential(name) is credential


def test_the_webhook_setting_takes_a_reference_or_a_url() -> None:
    assert OpsSettings(webhook_url="sm://projects/p/secrets/h").webhook_url == (
        "sm://projects/p/secrets/h"
    )
    assert OpsSettings(webhook_url="https://hooks.example.com/x").webhook_url
    with pytest.raises(ValidationError, match="is malformed"):
        OpsSettings(webhook_url="sm://projects/p")
    with pytest.raises(ValidationError, match="URL or a secret reference"):
        OpsSettings(webhook_url="hooks.slack.com/services/x")
