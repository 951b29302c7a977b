"""The model registry: numbered versions and movable aliases (`champion`).

`open_registry` picks the store by location: this module's file registry for a local path,
`freshet.registry_gcs` for a `gs://` URI (Vertex runs). The file registry's layout::

    <model>/versions/<N>/          model files (`MODEL_FILES`) and version.json
    <model>/aliases/<alias>.json   {"version": N}

Writes take an exclusive lock on `<model>/.lock`, copy a version into a temporary folder
before renaming it into place, and replace alias files atomically, so a reader never sees
a half-written version and a crash leaves the registry as it was.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import re
import shutil
import tempfile
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

from pydantic import BaseModel

from freshet.atomic import write_file
from freshet.errors import BadInput, RegistryError

# A version stores the contract model (what every step after training reads) and, when the
# trainer wrote them, the extras; only the contract files make two models the same.
CONTRACT_FILES = ("model.onnx", "signature.json")
EXTRA_FILES = ("training.json",)
MODEL_FILES = CONTRACT_FILES + EXTRA_FILES
_NAME = re.compile(r"^[a-z0-9][a-z0-9_.-]{0,62}$")


class ModelVersion(BaseModel):
    """One registered model version."""

    model: str
    version: int
    path: str
    model_digest: str
    data_version: str = ""
    run_id: str = ""
    metrics: dict[str, float] = {}
    created_at: str = ""


def model_digest(model_dir: str | Path) -> str:
    """Content hash of a model directory's contract files (what makes two models the same).

    Raises:
        BadInput: The directory lacks `model.onnx` or `signature.json`.
    """
    digest = hashlib.sha256()
    for name in CONTRACT_FILES:
        path = Path(model_dir) / name
        if not path.is_file():
            raise BadInput(f"'{model_dir}' does not hold a model: '{name}' is missing.")
        digest.update(name.encode() + b"\0" + path.read_bytes())
    return f"sha256-{digest.hexdigest()[:16]}"


def check_model_name(model: str) -> str:
    """Returns the name, or raises RegistryError naming it when it is not a valid name."""
    if not _NAME.match(model):
        raise RegistryError(
            f"Model name '{model}' is not valid: use lowercase letters, digits, '-', '_' or '.'."
        )
    return model


# Makes the record of a new version from its number and where its files are.
Describe = Callable[[int, str], ModelVersion]


class Registry(ABC):
    """Numbered versions of a model and movable aliases; subclasses say how they are stored."""

    @abstractmethod
    def versions(self, model: str) -> list[ModelVersion]:
        """All versions of a model, oldest first."""

    @abstractmethod
    def get(self, model: str, version: int) -> ModelVersion:
        """One version by number."""

    @abstractmethod
    def alias(self, model: str, alias: str) -> ModelVersion | None:
        """The version an alias points to, or None when the alias is not set."""

    def champion(self, model: str) -> ModelVersion | None:
        """The current champion, or None before the first registration."""
        return self.alias(model, "champion")

    @abstractmethod
    def model_files(self, version: ModelVersion) -> AbstractContextManager[Path]:
        """A local directory holding a version's model files, for as long as the context lasts.

        A store that keeps files elsewhere downloads them into a temporary directory and
        removes it when the context ends; treat the directory as read-only.

        Raises:
            RegistryError: The version's files cannot be found or read.
        """

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

        Registering the same model files twice gives one version: the second call only
        moves the aliases.

        Args:
            model: Registered model name.
            model_dir: A contract model directory (`model.onnx`, `signature.json`).
            data_version: The data the model was trained on.
            run_id: The run that produced it.
            metrics: Its evaluation metrics.
            aliases: Aliases to point at the version.

        Returns:
            The registered version.

        Raises:
            BadInput: `model_dir` does not hold the contract files.
        """
        digest = model_digest(model_dir)

        def record(number: int, path: str) -> ModelVersion:
            return ModelVersion(
                model=model,
                version=number,
                path=path,
                model_digest=digest,
                data_version=data_version,
                run_id=run_id,
                metrics=metrics or {},
                created_at=datetime.now(UTC).isoformat(),
            )

        with self._writing(check_model_name(model)):
            version = self.find(model, digest) or self._add(model, Path(model_dir), digest, record)
            for alias in aliases:
                self._point(model, alias, version.version)
        return version

    def find(self, model: str, digest: str) -> ModelVersion | None:
        """The version with these model files, if any."""
        return next((v for v in self.versions(model) if v.model_digest == digest), None)

    @abstractmethod
    def _writing(self, model: str) -> AbstractContextManager[None]:
        """Held while a registration changes the model's versions and aliases."""

    @abstractmethod
    def _add(self, model: str, model_dir: Path, digest: str, record: Describe) -> ModelVersion:
        """Stores a new version of the files in `model_dir` (record(number, path) describes it)."""

    @abstractmethod
    def _point(self, model: str, alias: str, version: int) -> None:
        """Moves an alias to a version."""


