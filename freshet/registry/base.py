"""The registry seam: a model version's record and the store-independent `Registry` base.

Stores (one module each): `freshet.registry.files` (a local directory),
`freshet.registry.gcs` (Cloud Storage), `freshet.registry.vertex` (Vertex AI Model Registry).
"""

from __future__ import annotations

import hashlib
import re
from abc import ABC, abstractmethod
from collections.abc import Callable
from contextlib import AbstractContextManager
from datetime import UTC, datetime
from pathlib import Path

from pydantic import BaseModel

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
