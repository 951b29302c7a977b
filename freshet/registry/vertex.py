"""The model registry in the Vertex AI Model Registry: versions, aliases and evaluations.

A freshet model is one Vertex model (its id: the name, '.' as '-'); a freshet version is a
Vertex model version. Its `artifact_uri` is the bundle (or contract model) the registering
step copied to Cloud Storage under `artifacts` (content-addressed: `<model>/<digest>/`);
its container is the serving image with the `AIP_*` routes; its labels carry the digest,
data version, run id, git commit and template version (console filters), and its version
description the exact record (label values are lossy). The evaluation metrics are imported
as a model evaluation so the console shows them.

Versions are uploaded without `default` (the SDK's `is_default_version=True` would take it
from the champion); `champion` and `default` move together by one MergeVersionAliases on the
version, which Vertex applies atomically: no lock is needed between runs.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlparse

from freshet.errors import RegistryError
from freshet.gcp.vertex_clients import (
    VertexLocation,
    current_location,
    gapic_client,
    parse_location,
)
from freshet.registry.base import Describe, ModelVersion, Registry, check_model_name

DIGEST_LABEL = "freshet-digest"
_LABEL_VALUE = re.compile(r"[^a-z0-9_-]+")
_SCHEMA = "gs://google-cloud-aiplatform/schema/modelevaluation/{}_metrics_1.0.0.yaml"
# The aliases that move together: `default` follows `champion`.
_FOLLOWERS = {"champion": ("champion", "default")}


def label_value(text: str) -> str:
    """A Vertex label value: lowercase letters, digits, '_' and '-', at most 63 characters."""
    return _LABEL_VALUE.sub("-", text.lower())[:63]


def vertex_model_id(model: str) -> str:
    """The Vertex model id of a freshet model name."""
    model_id = check_model_name(model).replace(".", "-")
    if not model_id[0].isalpha():
        raise RegistryError(
            f"Model name '{model}' cannot name a Vertex AI model: it must start with a letter."
        )
    return model_id


@dataclass(frozen=True)
class UploadOptions:
    """How a new version is uploaded: its serving container and the labels it carries."""

    serving_image: str = ""
    health_route: str = "/health"
    predict_route: str = "/predict"
    command: tuple[str, ...] = ()
    labels: dict[str, str] = field(default_factory=dict)
    git_commit: str = ""
    template_version: str = ""


def parse_uri(uri: str) -> tuple[VertexLocation | None, str]:
    """The location and artifact root of `vertex[://projects/P/locations/L][?artifacts=gs://..]`.

    Raises:
        RegistryError: The location or the artifact root is malformed.
    """
    parsed = urlparse(uri)
    if parsed.scheme not in ("", "vertex") or (not parsed.scheme and parsed.path != "vertex"):
        raise RegistryError(f"'{uri}' is not a Vertex AI Model Registry location.")
    where = (parsed.netloc + parsed.path) if parsed.scheme else ""
    artifacts = parse_qs(parsed.query).get("artifacts", [""])[0]
    if artifacts and not re.match(r"^gs://[a-z0-9][a-z0-9._-]{1,221}(/.*)?$", artifacts):
        raise RegistryError(f"The artifact root '{artifacts}' of '{uri}' is not a gs:// URI.")
    try:
        return parse_location(where, "The Vertex AI Model Registry location"), artifacts
    except Exception as exc:
        raise RegistryError(str(exc)) from None


class VertexRegistry(Registry):
    """The Vertex AI Model Registry of one project and region."""

    def __init__(
        self,
        uri: str = "vertex",
        *,
        artifacts: str = "",
        options: UploadOptions | None = None,
        storage_client: Any = None,
    ) -> None:
        location, from_uri = parse_uri(uri)
        self.uri = uri
        self.artifacts = (artifacts or from_uri).rstrip("/")
        self.options = options or UploadOptions()
        self._location = location
        self._storage = storage_client
        self._client: Any = None

    # Plumbing -----------------------------------------------------------------------------

    @property
    def location(self) -> VertexLocation:
        """Where the models are (the SDK's project and region unless the URI names them)."""
        try:
            return current_location(self._location)
        except Exception as exc:
            raise RegistryError(str(exc)) from None

    @property
    def client(self) -> Any:
        """The gapic ModelServiceClient."""
        if self._client is None:
            self._client = gapic_client("ModelServiceClient", self.location.region)
        return self._client

    def storage(self) -> Any:
        """The Cloud Storage client bundles are written and read with."""
        if self._storage is None:
            import importlib

            from google.cloud.aiplatform import initializer

            self._storage = importlib.import_module("google.cloud.storage").Client(
                project=self.location.project, credentials=initializer.global_config.credentials
            )
        return self._storage

    def resource(self, model: str) -> str:
        """`projects/P/locations/L/models/ID`."""
        return f"{self.location.parent}/models/{vertex_model_id(model)}"

    @contextmanager
    def _calls(self, what: str) -> Iterator[None]:
        from google.api_core.exceptions import GoogleAPIError, NotFound

        try:
            yield
        except NotFound:
            raise  # the callers that expect it say what it means
        except GoogleAPIError as exc:
            raise RegistryError(
                f"Cannot {what} in the Vertex AI Model Registry ({self.location.parent}): "
                f"{exc.message if hasattr(exc, 'message') else exc}"
            ) from None

    def _record(self, model: str, found: Any) -> ModelVersion:
        try:
            saved = json.loads(found.version_description or "{}")
        except ValueError:
            saved = {}
        labels = dict(found.labels)
        return ModelVersion(
            model=model,
            version=int(found.version_id),
            path=found.artifact_uri,
            model_digest=str(saved.get("model_digest", labels.get(DIGEST_LABEL, ""))),
            data_version=str(saved.get("data_version", labels.get("data-version", ""))),
            run_id=str(saved.get("run_id", labels.get("run-id", ""))),
            metrics={k: float(v) for k, v in dict(saved.get("metrics", {})).items()},
            created_at=found.version_create_time.isoformat() if found.version_create_time else "",
        )

    def _get(self, model: str, version: str) -> Any:
        from google.api_core.exceptions import NotFound

        try:
            with self._calls(f"read '{model}'"):
                return self.client.get_model(name=f"{self.resource(model)}@{version}")
        except NotFound:
            return None

    # Reading ------------------------------------------------------------------------------

    def versions(self, model: str) -> list[ModelVersion]:
        """All versions of a model, oldest first."""
        from google.api_core.exceptions import NotFound

        try:
            with self._calls(f"list the versions of '{model}'"):
                found = list(self.client.list_model_versions(name=self.resource(model)))
        except NotFound:
            return []
        return sorted((self._record(model, m) for m in found), key=lambda v: v.version)

    def get(self, model: str, version: int) -> ModelVersion:
        """One version by number."""
        found = self._get(model, str(version))
        if found is None:
            raise RegistryError(f"Model '{model}' has no version {version} in '{self.uri}'.")
        return self._record(model, found)

    def alias(self, model: str, alias: str) -> ModelVersion | None:
        """The version an alias points to, or None when the alias is not set."""
        found = self._get(model, alias)
        return None if found is None else self._record(model, found)

    def aliases(self, model: str, version: int) -> list[str]:
        """The aliases a version holds (`default` included)."""
        found = self._get(model, str(version))
        return [] if found is None else list(found.version_aliases)

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
        """As `Registry.register`, and the evaluation is imported if the version has none.

        A version found by its files (the candidate verification uploaded) gets its
        evaluation here.
        """
        version = super().register(
            model,
            model_dir,
            data_version=data_version,
            run_id=run_id,
            metrics=metrics,
            aliases=aliases,
        )
        if metrics and not self.evaluations(model, version.version):
            with self._calls(f"import the evaluation of '{model}'"):
                name = f"{self.resource(model)}@{version.version}"
                self._import_evaluation(name, version.model_copy(update={"metrics": metrics}))
        return version

    def find(self, model: str, digest: str) -> ModelVersion | None:
        """The version with these model files, if any (by its digest label)."""
        from google.api_core.exceptions import NotFound

        request = {"name": self.resource(model), "filter": f'labels.{DIGEST_LABEL}="{digest}"'}
        try:
            with self._calls(f"list the versions of '{model}'"):
                found = list(self.client.list_model_versions(request=request))
        except NotFound:
            return None
        records = sorted((self._record(model, m) for m in found), key=lambda v: v.version)
        return next((v for v in records if v.model_digest == digest), None)

    @contextmanager
    def model_files(self, version: ModelVersion) -> Iterator[Path]:
        """The version's model files from its `artifact_uri`, in a temporary directory."""
        from freshet.registry.gcs import downloaded_model_files

        elsewhere = (
            f"The artifact_uri of '{version.model}' version {version.version} is "
            f"'{version.path}', which is not in Cloud Storage."
        )
        with downloaded_model_files(self.storage(), version, elsewhere) as local:
            yield local

    # Writing ------------------------------------------------------------------------------

    @contextmanager
    def _writing(self, model: str) -> Iterator[None]:
        # No lock: uploads make distinct versions and alias merges are atomic in Vertex.
        with self._calls(f"register '{model}'"):
            yield

    def upload_files(self, model: str, model_dir: Path, digest: str) -> str:
        """Copies every file of `model_dir` to `<artifacts>/<model id>/<digest>/`; its URI."""
        if not self.artifacts:
            raise RegistryError(
                f"The Vertex AI Model Registry '{self.uri}' has no Cloud Storage location for "
                "model files: add ?artifacts=gs://BUCKET/PATH to it."
            )
        target = urlparse(f"{self.artifacts}/{vertex_model_id(model)}/{digest}")
        bucket = self.storage().bucket(target.netloc)
        for path in sorted(p for p in model_dir.rglob("*") if p.is_file()):
            name = f"{target.path.strip('/')}/{path.relative_to(model_dir).as_posix()}"
            bucket.blob(name).upload_from_filename(str(path), checksum="crc32c")
        return target.geturl()

    def _labels(self, record: ModelVersion) -> dict[str, str]:
        labels = {
            **self.options.labels,
            "managed-by": "freshet",
            DIGEST_LABEL: label_value(record.model_digest),
            "data-version": label_value(record.data_version),
            "run-id": label_value(record.run_id),
            "git-commit": label_value(self.options.git_commit),
            "template-version": label_value(self.options.template_version),
        }
        return {k: v for k, v in labels.items() if v}

    def _add(self, model: str, model_dir: Path, digest: str, record: Describe) -> ModelVersion:
        from google.api_core.exceptions import AlreadyExists, NotFound
        from google.cloud import aiplatform

        if not self.options.serving_image:
            raise RegistryError(
                f"Uploading '{model}' to the Vertex AI Model Registry needs the serving image "
                "it is served with (serving_image); none was given."
            )
        artifact_uri = self.upload_files(model, model_dir, digest)
        draft = record(0, artifact_uri)
        saved = draft.model_dump(include={"model_digest", "data_version", "run_id", "metrics"})
        options = self.options
        arguments: dict[str, Any] = {
            "serving_container_image_uri": options.serving_image or None,
            "artifact_uri": artifact_uri,
            "display_name": model,
            "version_description": json.dumps(saved, sort_keys=True),
            "serving_container_predict_route": options.predict_route,
            "serving_container_health_route": options.health_route,
            "serving_container_command": list(options.command) or None,
            "labels": self._labels(draft),
            "is_default_version": False,
            "project": self.location.project,
            "location": self.location.region,
        }
        for _ in range(2):  # a new model, or (if another run just made it) a version of it
            exists = False
            try:
                self.client.get_model(name=self.resource(model))
                exists = True
            except NotFound:
                pass
            where = {"parent_model": self.resource(model)} if exists else {}
            where = where or {"model_id": vertex_model_id(model)}
            try:
                uploaded = aiplatform.Model.upload(**arguments, **where)
                break
            except AlreadyExists:
                continue
        else:
            raise RegistryError(f"Could not create the Vertex AI model of '{model}'.")
        version = self._record(model, uploaded.gca_resource)
        self._import_evaluation(uploaded.versioned_resource_name, version)
        return version

    def _import_evaluation(self, name: str, version: ModelVersion) -> None:
        import importlib

        from google.cloud import aiplatform_v1

        if not version.metrics:
            return
        json_format = importlib.import_module("google.protobuf.json_format")
        struct_pb2 = importlib.import_module("google.protobuf.struct_pb2")
        kind = "classification" if "accuracy" in version.metrics else "regression"
        metrics = json_format.ParseDict(version.metrics, struct_pb2.Value())
        evaluation = aiplatform_v1.ModelEvaluation(
            display_name=f"freshet-{version.run_id or version.version}",
            metrics_schema_uri=_SCHEMA.format(kind),
            metrics=metrics,
        )
        self.client.import_model_evaluation(parent=name, model_evaluation=evaluation)

    def _point(self, model: str, alias: str, version: int) -> None:
        self.client.merge_version_aliases(
            name=f"{self.resource(model)}@{version}",
            version_aliases=list(_FOLLOWERS.get(alias, (alias,))),
        )

    def evaluations(self, model: str, version: int) -> list[dict[str, Any]]:
        """The metrics of every evaluation imported for a version."""
        import importlib

        json_format = importlib.import_module("google.protobuf.json_format")
        with self._calls(f"read the evaluations of '{model}'"):
            found = self.client.list_model_evaluations(parent=f"{self.resource(model)}@{version}")
            return [json_format.MessageToDict(e._pb.metrics) for e in found]

    def sdk_model(self, model: str, version: int) -> Any:
        """The SDK `Model` of one version (what `Endpoint.deploy` takes)."""
        from google.cloud import aiplatform

        with self._calls(f"read '{model}' version {version}"):
            return aiplatform.Model(
                self.resource(model),
                version=str(version),
                project=self.location.project,
                location=self.location.region,
            )

    def delete_version(self, model: str, version: int) -> None:
        """Deletes one version (not the default one: Vertex refuses that)."""
        with self._calls(f"delete '{model}' version {version}"):
            self.client.delete_model_version(name=f"{self.resource(model)}@{version}").result()
