"""Register: add a gated contract model to the registry and make it the champion."""

from __future__ import annotations

from pathlib import Path

from freshet.components.evaluate.core import Evaluation
from freshet.components.package.core import BUNDLE_ONLY
from freshet.registry import ModelVersion, open_registry
from freshet.registry.vertex import UploadOptions, VertexRegistry


def register(
    registry_uri: str,
    model_name: str,
    model_dir: str | Path,
    evaluation: Evaluation,
    data_version: str,
    run_id: str,
    serving_image: str = "",
    git_commit: str = "",
    template_version: str = "",
) -> ModelVersion:
    """Registers a model version and moves the `champion` alias to it.

    Args:
        registry_uri: The registry: a local directory or a gs:// URI.
        model_name: Registered model name.
        model_dir: A contract model directory (`model.onnx` + `signature.json`).
        evaluation: The model's test metrics; its scalar metrics are stored with the version.
        data_version: The data the model was trained on.
        run_id: The run that produced the model.
        serving_image: The image a Vertex AI Model Registry version is served with (only
            needed there, and only when verification did not upload the version already).
        git_commit: The commit the run was built from (a label in Vertex AI).
        template_version: The compiled template's version (a label in Vertex AI).

    Returns:
        The champion version.

    Raises:
        BadInput: `model_dir` does not hold a valid contract model.
        RegistryError: The registry cannot be read or written.
    """
    from freshet.contract import check_model_dir

    check_model_dir(model_dir)
    registry = open_registry(registry_uri)
    if isinstance(registry, VertexRegistry):
        image = "" if serving_image == BUNDLE_ONLY else serving_image  # the package step's
        registry.options = UploadOptions(
            serving_image=image, git_commit=git_commit, template_version=template_version
        )
    return registry.register(
        model_name,
        model_dir,
        data_version=data_version,
        run_id=run_id,
        metrics=evaluation.scalars(),
    )
