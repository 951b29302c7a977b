"""Operations settings: where alerts go and how fresh each pipeline's model must stay.

They hang under the main settings as `ops`, e.g. in `freshet.toml`:

    [ops]
    webhook_url = "sm://projects/my-project/secrets/alerts-webhook"
    report_base_url = "https://storage.googleapis.com/my-reports"

    [ops.freshness_hours]
    training = 6

or `FRESHET_OPS__WEBHOOK_URL=...` and `FRESHET_OPS__FRESHNESS_HOURS='{"training": 6}'`.

An incoming-webhook URL is a credential, so `webhook_url` is best a secret reference
(`sm://...`, `k8s://...`, `env://...`, `file://...`, see `freshet.secrets`), resolved where the
alert is posted. A literal URL works for local runs and checks only: a Vertex AI or Kubeflow
Pipelines run refuses it, since the run would store it.
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict


class OpsSettings(BaseSettings):
    """Alerts (a Slack- or Discord-compatible webhook) and freshness deadlines."""

    model_config = SettingsConfigDict(extra="forbid")

    webhook_url: str | None = Field(
        default=None,
        description="Incoming webhook alerts are posted to, as a secret reference (or, for "
        "local runs only, a literal URL); none: alerts only log.",
    )
    secret_manager_endpoint: str | None = Field(
        default=None,
        description="Secret Manager host[:port] override (a test fake); steps read "
        "FRESHET_OPS__SECRET_MANAGER_ENDPOINT.",
    )
    webhook_format: Literal["auto", "slack", "discord"] = Field(
        default="auto", description="Payload shape; auto picks discord for discord.com URLs."
    )
    webhook_timeout_s: float = Field(default=5.0, gt=0, description="Per attempt.")
    webhook_deadline_s: float = Field(
        default=30.0, gt=0, description="Total time spent retrying one alert before giving up."
    )
    report_base_url: str | None = Field(
        default=None,
        description="Where reports are published (alerts link `<base>/<run_id>/report.html`); "
        "alerts give the local path when unset.",
    )
    freshness_hours: dict[str, float] = Field(
        default_factory=dict,
        description="Per pipeline: hours after a data update by which a successful run must exist.",
    )

    @field_validator("webhook_url", mode="after")
    @classmethod
    def _check_webhook(cls, value: str | None) -> str | None:
        from freshet.secrets.references import SecretError, is_reference, parse_reference

        if value is not None and is_reference(value):
            try:
                parse_reference(value)
            except SecretError as exc:
                raise ValueError(str(exc)) from None
            return value
        if value is not None and not value.startswith(("http://", "https://")):
            raise ValueError(
                "must be an http:// or https:// URL or a secret reference (sm://, k8s://, env://, "
                "file://)"
            )
        return value

    @field_validator("report_base_url", mode="after")
    @classmethod
    def _check_url(cls, value: str | None) -> str | None:
        if value is not None and not value.startswith(("http://", "https://")):
            raise ValueError("must be an http:// or https:// URL")
        return value

    @field_validator("freshness_hours", mode="after")
    @classmethod
    def _check_hours(cls, value: dict[str, float]) -> dict[str, float]:
        for pipeline, hours in value.items():
            if not hours > 0:
                raise ValueError(f"the deadline of '{pipeline}' must be positive hours: {hours}")
        return value
