"""Which registered model a scoring run uses: an alias (default `champion`) or a fixed version."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from freshet.contract.runtime import ContractModel
from freshet.errors import BadInput, RegistryError
from freshet.registry import ModelVersion, Registry, open_registry

VERTEX_REGISTRY = "vertex"


def check_batch_job(use_batch_prediction_job: Any, registry_uri: str) -> None:
    """Refuses `use_batch_prediction_job=true`: freshet cannot submit BatchPredictionJobs yet.

    Raises:
        BadInput: The parameter is true (one sentence saying what it needs).
    """
    if not use_batch_prediction_job:
        return
    if not str(registry_uri).startswith(VERTEX_REGISTRY):
        raise BadInput(
            "use_batch_prediction_job=true needs the Vertex AI Model Registry as the registry "
            f"(registry_uri = \"vertex\"), not '{registry_uri}'; leave it false to score with "
            "the score step."
        )
    raise BadInput(
        "use_batch_prediction_job=true is not supported yet: freshet does not submit Vertex AI "
        "BatchPredictionJobs; leave it false to score with the score step."
    )


def _registry(registry_uri: str, client: Any) -> Registry:
    try:
        return open_registry(registry_uri, client)
    except RegistryError as exc:
        raise BadInput(str(exc)) from None


def resolve_model(
    registry_uri: str,
    model_name: str,
    alias: str = "champion",
    version: int = 0,
    client: Any = None,
) -> ModelVersion:
    """The registered version to score with.

    Args:
        registry_uri: The registry location.
        model_name: The registered model's name.
        alias: The alias to follow when `version` is 0.
        version: A fixed version number (0: follow the alias).
        client: A `google.cloud.storage.Client` for a gs:// registry.

    Raises:
        BadInput: The name is invalid or unknown, the alias is not set (no champion yet), or
            the version does not exist.
    """
    registry = _registry(registry_uri, client)
    try:
        versions = registry.versions(model_name)
        if not versions:
            raise BadInput(
                f"The registry '{registry_uri}' has no model '{model_name}'; train and register "
                "one first, or set model_name."
            )
        if version:
            return registry.get(model_name, int(version))
        found = registry.alias(model_name, alias)
    except RegistryError as exc:
        raise BadInput(str(exc)) from None
    if found is None:
        if alias == "champion":
            raise BadInput(
                f"Model '{model_name}' in '{registry_uri}' has no champion; register one first, "
                "or name a version with model_version=N."
            )
        raise BadInput(f"Model '{model_name}' in '{registry_uri}' has no alias '{alias}'.")
    return found


@contextmanager
def loaded_model(
    registry_uri: str, model_name: str, version: int, threads: int = 0, client: Any = None
) -> Iterator[ContractModel]:
    """The contract model of one registered version, loaded for onnxruntime.

    Raises:
        BadInput: The version does not exist or its files are not a contract model.
    """
    registry = _registry(registry_uri, client)
    try:
        found = registry.get(model_name, int(version))
        with registry.model_files(found) as folder:
            yield ContractModel.load(folder, threads)
    except RegistryError as exc:
        raise BadInput(str(exc)) from None


def version_label(model_name: str, version: int) -> str:
    """How outputs name a model version: `model@3`."""
    return f"{model_name}@{version}"
