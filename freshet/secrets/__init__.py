"""Secret references: settings and parameters name a secret, steps resolve it at run time.

A secret's value (an incoming-webhook URL, a token) never travels as a pipeline parameter:
Vertex AI stores a run's parameters and shows them to anyone who can read the project. What
travels is a reference, resolved by the step with the run's own identity:

- `sm://projects/P/secrets/NAME[/versions/V]`: Secret Manager (Vertex AI; version `latest`).
- `k8s://NAME/KEY`: key KEY of Kubernetes secret NAME (Kubeflow Pipelines), mounted into the
  step as the environment variable `kubernetes_secret_env` names.
- `env://VAR`, `file://PATH`: an environment variable or a file (local runs).

Every resolved value is registered with `freshet.secrets.redact`, which replaces it by its
reference in log records and in any text passed through `scrub`.
"""

from freshet.secrets.redact import scrub
from freshet.secrets.references import (
    SecretError,
    SecretReference,
    is_reference,
    kubernetes_secret_env,
    looks_like_credential,
    parse_reference,
)
from freshet.secrets.resolve import resolve, resolve_setting

__all__ = [
    "SecretError",
    "SecretReference",
    "is_reference",
    "kubernetes_secret_env",
    "looks_like_credential",
    "parse_reference",
    "resolve",
    "resolve_setting",
    "scrub",
]
