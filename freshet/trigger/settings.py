"""Trigger settings: routes from data locations to pipelines, push auth, Pub/Sub names.

They hang under the main settings as `trigger`, e.g. in `freshet.toml`:

    [trigger]
    subscription = "projects/my-project/subscriptions/freshet-data"

    [[trigger.routes]]
    match = "gs://my-data/incoming/*"
    pipeline = "training"
    marker = "_SUCCESS"
    parameters = { epochs = 10 }
"""

from __future__ import annotations

import fnmatch
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

GOOGLE_CERTS_URL = "https://www.googleapis.com/oauth2/v1/certs"


class Route(BaseModel):
    """Which objects start which pipeline with which parameters."""

    model_config = ConfigDict(extra="forbid")

    match: str = Field(
        description="Glob on `gs://bucket/object`; `*` also matches `/`, e.g. gs://data/in/*."
    )
    pipeline: str = "training"
    parameters: dict[str, Any] = Field(default_factory=dict)
    marker: str | None = Field(
        default=None,
        description="Marker mode: only an object with this name (e.g. _SUCCESS) starts a run, "
        "for its whole folder.",
    )

    @field_validator("match")
    @classmethod
    def _gs_glob(cls, value: str) -> str:
        if not value.startswith("gs://") or len(value) <= len("gs://"):
            raise ValueError(f"a route's match must start with gs://<bucket>, not {value!r}")
        return value

    def matches(self, uri: str) -> bool:
        """Whether `gs://bucket/object` falls under this route."""
        return fnmatch.fnmatchcase(uri, self.match)


class TriggerSettings(BaseSettings):
    """Settings of the data-update triggers (`freshet trigger ...`)."""

    model_config = SettingsConfigDict(extra="forbid")

    routes: list[Route] = Field(default_factory=list)
    default_pipeline: str = Field(
        default="training", description="Pipeline of a data-update message that names none."
    )
    subscription: str = Field(default="", description="projects/P/subscriptions/S for `pull`.")
    topic: str = Field(default="", description="projects/P/topics/T the notifications go to.")
    dead_letter_topic: str = Field(
        default="", description="projects/P/topics/T for poison messages (default: <topic>-dead)."
    )
    dead_letter: Literal["policy", "publish"] = Field(
        default="policy",
        description="policy: nack poison messages and let the subscription's dead-letter policy "
        "forward them; publish: publish them to dead_letter_topic with a reason, then ack.",
    )
    max_delivery_attempts: int = Field(default=5, ge=5, le=100)
    ack_deadline_seconds: int = Field(default=600, ge=10, le=600)
    max_messages: int = Field(default=4, ge=1, description="Pull flow control: in flight at once.")
    audience: str = Field(
        default="", description="Push: verify the OIDC token for this audience (empty: no check)."
    )
    allowed_emails: list[str] = Field(
        default_factory=list, description="Push: service accounts allowed to call (empty: any)."
    )
    certs_url: str = Field(default=GOOGLE_CERTS_URL, description="Push: Google's signing certs.")

    def resolved_dead_letter_topic(self) -> str:
        """The dead-letter topic: `dead_letter_topic`, else `<topic>-dead`.

        Raises:
            ConfigError: Neither is set.
        """
        if self.dead_letter_topic:
            return self.dead_letter_topic
        if not self.topic:
            from freshet.errors import ConfigError

            raise ConfigError(
                "No dead-letter topic: set trigger.dead_letter_topic or trigger.topic."
            )
        return f"{self.topic}-dead"
