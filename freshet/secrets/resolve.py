"""Resolving secret references at run time, with the identity of whoever resolves them.

Secret Manager is read with the unmodified `google-cloud-secret-manager` client and
Application Default Credentials (on Vertex AI: the run's service account, which needs
`roles/secretmanager.secretAccessor`). Its endpoint is `secretmanager.googleapis.com` unless
an endpoint is given or `FRESHET_OPS__SECRET_MANAGER_ENDPOINT` names one (read at call time:
a step has no settings file, so the same variable reaches it).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from freshet.secrets import redact
from freshet.secrets.references import SecretError, SecretReference, kubernetes_secret_env
from freshet.secrets.references import parse_reference as _parse

ENDPOINT_VARIABLE = "FRESHET_OPS__SECRET_MANAGER_ENDPOINT"
TIMEOUT_S = 30.0


def secret_manager_client(endpoint: str | None = None) -> Any:
    """A Secret Manager client for `endpoint`.

    Args:
        endpoint: host[:port] [default: `FRESHET_OPS__SECRET_MANAGER_ENDPOINT`, else Google's].
    """
    from google.api_core.client_options import ClientOptions
    from google.cloud import secretmanager

    endpoint = endpoint or os.environ.get(ENDPOINT_VARIABLE) or None
    options = ClientOptions(api_endpoint=endpoint) if endpoint else None
    return secretmanager.SecretManagerServiceClient(client_options=options)


def resolve(
    reference: str | SecretReference, client: Any = None, endpoint: str | None = None
) -> str:
    """The value a reference names, registered for redaction.

    Args:
        reference: `sm://...`, `k8s://...`, `env://...` or `file://...`.
        client: A `SecretManagerServiceClient` [default: one for `endpoint`].
        endpoint: Secret Manager host[:port] when no client is given.

    Returns:
        The value; a trailing newline (as `echo ... | gcloud secrets create` stores) is dropped.

    Raises:
        SecretError: Malformed, not found, not readable by this identity, or not mounted;
            the sentence names the reference, never a value.
    """
    parsed = reference if isinstance(reference, SecretReference) else _parse(reference)
    if parsed.scheme == "sm":
        value = _secret_manager(parsed, client, endpoint)
    elif parsed.scheme == "k8s":
        value = _kubernetes(parsed)
    elif parsed.scheme == "env":
        value = _variable(parsed, parsed.target, f"environment variable {parsed.target} is not set")
    else:
        value = _file(parsed)
    value = value.rstrip("\r\n")
    if not value:
        raise SecretError(f"Secret reference '{parsed.text}' resolves to an empty value.")
    redact.register(value, parsed.text)
    redact.install()
    return value


def resolve_setting(value: str, client: Any = None, endpoint: str | None = None) -> str:
    """A setting that is either a secret reference (resolved) or a literal value (as is)."""
    from freshet.secrets.references import is_reference

    return resolve(value, client, endpoint) if is_reference(value) else value


def _secret_manager(reference: SecretReference, client: Any, endpoint: str | None) -> str:
    from google.api_core import exceptions

    where = f"Secret '{reference.text}'"
    try:
        client = client or secret_manager_client(endpoint)
        response = client.access_secret_version(name=reference.target, timeout=TIMEOUT_S)
    except exceptions.NotFound:
        raise SecretError(
            f"{where} was not found in Secret Manager (NOT_FOUND): create it with "
            f"`gcloud secrets create {reference.secret_name} --data-file=-`."
        ) from None
    except exceptions.PermissionDenied:
        raise SecretError(
            f"{where} may not be read by this identity (PERMISSION_DENIED): grant its service "
            "account roles/secretmanager.secretAccessor on the secret."
        ) from None
    except exceptions.GoogleAPICallError as exc:
        raise SecretError(f"{where} could not be read from Secret Manager ({exc.code}).") from None
    except Exception as exc:  # noqa: BLE001  (credentials missing, endpoint malformed)
        raise SecretError(
            f"{where} could not be read from Secret Manager ({type(exc).__name__})."
        ) from None
    try:
        return str(response.payload.data.decode("utf-8"))
    except UnicodeDecodeError:
        raise SecretError(f"{where} is not UTF-8 text.") from None


def _kubernetes(reference: SecretReference) -> str:
    name, key, variable = kubernetes_secret_env(reference)
    return _variable(
        reference,
        variable,
        f"key '{key}' of Kubernetes secret '{name}' is not mounted as {variable} in this step",
    )


def _variable(reference: SecretReference, variable: str, missing: str) -> str:
    value = os.environ.get(variable)
    if value is None:
        raise SecretError(f"Secret reference '{reference.text}' cannot be resolved: {missing}.")
    return value


def _file(reference: SecretReference) -> str:
    path = Path(reference.target).expanduser()
    try:
        return path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else type(exc).__name__
        raise SecretError(
            f"Secret reference '{reference.text}' cannot be resolved: {path} ({reason})."
        ) from None
