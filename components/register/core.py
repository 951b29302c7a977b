"""Register: add a gated model to the registry and make it the champion."""

from __future__ import annotations

from pathlib import Path

from freshet.components.evaluate.core import Evaluation
from freshet.registry import ModelVersion, open_registry


def register(
    registry_uri: str,
    model_name: str,
    model_dir: str | Path,
    evaluation: Evaluation,
    data_version: str,
    run_id: str,
) -> ModelVersion:
    """Registers a model version and moves the `champion` alias to it.

    Args:
        registry_uri: The registry: a local directory or a gs:// URI.
        model_name: Registered model name.
        model_dir: A directory written by the train step.
        evaluation: The model's test metrics, stored with the version.
        data_version: The data the model was trained on.
        run_id: The run that produced the model.

    Returns:
        The champion version.
    """
    return open_registry(registry_uri).register(
        model_name,
        model_dir,
        data_version=data_version,
        run_id=run_id,
        metrics=evaluation.scalars(),
    )


def champion_accuracy(registry_uri: str, model_name: str) -> tuple[float | None, int | None]:
    """The champion's accuracy and version number, or (None, None) when there is none."""
    champion = open_registry(registry_uri).champion(model_name)
    if champion is None:
        return None, None
    return champion.metrics.get("accuracy"), champion.version
