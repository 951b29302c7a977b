"""Parsing and checking secret references (`sm://`, `k8s://`, `env://`, `file://`)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

from freshet.errors import ConfigError

Scheme = Literal["sm", "k8s", "env", "file"]
SCHEMES: tuple[Scheme, ...] = ("sm", "k8s", "env", "file")
FORMS = {
    "sm": "sm://projects/PROJECT/secrets/NAME[/versions/VERSION]",
    "k8s": "k8s://SECRET_NAME/KEY",
    "env": "env://VARIABLE",
    "file": "file://PATH",
}
# Where each runner can resolve a reference: a Vertex step has no local files or variables.
RUNNER_SCHEMES: dict[str, tuple[Scheme, ...]] = {
    "vertex": ("sm",),
    "kfp": ("k8s", "sm"),
    "local": SCHEMES,
}
# The prefix of the environment variable a Kubernetes secret's key is mounted as.
K8S_ENV_PREFIX = "FRESHET_SECRET_"

_SM = re.compile(
    r"^projects/(?P<project>[a-z0-9][a-z0-9-]{0,62}|[0-9]+)/secrets/(?P<name>[A-Za-z0-9_-]{1,255})"
    r"(?:/versions/(?P<version>latest|[1-9][0-9]*))?$"
)
# Kubernetes: a secret's name is a DNS-1123 subdomain; a key is letters, digits, '-', '_', '.'.
_K8S = re.compile(
    r"^(?P<name>[a-z0-9](?:[-a-z0-9.]{0,251}[a-z0-9])?)/(?P<key>[-._a-zA-Z0-9]{1,253})$"
)
_ENV = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_CREDENTIAL = re.compile(r"webhook|token|password|secret|key", re.IGNORECASE)


class SecretError(ConfigError):
    """A secret reference is malformed, cannot be used where it is, or cannot be read."""


@dataclass(frozen=True)
class SecretReference:
    """A parsed reference; `str()` gives it back as written."""

    text: str
    scheme: Scheme
    target: str  # sm: resource name with version; k8s: NAME/KEY; env: VAR; file: PATH

    def __str__(self) -> str:
        return self.text

    @property
    def secret_name(self) -> str:
        """Secret Manager: the secret's id; Kubernetes: the secret's name; else the target."""
        if self.scheme == "sm":
            return self.target.split("/")[3]
        if self.scheme == "k8s":
            return self.target.split("/", 1)[0]
        return self.target


def is_reference(value: str) -> bool:
    """Whether a value is written as a secret reference (well-formed or not)."""
    return value.startswith(tuple(f"{scheme}://" for scheme in SCHEMES))


def looks_like_credential(name: str) -> bool:
    """Whether a setting or parameter name suggests it holds a credential.

    Names containing webhook, token, password, secret or key (any case) do.
    """
    return _CREDENTIAL.search(name) is not None


def parse_reference(value: str) -> SecretReference:
    """Parses a secret reference.

    Args:
        value: E.g. `sm://projects/my-project/secrets/alerts-webhook`.

    Returns:
        The reference; a Secret Manager reference without a version reads `latest`.

    Raises:
        SecretError: `value` is not one of the four forms.
    """
    scheme, sep, rest = value.partition("://")
    if not sep or scheme not in SCHEMES:
        forms = ", ".join(FORMS.values())
        raise SecretError(f"'{value}' is not a secret reference: use one of {forms}.")
    if scheme == "sm":
        match = _SM.match(rest)
        if match:
            version = match["version"] or "latest"
            target = f"projects/{match['project']}/secrets/{match['name']}/versions/{version}"
            return SecretReference(value, "sm", target)
    elif scheme == "k8s":
        if _K8S.match(rest):
            return SecretReference(value, "k8s", rest)
    elif scheme == "env":
        if _ENV.match(rest):
            return SecretReference(value, "env", rest)
    elif rest:
        return SecretReference(value, "file", rest)
    raise SecretError(f"Secret reference '{value}' is malformed: expected {FORMS[scheme]}.")


def check_for_runner(value: str, runner: str, what: str) -> SecretReference:
    """Parses a reference and checks that steps of `runner` can resolve it.

    Args:
        value: The reference.
        runner: "vertex", "kfp" or "local".
        what: What holds it, for the sentence (e.g. "[ops] webhook_url").

    Raises:
        SecretError: Malformed, or of a kind the runner's steps cannot read.
    """
    reference = parse_reference(value)
    allowed = RUNNER_SCHEMES.get(runner, SCHEMES)
    if reference.scheme not in allowed:
        forms = " or ".join(FORMS[scheme] for scheme in allowed)
        raise SecretError(
            f"{what} '{value}' cannot be resolved by a step on the {runner} runner: use {forms}."
        )
    return reference


def kubernetes_secret_env(reference: str | SecretReference) -> tuple[str, str, str]:
    """Where a `k8s://NAME/KEY` reference is mounted in a Kubeflow Pipelines step.

    The compile target mounts it with
    `kfp.kubernetes.use_secret_as_env(task, secret_name, secret_key_to_env={key: env_var})`,
    and the step resolves the reference by reading that variable. The variable's name is
    `FRESHET_SECRET_<NAME>_<KEY>`, upper-cased, every character other than a letter or a
    digit replaced by `_` (so `k8s://alerts-webhook/url` -> `FRESHET_SECRET_ALERTS_WEBHOOK_URL`).

    Args:
        reference: A `k8s://NAME/KEY` reference (text or parsed).

    Returns:
        (secret name, key, environment variable name).

    Raises:
        SecretError: Not a well-formed `k8s://` reference.
    """
    parsed = reference if isinstance(reference, SecretReference) else parse_reference(reference)
    if parsed.scheme != "k8s":
        raise SecretError(
            f"'{parsed.text}' is not a Kubernetes secret reference: expected {FORMS['k8s']}."
        )
    name, key = parsed.target.split("/", 1)
    variable = K8S_ENV_PREFIX + re.sub(r"[^A-Za-z0-9]", "_", f"{name}_{key}").upper()
    return name, key, variable
