"""What every runner takes and gives back."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal, Protocol

from pydantic import BaseModel, ConfigDict, Field


class RunRequest(BaseModel):
    """One request to run a pipeline, from a person, a schedule or a data-update trigger."""

    model_config = ConfigDict(extra="forbid")

    pipeline: str = "training"
    template: Path | None = Field(default=None, description="Compiled YAML; compiled if None.")
    template_uri: str | None = Field(
        default=None, description="Published template (https://REGION-kfp.pkg.dev/...)."
    )
    parameters: dict[str, Any] = Field(default_factory=dict)
    data_uri: str | None = None
    data_version: str | None = Field(default=None, description="Known version (from an event).")
    run_id: str | None = Field(default=None, description="Fixed id: a second submit is a no-op.")
    reason: str = "manual"
    source_message_id: str | None = None
    enable_cache: bool = True


class RunResult(BaseModel):
    """What a submission did."""

    run_id: str
    status: Literal["succeeded", "failed", "already_exists", "submitted"]
    summary_path: Path | None = None
    summary: dict[str, Any] | None = None

    @property
    def ok(self) -> bool:
        """True unless the pipeline ran and failed."""
        return self.status != "failed"


class Runner(Protocol):
    """A place pipelines run: the local machine or Vertex AI Pipelines."""

    def submit(self, request: RunRequest) -> RunResult:
        """Starts (locally: runs) a pipeline; a repeated fixed run id starts nothing."""
