"""The Vertex AI session: settings checked, credentials found, the SDK pointed at a region."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

from freshet.config import GcpSettings, Settings
from freshet.errors import ConfigError

CLOUD_PLATFORM_SCOPE = "https://www.googleapis.com/auth/cloud-platform"
# What submitting or scheduling a run needs; publishing needs only the template repository.
RUN_FIELDS = ("gcp.project", "gcp.region", "gcp.pipeline_root")
PUBLISH_FIELDS = ("gcp.template_repo",)


@dataclass(frozen=True)
class VertexSession:
    """Settings known to be complete, with the credentials calls are made with."""

    gcp: GcpSettings
    credentials: Any

    @property
    def project(self) -> str:
        """The Google Cloud project."""
        assert self.gcp.project is not None
        return self.gcp.project

    @property
    def region(self) -> str:
        """The Vertex AI region."""
        assert self.gcp.region is not None
        return self.gcp.region

    @property
    def parent(self) -> str:
        """`projects/P/locations/R`."""
        return f"projects/{self.project}/locations/{self.region}"

    def job_name(self, run_id: str) -> str:
        """The resource name of a pipeline job."""
        return f"{self.parent}/pipelineJobs/{run_id}"

    def console_url(self, run_id: str) -> str:
        """Where a person follows a run in the Google Cloud console."""
        return (
            f"https://console.cloud.google.com/vertex-ai/locations/{self.region}"
            f"/pipelines/runs/{run_id}?project={self.project}"
        )


def require(settings: Settings, fields: tuple[str, ...]) -> GcpSettings:
    """Returns the Google Cloud settings when every field in `fields` is set.

    Raises:
        ConfigError: Naming every missing field (and how to set it) in one sentence.
    """
    missing = [name for name in fields if getattr(settings.gcp, name.split(".")[1]) is None]
    if missing:
        hints = ", ".join(f"{m} (FRESHET_{m.upper().replace('.', '__')})" for m in missing)
        raise ConfigError(f"Missing settings for Vertex AI: {hints}.")
    return settings.gcp


def default_credentials() -> Any:
    """Application Default Credentials for the cloud-platform scope.

    Raises:
        ConfigError: None are configured on this machine.
    """
    import google.auth
    from google.auth.exceptions import DefaultCredentialsError

    try:
        credentials, _ = google.auth.default(scopes=[CLOUD_PLATFORM_SCOPE])
    except DefaultCredentialsError:
        raise ConfigError(
            "No Google Cloud credentials found: run 'gcloud auth application-default login' "
            "or set GOOGLE_APPLICATION_CREDENTIALS to a service-account key file."
        ) from None
    return credentials


def open_session(settings: Settings, credentials: Any = None) -> VertexSession:
    """Checks the run settings and points the Vertex SDK at the project and region.

    Args:
        settings: Loaded settings; `gcp.project`, `gcp.region` and `gcp.pipeline_root` needed.
        credentials: Google credentials; Application Default Credentials when None.

    Returns:
        The session to make calls with.
    """
    gcp = require(settings, RUN_FIELDS)
    credentials = credentials if credentials is not None else default_credentials()
    from google.cloud import aiplatform

    quiet_sdk_logs()
    aiplatform.init(
        project=gcp.project,
        location=gcp.region,
        credentials=credentials,
        api_endpoint=gcp.api_endpoint or f"{gcp.region}-aiplatform.googleapis.com",
    )
    return VertexSession(gcp=gcp, credentials=credentials)


def quiet_sdk_logs() -> None:
    """The SDK logs every call to stdout at INFO; freshet prints its own one-line results."""
    for name in list(logging.root.manager.loggerDict):
        if name.startswith("google.cloud.aiplatform"):
            logging.getLogger(name).setLevel(logging.WARNING)


def check_pipeline_root(session: VertexSession) -> None:
    """Checks that the pipeline root's bucket exists (runs write every artifact there).

    Raises:
        ConfigError: The bucket does not exist.
    """
    from google.api_core import exceptions
    from google.cloud import storage

    root = session.gcp.pipeline_root or ""
    bucket = root.removeprefix("gs://").split("/", 1)[0]
    client = storage.Client(project=session.project, credentials=session.credentials)
    try:
        found = client.lookup_bucket(bucket, timeout=30)
    except exceptions.Forbidden:
        return  # the caller may run pipelines without the right to read bucket metadata
    if found is None:
        raise ConfigError(
            f"gcp.pipeline_root: bucket '{bucket}' of '{root}' does not exist; create it with "
            f"'gcloud storage buckets create gs://{bucket} --location={session.region}'."
        )
