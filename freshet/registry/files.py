"""The file registry: numbered versions and movable aliases under one local directory.

Layout::

    <model>/versions/<N>/          model files (`MODEL_FILES`) and version.json
    <model>/aliases/<alias>.json   {"version": N}

Writes take an exclusive lock on `<model>/.lock`, copy a version into a temporary folder
before renaming it into place, and replace alias files atomically, so a reader never sees
a half-written version and a crash leaves the registry as it was.
"""

from __future__ import annotations

import fcntl
import json
import os
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from freshet.atomic import write_file
from freshet.errors import RegistryError
from freshet.registry.base import (
    MODEL_FILES,
    Describe,
    ModelVersion,
    Registry,
    check_model_name,
)


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
