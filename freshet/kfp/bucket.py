"""A run's output files as upstream Kubeflow Pipelines leaves them under a `gs://` pipeline root.

Upstream KFP (2.x up to 2.17.0) serves no artifact API, but its driver gives every output
artifact a URI under the pipeline root that can be found again (kubeflow/pipelines
`backend/src/v2/metadata/client.go` `GenerateOutputURI` and `GetPipeline`,
`backend/src/v2/driver/driver.go` `provisionOutputs`, `container.go`; tag 2.17.0, commit
4a3592cb2dd0a91a4652ab93893ec8beda1f3158)::

    <pipeline_root>/<pipeline name>/<KFP run id>/<task name>/<uuid4>/<output name>

The uuid is drawn per task execution (since 2.4.0; 2.2 and 2.3 had none), so freshet lists the
run's prefix once and picks a task's file by its path segments. A cached task reused an
earlier run's outputs, whose files stay under that run's prefix: not found here.
"""

from __future__ import annotations

import importlib
from collections.abc import Iterable
from datetime import datetime
from typing import Any

from freshet.errors import FreshetError
from freshet.kfp.client import KfpSession


class RootUnreadable(FreshetError):
    """The run's pipeline root gives nothing to read (not Cloud Storage, refused, empty)."""


def storage_client() -> Any:
    """A google-cloud-storage client with the machine's credentials (or the emulator's).

    Raises:
        FreshetError: No credentials.
    """
    from google.auth.exceptions import GoogleAuthError

    try:
        # Imported by name: the package ships no type information for mypy.
        return importlib.import_module("google.cloud.storage").Client()
    except GoogleAuthError as exc:
        raise FreshetError(f"Cloud Storage cannot be reached: {exc}") from None


def run_pipeline_root(session: KfpSession, run: Any, spec: dict[str, Any]) -> str:
    """The pipeline root a run's driver used: the run's own, the spec's default, freshet's."""
    config = run.runtime_config
    root = (config.pipeline_root if config is not None else None) or spec.get("defaultPipelineRoot")
    return str(root or session.kfp.pipeline_root or "")


def run_spec(session: KfpSession, run: Any) -> dict[str, Any]:
    """A run's pipeline spec: sent with the run, or the stored version's it runs by reference."""
    import json

    spec = run.pipeline_spec
    reference = run.pipeline_version_reference
    if not spec and reference is not None and reference.pipeline_version_id:
        version = session.call(
            f"read pipeline version {reference.pipeline_version_id}",
            session.client.get_pipeline_version,
            pipeline_id=reference.pipeline_id,
            pipeline_version_id=reference.pipeline_version_id,
        )
        spec = version.pipeline_spec
    if isinstance(spec, str):
        spec = json.loads(spec)
    if (
        isinstance(spec, dict)
        and "root" not in spec
        and isinstance(spec.get("pipeline_spec"), dict)
    ):
        spec = spec["pipeline_spec"]  # stored together with its platform spec
    return spec if isinstance(spec, dict) else {}


def output_file(names: Iterable[tuple[str, datetime | None]], task: str, output: str) -> str | None:
    """The newest object that is a task's output file, or None.

    Args:
        names: `(name relative to the run's prefix, updated)` of each object.
        task: The task name (the second path segment under the run).
        output: The output name: the file is `<task>/<uuid>/<output>` (`<task>/<output>`
            before KFP 2.4).
    """
    found: list[tuple[datetime | None, str]] = []
    for name, updated in names:
        parts = name.split("/")
        if parts[0] == task and parts[-1] == output and len(parts) in (2, 3):
            found.append((updated, name))
    if not found:
        return None
    return max(found, key=lambda f: (f[0] is not None, f[0] or datetime.min, f[1]))[1]


class RunFolder:
    """The objects of one run under its `gs://` pipeline root, listed once."""

    def __init__(self, session: KfpSession, run: Any) -> None:
        self.session = session
        self.run = run
        self._blobs: dict[str, Any] | None = None
        self.prefix = ""

    def _list(self) -> dict[str, Any]:
        if self._blobs is not None:
            return self._blobs
        from google.api_core.exceptions import GoogleAPIError

        spec = run_spec(self.session, self.run)
        root = run_pipeline_root(self.session, self.run, spec).split("?")[0].rstrip("/")
        if not root.startswith("gs://"):
            raise RootUnreadable(
                f"it serves no artifact API, and the run's pipeline root {root or '(none)'} is "
                "not Cloud Storage"
            )
        name = str((spec.get("pipelineInfo") or {}).get("name") or "")
        self.prefix = f"{root}/{name}/{self.run.run_id}/"
        bucket, _, key = self.prefix.removeprefix("gs://").partition("/")
        try:
            blobs = list(storage_client().list_blobs(bucket, prefix=key))
        except (FreshetError, GoogleAPIError, OSError) as exc:  # no bucket, no access: once
            reason = str(exc).rstrip(".")
            raise RootUnreadable(
                f"it serves no artifact API, and {self.prefix} cannot be listed: {reason}"
            ) from None
        self._blobs = {str(b.name).removeprefix(key): b for b in blobs}
        if not self._blobs:
            raise RootUnreadable(f"it serves no artifact API, and {self.prefix} holds no files")
        return self._blobs

    def read(self, task: str, output: str) -> bytes:
        """The bytes of a task's output file.

        Raises:
            RootUnreadable: The pipeline root is not `gs://`, the run's prefix cannot be listed
                or is empty.
            FreshetError: The file is not there or cannot be read.
        """
        from google.api_core.exceptions import GoogleAPIError

        blobs = self._list()
        name = output_file(((n, b.updated) for n, b in blobs.items()), task, output)
        if name is None:
            raise FreshetError(
                f"no {task}/*/{output} file under {self.prefix}; a task the cache answered "
                "left its file under the run that made it"
            )
        try:
            data: bytes = blobs[name].download_as_bytes()
        except (GoogleAPIError, OSError) as exc:
            raise FreshetError(f"{self.prefix}{name} cannot be read: {exc}") from None
        return data
