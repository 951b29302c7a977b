"""Credential-like parameters of remote runs, and the lint rule on their compiled defaults."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from freshet.lint.engine import lint_spec, load_rules
from freshet.ops_settings import OpsSettings
from freshet.secrets import SecretError
from freshet.secrets.parameters import remote_parameters

REFERENCE = "sm://projects/p/secrets/alerts-webhook"


def spec(**defaults: str) -> dict[str, Any]:
    """A compiled pipeline's root parameters with these string defaults."""
    parameters = {
        name: {"parameterType": "STRING", "defaultValue": value, "isOptional": True}
        for name, value in {"alert_webhook": "", "data_uri": "gs://d/", **defaults}.items()
    }
    return {
        "pipelineInfo": {"name": "tiny"},
        "root": {"inputDefinitions": {"parameters": parameters}, "dag": {"tasks": {}}},
        "components": {},
        "deploymentSpec": {"executors": {}},
    }


def test_the_setting_s_reference_fills_the_webhook_parameter() -> None:
    ops = OpsSettings(webhook_url=REFERENCE)
    assert remote_parameters(spec(), {}, ops, "vertex", "p") == {"alert_webhook": REFERENCE}
    given = {"alert_webhook": "sm://projects/p/secrets/other"}
    assert remote_parameters(spec(), given, ops, "vertex", "p") == given
    assert remote_parameters(spec(), {}, OpsSettings(), "vertex", "p") == {}


def test_kubeflow_advice_is_a_kubernetes_secret() -> None:
    with pytest.raises(SecretError) as raised:
        remote_parameters(spec(), {}, OpsSettings(webhook_url="https://h.example/x"), "kfp")
    message = str(raised.value)
    assert "kubectl create secret generic alerts-webhook" in message
    assert 'webhook_url = "k8s://alerts-webhook/url" under [ops]' in message
    assert "h.example" not in message


def test_other_credentials_are_refused_when_literal_given_or_defaulted() -> None:
    with pytest.raises(SecretError) as raised:
        remote_parameters(spec(api_token=""), {"api_token": "abc123"}, OpsSettings(), "vertex", "p")
    assert str(raised.value).startswith("Parameter 'api_token' holds a literal value and ")
    assert "abc123" not in str(raised.value)
    with pytest.raises(SecretError, match="'db_password' defaults to a literal value"):
        remote_parameters(spec(db_password="hunter22"), {}, OpsSettings(), "vertex", "p")
    with pytest.raises(SecretError, match="cannot be resolved by a step on the vertex runner"):
        remote_parameters(spec(), {"alert_webhook": "file:///tmp/h"}, OpsSettings(), "vertex")
    # A reference, an empty value and an ordinary parameter pass.
    ok = {"api_token": "sm://projects/p/secrets/t", "data_uri": "gs://e/"}
    assert remote_parameters(spec(api_token=""), ok, OpsSettings(), "vertex") == ok


def test_lint_fails_a_literal_credential_default() -> None:
    rules = load_rules()
    assert lint_spec(spec(api_key="sm://projects/p/secrets/k"), rules, strict=False) == []
    findings = lint_spec(
        spec(alert_webhook="https://hooks.slack.com/services/T/B/x", api_key=""), rules, False
    )
    assert [(f.rule, f.task) for f in findings] == [("no-secret-defaults", "(pipeline)")]
    assert "parameter 'alert_webhook' looks like a credential" in findings[0].message


def test_every_shipped_pipeline_passes_the_rule(tmp_path: Path) -> None:
    from freshet.compile import compile_all
    from freshet.config import load_settings
    from freshet.lint.engine import lint_files

    paths = list(compile_all(load_settings(), tmp_path))
    assert paths
    findings = [f for f in lint_files(paths, strict=False) if f.rule == "no-secret-defaults"]
    assert findings == []
