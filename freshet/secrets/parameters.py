"""Pipeline parameters of a run stored remotely: credentials only as references.

Vertex AI keeps a run's parameter values in its PipelineJob, shown in the console and returned
by the API to anyone who can read the project; a Kubeflow Pipelines run keeps them in its run
record. So for those runners a parameter whose name looks like a credential must be empty or a
reference the runner's steps can resolve, and the alert webhook (`[ops] webhook_url`) is
passed as the reference. Everything here runs before the first API call.
"""

from __future__ import annotations

from typing import Any

from freshet.ops_settings import OpsSettings
from freshet.secrets.references import (
    SecretError,
    check_for_runner,
    is_reference,
    looks_like_credential,
)

ALERT_PARAMETER = "alert_webhook"
_WHERE = {
    "vertex": "Vertex AI would store it with the run for anyone who can read the project",
    "kfp": "Kubeflow Pipelines would store it with the run for anyone who can read runs",
}


def store_advice(runner: str, project: str | None, setting: bool) -> str:
    """How to store a secret where `runner`'s steps can read it, as the end of a sentence."""
    if runner == "kfp":
        reference = "k8s://alerts-webhook/url"
        how = "`kubectl create secret generic alerts-webhook --from-file=url=/dev/stdin`"
    else:
        reference = f"sm://projects/{project or 'PROJECT'}/secrets/alerts-webhook"
        how = "`gcloud secrets create alerts-webhook --data-file=-`"
    where = f'webhook_url = "{reference}" under [ops]' if setting else f"'{reference}'"
    return f"store it with {how} and give {where} instead"


def remote_parameters(
    spec: dict[str, Any],
    parameters: dict[str, Any],
    ops: OpsSettings,
    runner: str,
    project: str | None = None,
) -> dict[str, Any]:
    """The parameters of a remote run, with the alert webhook's reference; secrets refused.

    Args:
        spec: The compiled pipeline (its root parameters and their defaults).
        parameters: The request's parameter values.
        ops: `webhook_url` fills `alert_webhook` when the pipeline declares it and the
            request does not give it.
        runner: "vertex" or "kfp" (which references its steps can resolve).
        project: The Google Cloud project, for the advice in the sentence.

    Returns:
        `parameters`, plus `alert_webhook` when it comes from settings.

    Raises:
        SecretError: A credential-like parameter (given, defaulted, or from `webhook_url`)
            holds a literal value, or a reference the runner's steps cannot resolve.
    """
    declared: dict[str, Any] = (
        spec.get("root", {}).get("inputDefinitions", {}).get("parameters", {})
    )
    result = dict(parameters)
    if ALERT_PARAMETER in declared and not result.get(ALERT_PARAMETER) and ops.webhook_url:
        if not is_reference(ops.webhook_url):
            raise SecretError(
                f"[ops] webhook_url is a literal URL and {_WHERE.get(runner, _WHERE['vertex'])}: "
                f"{store_advice(runner, project, setting=True)}."
            )
        check_for_runner(ops.webhook_url, runner, "[ops] webhook_url")
        result[ALERT_PARAMETER] = ops.webhook_url
    for name, definition in declared.items():
        value = result.get(name, definition.get("defaultValue"))
        if not isinstance(value, str) or not value or not looks_like_credential(name):
            continue
        if is_reference(value):
            check_for_runner(value, runner, f"Parameter '{name}'")
            continue
        given = "holds" if name in result else "defaults to"
        raise SecretError(
            f"Parameter '{name}' {given} a literal value and "
            f"{_WHERE.get(runner, _WHERE['vertex'])}: "
            f"{store_advice(runner, project, setting=name == ALERT_PARAMETER)}."
        )
    return result
