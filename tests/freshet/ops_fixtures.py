"""Run summaries and the files they point to, as the local runner writes them."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from freshet.registry import LocalRegistry
from freshet.summary import RunSummary, StepRecord

STEPS = ("data-version", "fetch", "train", "evaluate", "gate", "register")
LABELS = [str(i) for i in range(10)]


def evaluation(accuracy: float = 0.97) -> dict[str, Any]:
    """An evaluation artifact of a 10-class model with a few confusions."""
    matrix = [[27 if i == j else 0 for j in range(10)] for i in range(10)]
    matrix[2][1], matrix[5][3], matrix[8][1], matrix[9][5] = 1, 1, 1, 1
    per_class = {
        label: {"precision": 0.95 + i / 250, "recall": 0.99 - i / 300, "f1": 0.96, "support": 27.0}
        for i, label in enumerate(LABELS)
    }
    return {
        "accuracy": accuracy,
        "f1_macro": accuracy - 0.001,
        "log_loss": 0.09,
        "test_rows": 270,
        "labels": LABELS,
        "confusion_matrix": matrix,
        "per_class": per_class,
    }


def make_summary(
    root: Path,
    run_id: str,
    *,
    status: str = "succeeded",
    started: datetime | None = None,
    pipeline: str = "training",
    failed_step: str | None = None,
    data_version: str = "sha256-aaaa",
    accuracy: float = 0.97,
    champion_version: int | None = None,
) -> RunSummary:
    """A summary with an evaluation artifact on disk; `failed_step` fails there, skips the rest."""
    started = started or datetime(2026, 1, 1, 12, 0, tzinfo=UTC)
    steps, state = [], "succeeded"
    for name in STEPS:
        if name == failed_step:
            state = "failed"
        steps.append(StepRecord(name=name, status=state, seconds=1.5))  # type: ignore[arg-type]
        if state == "failed":
            state = "skipped"
    artifacts: dict[str, str] = {}
    metrics: dict[str, float] = {}
    gate: dict[str, Any] = {}
    if failed_step not in ("data-version", "fetch", "train", "evaluate"):
        path = root / "artifacts" / run_id / "evaluation"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(evaluation(accuracy)))
        artifacts["evaluation"] = str(path)
        metrics = {"accuracy": accuracy, "f1_macro": accuracy - 0.001, "log_loss": 0.09}
    if failed_step is None:
        gate = {
            "decision": "passed",
            "reasons": [f"accuracy {accuracy:.4f} meets the floor 0.9000"],
            "candidate_accuracy": accuracy,
            "champion_version": champion_version,
            "policy": {"min_accuracy": 0.9, "max_regression": 0.0},
        }
    return RunSummary(
        run_id=run_id,
        pipeline=pipeline,
        status=status,  # type: ignore[arg-type]
        decision="passed" if failed_step is None else None,
        data_uri="gs://team-datasets/digits/2026-01-01/part-0000.parquet",
        data_version=data_version,
        parameters={"registry_uri": str(root / "registry"), "model_name": "classifier"},
        template={"path": "build/pipelines/training.yaml", "version": "sha256-5d26be27f5d38e0a"},
        started_at=started.isoformat(),
        seconds=60.0,
        steps=steps,
        metrics=metrics,
        gate=gate,
        artifacts=artifacts,
        error=f"Step '{failed_step}' failed: RuntimeError: out of memory" if failed_step else None,
    )


def write_summary(root: Path, summary: RunSummary) -> Path:
    """Writes `runs/<id>/summary.json` as the local runner does."""
    path = root / "runs" / summary.run_id / "summary.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(summary.model_dump_json(indent=2))
    return path


def register_champion(root: Path, run_id: str, accuracy: float, tag: str = "a") -> int:
    """Registers a model version (distinct files per `tag`) as the champion; returns its number."""
    model_dir = root / "models" / tag
    model_dir.mkdir(parents=True, exist_ok=True)
    (model_dir / "model.onnx").write_bytes(tag.encode())  # the registry stores, never loads
    (model_dir / "signature.json").write_text(json.dumps({"tag": tag}))
    version = LocalRegistry(root / "registry").register(
        "classifier",
        model_dir,
        run_id=run_id,
        data_version="sha256-old",
        metrics={"accuracy": accuracy, "f1_macro": accuracy - 0.002, "log_loss": 0.12},
    )
    return version.version


def at(hours: float) -> datetime:
    """A moment `hours` after 2026-01-01 12:00 UTC."""
    return datetime(2026, 1, 1, 12, 0, tzinfo=UTC) + timedelta(hours=hours)
