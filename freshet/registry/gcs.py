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
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

from freshet.errors import RegistryError
from freshet.registry.base import MODEL_FILES, Describe, ModelVersion, Registry, check_model_name

_RECORD = re.compile(r"/versions/(\d+)/version\.json$")
_CLAIM_ATTEMPTS = 20


class GcsRegistry(Registry):
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
        self.client = client
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

    @contextmanager
    def model_files(self, version: ModelVersion) -> Iterator[Path]:
        """The version's model files, downloaded into a temporary directory removed after."""
        elsewhere = (
            f"The record of '{version.model}' version {version.version} in '{self.uri}' "
            f"points at '{version.path}', which is not in Cloud Storage."
        )
        with downloaded_model_files(self.client, version, elsewhere) as local:
            yield local

    @contextmanager
    def _writing(self, model: str) -> Iterator[None]:
        # No lock: the create-only version record is what keeps two writers apart.
        from google.api_core.exceptions import GoogleAPIError

        try:
            yield
        except GoogleAPIError as exc:
            raise RegistryError(f"Cannot write the model registry at '{self.uri}': {exc}") from None

    def _add(self, model: str, model_dir: Path, digest: str, record: Describe) -> ModelVersion:
        from google.api_core.exceptions import PreconditionFailed

        files = self._name(model, "models", digest)
        for name in MODEL_FILES:
            if (model_dir / name).exists():
                self.bucket.blob(f"{files}/{name}").upload_from_filename(
                    str(model_dir / name), checksum="crc32c"
                )
        for _ in range(_CLAIM_ATTEMPTS):
            number = max((v.version for v in self.versions(model)), default=0) + 1
            version = record(number, f"gs://{self.bucket.name}/{files}")
            try:
                self.bucket.blob(
                    self._name(model, "versions", str(number), "version.json")
                ).upload_from_string(
                    version.model_dump_json(indent=2),
                    content_type="application/json",
                    if_generation_match=0,
                )
                return version
            except PreconditionFailed:
                found = self.find(model, digest)  # the other writer may have had these files
                if found is not None:
                    return found
        raise RegistryError(
            f"Could not register '{model}' in '{self.uri}': other registrations kept "
            f"taking the next version number ({_CLAIM_ATTEMPTS} attempts)."
        )

    def _point(self, model: str, alias: str, version: int) -> None:
        self.bucket.blob(self._name(model, "aliases", f"{alias}.json")).upload_from_string(
            json.dumps({"version": version}), content_type="application/json"
        )


@contextmanager
def downloaded_model_files(client: Any, version: ModelVersion, elsewhere: str) -> Iterator[Path]:
    """The model files in the Cloud Storage folder `version.path`, in a temporary directory.

    Args:
        client: A `google.cloud.storage.Client`.
        version: The version whose files are read.
        elsewhere: The sentence for a `version.path` that is not a gs:// folder.

    Yields:
        The directory, removed when the block ends.

    Raises:
        RegistryError: The path is not in Cloud Storage, or its files cannot be read or are gone.
    """
    from google.api_core.exceptions import GoogleAPIError

    where = urlparse(version.path)
    if where.scheme != "gs" or not where.netloc:
        raise RegistryError(elsewhere)
    folder = where.path.strip("/")
    scratch = Path(tempfile.mkdtemp(prefix="freshet-registry-"))
    try:
        local = scratch / f"{check_model_name(version.model)}-v{version.version}"
        local.mkdir()
        try:
            bucket = client.bucket(where.netloc)
            stored = {b.name for b in bucket.list_blobs(prefix=folder + "/")}
            for name in MODEL_FILES:
                if f"{folder}/{name}" in stored:
                    bucket.blob(f"{folder}/{name}").download_to_filename(str(local / name))
        except GoogleAPIError as exc:
            raise RegistryError(
                f"Cannot read the files of '{version.model}' version {version.version} "
                f"from '{version.path}': {exc}"
            ) from None
        if not stored:
            raise RegistryError(
                f"The files of '{version.model}' version {version.version} are missing "
                f"from '{version.path}'."
            )
        yield local
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
