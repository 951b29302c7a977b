"""The model registry in Cloud Storage, for runs whose steps share no disk (Vertex).

Layout under `gs://bucket/prefix`::

    <model>/models/<digest>/            model files, addressed by their content
    <model>/versions/<N>/version.json   the version record, pointing at its files
    <model>/aliases/<alias>.json        {"version": N}

Cloud Storage has no locks and no directory renames, so: model files go to a folder named by
their digest (two writers of the same model write the same bytes); a version exists once its
record does, and the record is created only if absent (`if_generation_match=0`), so two
registrations that pick the same number cannot both win (the loser takes the next number);
an alias object is replaced whole in one upload. A reader never sees a half-made version.
"""

from __future__ import annotations

import importlib
import json
import re
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

from freshet.errors import RegistryError
from freshet.registry import MODEL_FILES, ModelVersion, check_model_name, model_digest

_RECORD = re.compile(r"/versions/(\d+)/version\.json$")
_CLAIM_ATTEMPTS = 20


class GcsRegistry:
    """The registry under one `gs://bucket/prefix`."""

    def __init__(self, uri: str, client: Any = None) -> None:
        parsed = urlparse(uri)
        if parsed.scheme != "gs" or not parsed.netloc:
            raise RegistryError(f"The model registry location '{uri}' names no bucket.")
        if client is None:
            from google.auth.exceptions import GoogleAuthError

            try:
                # Imported by name: the package ships no type information for mypy.
                client = importlib.import_module("google.cloud.storage").Client()
            except GoogleAuthError as exc:
                raise RegistryError(f"Cannot reach the model registry at '{uri}': {exc}") from None
        self.uri = uri.rstrip("/")
        self.bucket = client.bucket(parsed.netloc)
        self.prefix = parsed.path.strip("/")

    def _name(self, model: str, *parts: str) -> str:
        return "/".join(p for p in (self.prefix, check_model_name(model), *parts) if p)

    def _read(self, name: str) -> bytes | None:
        from google.api_core.exceptions import GoogleAPIError, NotFound

        try:
            data: bytes = self.bucket.blob(name).download_as_bytes()
        except NotFound:
            return None
        except GoogleAPIError as exc:
            raise RegistryError(f"Cannot read the model registry at '{self.uri}': {exc}") from None
        return data

    def versions(self, model: str) -> list[ModelVersion]:
        """All versions of a model, oldest first."""
        from google.api_core.exceptions import GoogleAPIError

        try:
            blobs = list(self.bucket.list_blobs(prefix=self._name(model, "versions") + "/"))
        except GoogleAPIError as exc:
            raise RegistryError(f"Cannot list the model registry at '{self.uri}': {exc}") from None
        found = []
        for blob in blobs:
            match = _RECORD.search("/" + blob.name)
            if match:
                found.append(self.get(model, int(match.group(1))))
        return sorted(found, key=lambda v: v.version)

    def get(self, model: str, version: int) -> ModelVersion:
        """One version by number."""
        data = self._read(self._name(model, "versions", str(version), "version.json"))
        if data is None:
            raise RegistryError(f"Model '{model}' has no version {version} in '{self.uri}'.")
        return ModelVersion.model_validate_json(data)

    def alias(self, model: str, alias: str) -> ModelVersion | None:
        """The version an alias points to, or None when the alias is not set."""
        name = self._name(model, "aliases", f"{alias}.json")
        data = self._read(name)
        if data is None:
            return None
        try:
            version = int(json.loads(data)["version"])
        except (ValueError, KeyError, TypeError):
            raise RegistryError(f"The alias 'gs://{self.bucket.name}/{name}' is corrupt.") from None
        return self.get(model, version)

    def champion(self, model: str) -> ModelVersion | None:
        """The current champion, or None before the first registration."""
        return self.alias(model, "champion")

    def register(
        self,
        model: str,
        model_dir: str | Path,
        *,
        data_version: str = "",
        run_id: str = "",
        metrics: dict[str, float] | None = None,
        aliases: tuple[str, ...] = ("champion",),
    ) -> ModelVersion:
        """Adds a model as a new version (or finds the identical one) and moves aliases to it.

        Args:
            model: Registered model name.
            model_dir: A directory written by the train step.
            data_version: The data the model was trained on.
            run_id: The run that produced it.
            metrics: Its evaluation metrics.
            aliases: Aliases to point at the version.

        Returns:
            The registered version.

        Raises:
            RegistryError: Cloud Storage refused a read or write, or other writers kept
                taking the next number.
        """
        from google.api_core.exceptions import GoogleAPIError, PreconditionFailed

        digest = model_digest(model_dir)
        files = self._name(model, "models", digest)
        try:
            version = self._find(model, digest)
            if version is None:
                for name in MODEL_FILES:
                    if (Path(model_dir) / name).exists():
                        self.bucket.blob(f"{files}/{name}").upload_from_filename(
                            str(Path(model_dir) / name), checksum="crc32c"
                        )
            for _ in range(_CLAIM_ATTEMPTS):
                if version is not None:
                    break
                number = max((v.version for v in self.versions(model)), default=0) + 1
                record = ModelVersion(
                    model=model,
                    version=number,
                    path=f"gs://{self.bucket.name}/{files}",
                    model_digest=digest,
                    data_version=data_version,
                    run_id=run_id,
                    metrics=metrics or {},
                    created_at=datetime.now(UTC).isoformat(),
                )
                try:
                    self.bucket.blob(
                        self._name(model, "versions", str(number), "version.json")
                    ).upload_from_string(
                        record.model_dump_json(indent=2),
                        content_type="application/json",
                        if_generation_match=0,
                    )
                    version = record
                except PreconditionFailed:
                    version = self._find(model, digest)  # the other writer may have been us
            if version is None:
                raise RegistryError(
                    f"Could not register '{model}' in '{self.uri}': other registrations kept "
                    f"taking the next version number ({_CLAIM_ATTEMPTS} attempts)."
                )
            for alias in aliases:
                self.bucket.blob(self._name(model, "aliases", f"{alias}.json")).upload_from_string(
                    json.dumps({"version": version.version}), content_type="application/json"
                )
        except GoogleAPIError as exc:
            raise RegistryError(f"Cannot write the model registry at '{self.uri}': {exc}") from None
        return version

    def _find(self, model: str, digest: str) -> ModelVersion | None:
        return next((v for v in self.versions(model) if v.model_digest == digest), None)
