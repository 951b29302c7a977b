"""Where Vertex AI calls go: a `projects/P/locations/L` parent and the gapic clients for it.

The project, region, credentials and API host come from `aiplatform.init` (freshet's Vertex
session calls it; a pipeline step calls `init_from_uri`), so every Vertex call of a process
goes to one place, the test fake included.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from freshet.config import GcpSettings
from freshet.errors import ConfigError

_LOCATION = re.compile(r"^projects/([a-z0-9][a-z0-9-]{4,61})/locations/([a-z0-9-]+)$")


@dataclass(frozen=True)
class VertexLocation:
    """A project and region of Vertex AI."""

    project: str
    region: str

    @property
    def parent(self) -> str:
        """`projects/P/locations/R`."""
        return f"projects/{self.project}/locations/{self.region}"


def parse_location(text: str, what: str) -> VertexLocation | None:
    """`projects/P/locations/L` as a location; None for ""; ConfigError naming `what` else."""
    if not text:
        return None
    match = _LOCATION.match(text.strip("/"))
    if match is None:
        raise ConfigError(f"{what} '{text}' is not of the form projects/PROJECT/locations/REGION.")
    return VertexLocation(*match.groups())


def current_location(location: VertexLocation | None = None) -> VertexLocation:
    """`location`, or the project and region `aiplatform.init` was given.

    Raises:
        ConfigError: Neither is known.
    """
    if location is not None:
        return location
    from google.auth.exceptions import GoogleAuthError
    from google.cloud.aiplatform import initializer

    try:
        return VertexLocation(initializer.global_config.project, initializer.global_config.location)
    except GoogleAuthError:
        raise ConfigError(
            "No Google Cloud project is known for Vertex AI: set [gcp] project or "
            "name it in the location (vertex://projects/P/locations/L)."
        ) from None


def api_host(region: str) -> str:
    """The API host of a region, or the `api_endpoint` override given to `aiplatform.init`."""
    from google.cloud.aiplatform import initializer

    return initializer.global_config.api_endpoint or f"{region}-aiplatform.googleapis.com"


def gapic_client(kind: str, region: str) -> Any:
    """A gapic client (`ModelServiceClient`, `EndpointServiceClient`, ...) for a region."""
    from google.cloud import aiplatform_v1
    from google.cloud.aiplatform import initializer

    cls = getattr(aiplatform_v1, kind)
    return cls(
        credentials=initializer.global_config.credentials,
        client_options={"api_endpoint": api_host(region)},
    )


def default_registry_uri(gcp: GcpSettings) -> str:
    """The registry of a Vertex run that names none.

    With `[gcp] model_registry = true`: the Vertex AI Model Registry of the run's project and
    region, bundles under `<pipeline_root>/models`; else files under `<pipeline_root>/registry`.
    """
    root = str(gcp.pipeline_root).rstrip("/")
    if gcp.model_registry:
        where = f"projects/{gcp.project}/locations/{gcp.region}"
        return f"vertex://{where}?artifacts={root}/models"
    return f"{root}/registry"