def open_registry(uri: str, client: Any = None) -> Registry:
    """The registry at a location: a local directory or a `gs://bucket/prefix` URI.

    Args:
        uri: The registry location.
        client: A `google.cloud.storage.Client` for gs:// (a default client when None).

    Raises:
        RegistryError: The location is empty or has another scheme.
    """
    if not str(uri).strip():
        raise RegistryError("The model registry location is empty.")
    scheme = urlparse(str(uri)).scheme
    if scheme == "gs":
        from freshet.registry_gcs import GcsRegistry

        return GcsRegistry(str(uri), client)
    if scheme not in ("", "file") and len(scheme) > 1:
        raise RegistryError(
            f"Unknown model registry scheme '{scheme}' in '{uri}'; "
            "use a local directory or gs://bucket/prefix."
        )
    return LocalRegistry(urlparse(str(uri)).path if scheme == "file" else uri)


def _write_json_atomic(path: Path, payload: dict[str, Any]) -> None:
    write_file(path, json.dumps(payload, indent=2, sort_keys=True))


class LocalRegistry(Registry):
    """The registry under one root directory."""

    def __init__(self, root: str | Path) -> None:
        if not str(root):
            raise RegistryError("The model registry location is empty.")
        self.root = Path(root)

    def _model_dir(self, model: str) -> Path:
        return self.root / check_model_name(model)

    def versions(self, model: str) -> list[ModelVersion]:
        """All versions of a model, oldest first."""
        base = self._model_dir(model) / "versions"
        if not base.exists():
            return []
        found = []
        for entry in base.iterdir():
            meta = entry / "version.json"
            if entry.name.isdigit() and meta.exists():
                found.append(ModelVersion.model_validate_json(meta.read_text()))
        return sorted(found, key=lambda v: v.version)

    def get(self, model: str, version: int) -> ModelVersion:
        """One version by number."""
        meta = self._model_dir(model) / "versions" / str(version) / "version.json"
        if not meta.exists():
            raise RegistryError(f"Model '{model}' has no version {version} in '{self.root}'.")
        return ModelVersion.model_validate_json(meta.read_text())

    def alias(self, model: str, alias: str) -> ModelVersion | None:
        """The version an alias points to, or None when the alias is not set."""
        path = self._model_dir(model) / "aliases" / f"{alias}.json"
        if not path.exists():
            return None
        try:
            version = int(json.loads(path.read_text())["version"])
        except (ValueError, KeyError, TypeError):
            raise RegistryError(f"The alias file '{path}' is corrupt.") from None
        return self.get(model, version)

    @contextmanager
    def model_files(self, version: ModelVersion) -> Iterator[Path]:
        """The version's own folder (read it, never change it)."""
        path = Path(version.path)
        if not path.is_dir():
            raise RegistryError(
                f"The files of '{version.model}' version {version.version} are missing "
                f"from '{path}'."
            )
        yield path

    @contextmanager
    def _writing(self, model: str) -> Iterator[None]:
        base = self._model_dir(model)
        (base / "versions").mkdir(parents=True, exist_ok=True)
        (base / "aliases").mkdir(exist_ok=True)
        with open(base / ".lock", "w") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(lock, fcntl.LOCK_UN)

    def _add(self, model: str, model_dir: Path, digest: str, record: Describe) -> ModelVersion:
        versions = self._model_dir(model) / "versions"
        number = max((v.version for v in self.versions(model)), default=0) + 1
        staging = Path(tempfile.mkdtemp(prefix=".staging-", dir=versions))
        try:
            for name in MODEL_FILES:
                if (model_dir / name).exists():
                    shutil.copy2(model_dir / name, staging / name)
            version = record(number, str(versions / str(number)))
            (staging / "version.json").write_text(version.model_dump_json(indent=2))
            os.replace(staging, versions / str(number))
        except BaseException:
            shutil.rmtree(staging, ignore_errors=True)
            raise
        return version

    def _point(self, model: str, alias: str, version: int) -> None:
        path = self._model_dir(model) / "aliases" / f"{alias}.json"
        _write_json_atomic(path, {"version": version})
