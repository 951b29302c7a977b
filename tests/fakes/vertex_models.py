"""ModelService of the Vertex fake: models, versions, aliases and imported evaluations.

Behaviour kept from the real service: the first version of a model is its `default`; a later
version is default only when its upload names `default` among its aliases; an alias is held by
one version at a time, so MergeVersionAliases moves it (and `-alias` removes it; `default`
cannot be removed); `name@N` and `name@alias` address a version, the bare name the default
one; a repeated model id is ALREADY_EXISTS; the default version cannot be deleted while
others exist; uploads and deletes are long-running operations returned done.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import grpc
from google.cloud import aiplatform_v1 as v1
from google.longrunning import operations_pb2
from google.protobuf import any_pb2, empty_pb2

MODEL_SERVICE = "google.cloud.aiplatform.v1.ModelService"
Unary = Callable[[str, Callable[[Any, grpc.ServicerContext], Any], Any, Any], Any]
_ALIAS = re.compile(r"^[a-z][a-z0-9-]{0,126}[a-z0-9]$")


def done_operation(name: str, response: Any = None) -> operations_pb2.Operation:
    """A finished long-running operation carrying `response` (proto-plus), or Empty."""
    packed = any_pb2.Any()
    packed.Pack(type(response).pb(response) if response is not None else empty_pb2.Empty())
    return operations_pb2.Operation(name=f"{name}/operations/1", done=True, response=packed)


def label_filter(text: str) -> Callable[[Any], bool]:
    """A predicate for the label filters Vertex list methods take (AND of `labels.K="V"`,
    `labels.K:*`); ValueError for anything else."""
    tests: list[Callable[[Any], bool]] = []
    for clause in filter(None, (c.strip() for c in text.split(" AND "))):
        if match := re.fullmatch(r'labels\.([a-z0-9_-]+)\s*=\s*"?([^"]*)"?', clause):
            key, value = match.groups()
            tests.append(lambda item, k=key, v=value: dict(item.labels).get(k) == v)
        elif match := re.fullmatch(r"labels\.([a-z0-9_-]+):\*", clause):
            present = match.group(1)
            tests.append(lambda item, k=present: k in dict(item.labels))
        else:
            raise ValueError(f"unsupported filter clause: {clause}")
    return lambda item: all(test(item) for test in tests)


@dataclass
class _Model:
    versions: list[v1.Model] = field(default_factory=list)
    evaluations: dict[str, list[v1.ModelEvaluation]] = field(default_factory=dict)


class FakeModels:
    """Stored models, their versions and evaluations."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._models: dict[str, _Model] = {}
        self._count = 0

    def reset(self) -> None:
        """Forgets every model."""
        with self._lock:
            self._models.clear()

    def versions(self, name: str) -> list[v1.Model]:
        """The stored versions of a model (`projects/P/locations/L/models/ID`), oldest first."""
        with self._lock:
            entry = self._models.get(name)
            return [v1.Model(m) for m in entry.versions] if entry else []

    def evaluations(self, name: str, version: str) -> list[v1.ModelEvaluation]:
        """The evaluations imported for a version."""
        with self._lock:
            entry = self._models.get(name)
            return list(entry.evaluations.get(version, [])) if entry else []

    def resolve(self, name: str) -> v1.Model | None:
        """The version `name`, `name@N` or `name@alias` addresses, or None."""
        with self._lock:
            found = self._find(name)
            return v1.Model(found) if found is not None else None

    def handler(self, unary: Unary) -> grpc.GenericRpcHandler:
        """The ModelService handler, its methods wrapped by the fake's `unary`."""
        op = operations_pb2.Operation.SerializeToString
        methods = {
            "UploadModel": unary("UploadModel", self._upload, v1.UploadModelRequest, op),
            "GetModel": unary("GetModel", self._get, v1.GetModelRequest, v1.Model.serialize),
            "ListModelVersions": unary(
                "ListModelVersions",
                self._list_versions,
                v1.ListModelVersionsRequest,
                v1.ListModelVersionsResponse.serialize,
            ),
            "MergeVersionAliases": unary(
                "MergeVersionAliases",
                self._merge,
                v1.MergeVersionAliasesRequest,
                v1.Model.serialize,
            ),
            "DeleteModel": unary("DeleteModel", self._delete, v1.DeleteModelRequest, op),
            "DeleteModelVersion": unary(
                "DeleteModelVersion", self._delete_version, v1.DeleteModelVersionRequest, op
            ),
            "ImportModelEvaluation": unary(
                "ImportModelEvaluation",
                self._import_evaluation,
                v1.ImportModelEvaluationRequest,
                v1.ModelEvaluation.serialize,
            ),
            "ListModelEvaluations": unary(
                "ListModelEvaluations",
                self._list_evaluations,
                v1.ListModelEvaluationsRequest,
                v1.ListModelEvaluationsResponse.serialize,
            ),
        }
        return grpc.method_handlers_generic_handler(MODEL_SERVICE, methods)

    # Lookups (under the lock) -------------------------------------------------------------

    def _find(self, name: str) -> v1.Model | None:
        base, _, version = name.partition("@")
        entry = self._models.get(base)
        if entry is None:
            return None
        wanted = version or "default"
        for model in entry.versions:
            if model.version_id == wanted or wanted in model.version_aliases:
                return model
        return None

    def _existing(self, name: str, context: grpc.ServicerContext) -> v1.Model:
        found = self._find(name)
        if found is None:
            context.abort(grpc.StatusCode.NOT_FOUND, f"Model {name} not found.")
        return found

    # Methods ------------------------------------------------------------------------------

    def _upload(
        self, request: v1.UploadModelRequest, context: grpc.ServicerContext
    ) -> operations_pb2.Operation:
        model = v1.Model(request.model)
        aliases = list(model.version_aliases)
        if not model.display_name:
            context.abort(grpc.StatusCode.INVALID_ARGUMENT, "display_name is required.")
        if any(not _ALIAS.match(a) for a in aliases):
            context.abort(grpc.StatusCode.INVALID_ARGUMENT, f"invalid version aliases {aliases}")
        with self._lock:
            if request.parent_model:
                entry = self._models.get(request.parent_model)
                if entry is None:
                    context.abort(
                        grpc.StatusCode.NOT_FOUND, f"Model {request.parent_model} not found."
                    )
                name = request.parent_model
            else:
                self._count += 1
                name = f"{request.parent}/models/{request.model_id or self._count}"
                if name in self._models:
                    context.abort(grpc.StatusCode.ALREADY_EXISTS, f"Model {name} already exists.")
                entry = self._models[name] = _Model()
                aliases = [*aliases, "default"] if "default" not in aliases else aliases
            number = (
                str(len(entry.versions) + 1)
                if not entry.versions
                else str(max(int(m.version_id) for m in entry.versions) + 1)
            )
            for alias in aliases:
                for other in entry.versions:
                    if alias in other.version_aliases:
                        other.version_aliases.remove(alias)
            now = datetime.now(UTC)
            model.name = name
            model.version_id = number
            if model.container_spec.image_uri:  # what Vertex gives a custom container
                dedicated = v1.Model.DeploymentResourcesType.DEDICATED_RESOURCES
                model.supported_deployment_resources_types = [dedicated]
            model.version_aliases = aliases
            model.create_time = model.create_time or now
            model.version_create_time = now
            model.version_update_time = now
            entry.versions.append(model)
            entry.evaluations[number] = []
        response = v1.UploadModelResponse(model=name, model_version_id=number)
        return done_operation(name, response)

    def _get(self, request: v1.GetModelRequest, context: grpc.ServicerContext) -> v1.Model:
        with self._lock:
            return v1.Model(self._existing(request.name, context))

    def _list_versions(
        self, request: v1.ListModelVersionsRequest, context: grpc.ServicerContext
    ) -> v1.ListModelVersionsResponse:
        try:
            keep = label_filter(request.filter)
        except ValueError as exc:
            context.abort(grpc.StatusCode.INVALID_ARGUMENT, str(exc))
        with self._lock:
            entry = self._models.get(request.name)
            if entry is None:
                context.abort(grpc.StatusCode.NOT_FOUND, f"Model {request.name} not found.")
            found = [v1.Model(m) for m in entry.versions if keep(m)]
        return v1.ListModelVersionsResponse(models=found)

    def _merge(
        self, request: v1.MergeVersionAliasesRequest, context: grpc.ServicerContext
    ) -> v1.Model:
        changes = list(request.version_aliases)
        if "-default" in changes:
            context.abort(grpc.StatusCode.INVALID_ARGUMENT, "The default alias cannot be removed.")
        if any(not _ALIAS.match(a.removeprefix("-")) for a in changes):
            context.abort(grpc.StatusCode.INVALID_ARGUMENT, f"invalid version aliases {changes}")
        with self._lock:
            target = self._existing(request.name, context)
            entry = self._models[request.name.partition("@")[0]]
            for change in changes:  # applied together, under one lock: atomic for readers
                if change.startswith("-"):
                    if change[1:] in target.version_aliases:
                        target.version_aliases.remove(change[1:])
                    continue
                for other in entry.versions:
                    if change in other.version_aliases and other is not target:
                        other.version_aliases.remove(change)
                if change not in target.version_aliases:
                    target.version_aliases.append(change)
            target.version_update_time = datetime.now(UTC)
            return v1.Model(target)

    def _delete(
        self, request: v1.DeleteModelRequest, context: grpc.ServicerContext
    ) -> operations_pb2.Operation:
        with self._lock:
            if request.name not in self._models:
                context.abort(grpc.StatusCode.NOT_FOUND, f"Model {request.name} not found.")
            del self._models[request.name]
        return done_operation(request.name)

    def _delete_version(
        self, request: v1.DeleteModelVersionRequest, context: grpc.ServicerContext
    ) -> operations_pb2.Operation:
        with self._lock:
            target = self._existing(request.name, context)
            entry = self._models[request.name.partition("@")[0]]
            if "default" in target.version_aliases and len(entry.versions) > 1:
                context.abort(
                    grpc.StatusCode.FAILED_PRECONDITION,
                    "The default version of a model cannot be deleted.",
                )
            entry.versions.remove(target)
        return done_operation(request.name)

    def _import_evaluation(
        self, request: v1.ImportModelEvaluationRequest, context: grpc.ServicerContext
    ) -> v1.ModelEvaluation:
        evaluation = v1.ModelEvaluation(request.model_evaluation)
        if not evaluation.metrics_schema_uri:
            context.abort(grpc.StatusCode.INVALID_ARGUMENT, "metrics_schema_uri is required.")
        with self._lock:
            target = self._existing(request.parent, context)
            entry = self._models[request.parent.partition("@")[0]]
            found = entry.evaluations[target.version_id]
            evaluation.name = f"{target.name}/evaluations/{len(found) + 1}"
            evaluation.create_time = datetime.now(UTC)
            found.append(evaluation)
            return v1.ModelEvaluation(evaluation)

    def _list_evaluations(
        self, request: v1.ListModelEvaluationsRequest, context: grpc.ServicerContext
    ) -> v1.ListModelEvaluationsResponse:
        with self._lock:
            target = self._existing(request.parent, context)
            entry = self._models[request.parent.partition("@")[0]]
            found = list(entry.evaluations[target.version_id])
        return v1.ListModelEvaluationsResponse(model_evaluations=found)
