"""The record a run leaves behind: `<root>/runs/<run_id>/summary.json`."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, Field


class StepRecord(BaseModel):
    """One pipeline task as it ran."""

    name: str
    status: Literal["pending", "running", "succeeded", "failed", "skipped"] = "pending"
    seconds: float = 0.0
    cached: bool = False


class RunSummary(BaseModel):
    """Everything a person or a tool needs to know about one run."""

    run_id: str
    pipeline: str
    status: Literal["succeeded", "failed"]
    decision: Literal["passed", "rejected"] | None = None
    data_uri: str | None = None
    data_version: str | None = None
    reason: str = "manual"
    parameters: dict[str, Any] = Field(default_factory=dict)
    template: dict[str, str] = Field(default_factory=dict)
    started_at: str
    seconds: float
    steps: list[StepRecord] = Field(default_factory=list)
    metrics: dict[str, float] = Field(default_factory=dict)
    gate: dict[str, Any] = Field(default_factory=dict)
    champion: dict[str, Any] | None = None
    artifacts: dict[str, str] = Field(default_factory=dict)
    log: str | None = None
    error: str | None = None
