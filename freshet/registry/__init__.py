"""The model registry: numbered versions and movable aliases (`champion`).

`open_registry` picks the store by location: `freshet.registry.files` for a local path,
`freshet.registry.gcs` for a `gs://` URI, `freshet.registry.vertex` for `vertex` or
`vertex://projects/P/locations/L` (the Vertex AI Model Registry). Every name importable from
`freshet.registry` before it became a package still is.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlparse

from freshet.errors import RegistryError
from freshet.registry.base import (
    CONTRACT_FILES,
    EXTRA_FILES,
    MODEL_FILES,
    Describe,
    ModelVersion,
    Registry,
    check_model_name,
    model_digest,
)
from freshet.registry.files import LocalRegistry

__all__ = [
    "CONTRACT_FILES",
    "EXTRA_FILES",
    "MODEL_FILES",
    "Describe",
    "LocalRegistry",
    "ModelVersion",
    "Registry",
    "check_model_name",
    "model_digest",
    "open_registry",
]


def open_registry(uri: str, client: Any = None) -> Registry:
    """The registry at a location: a local directory, `gs://bucket/prefix`, or Vertex AI.

    Args:
        uri: The registry location: a directory, `gs://bucket/prefix`, `vertex` (the project
            and region the Vertex SDK was initialised with) or
            `vertex://projects/P/locations/L`.
        client: A `google.cloud.storage.Client` for gs:// (a default client when None); for
            Vertex, the client that reads and writes the bundles in Cloud Storage.

    Raises:
        RegistryError: The location is empty or has another scheme.
    """
    if not str(uri).strip():
        raise RegistryError("The model registry location is empty.")
    text = str(uri).strip()
    scheme = urlparse(text).scheme
    if scheme == "vertex" or (not scheme and urlparse(text).path == "vertex"):
        from freshet.registry.vertex import VertexRegistry

        return VertexRegistry(text, storage_client=client)
    if scheme == "gs":
        from freshet.registry.gcs import GcsRegistry

        return GcsRegistry(text, client)
    if scheme not in ("", "file") and len(scheme) > 1:
        raise RegistryError(
            f"Unknown model registry scheme '{scheme}' in '{uri}'; use a local directory, "
            "gs://bucket/prefix, vertex or vertex://projects/P/locations/L."
        )
    return LocalRegistry(urlparse(text).path if scheme == "file" else uri)
