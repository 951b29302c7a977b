"""MetadataService of the Vertex fake: the default store, contexts, and context children.

What Vertex AI Experiments need from it: the `default` metadata store (GetMetadataStore,
CreateMetadataStore), experiment contexts (GetContext, CreateContext: a repeated id is
ALREADY_EXISTS), and AddContextChildren, by which a pipeline run's `system.PipelineRun`
context becomes a run of an experiment. Pipeline jobs register their run context here when
they are created (`pipeline_run_context`), as Vertex does once a job starts.
"""

from __future__ import annotations

import threading
from datetime import UTC, datetime

import grpc
from google.cloud import aiplatform_v1 as v1
from google.longrunning import operations_pb2

from tests.fakes.vertex_models import Unary, done_operation

METADATA_SERVICE = "google.cloud.aiplatform.v1.MetadataService"


class FakeMetadata:
    """Stored metadata stores and contexts, and which contexts are children of which."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._stores: dict[str, v1.MetadataStore] = {}
        self._contexts: dict[str, v1.Context] = {}
        self._children: dict[str, list[str]] = {}

    def reset(self) -> None:
        """Forgets everything."""
        with self._lock:
            self._stores.clear()
            self._contexts.clear()
            self._children.clear()

    def children(self, context: str) -> list[str]:
        """The child contexts of a context."""
        with self._lock:
            return list(self._children.get(context, []))

    def context(self, name: str) -> v1.Context | None:
        """A stored context."""
        with self._lock:
            found = self._contexts.get(name)
            return v1.Context(found) if found is not None else None

    def pipeline_run_context(self, parent: str, job_id: str) -> v1.Context:
        """Creates the `system.PipelineRun` context of a new pipeline job."""
        context = v1.Context(
            name=f"{parent}/metadataStores/default/contexts/{job_id}",
            display_name=job_id,
            schema_title="system.PipelineRun",
            schema_version="0.0.1",
        )
        with self._lock:
            self._contexts[context.name] = context
        return v1.Context(context)

    def handler(self, unary: Unary) -> grpc.GenericRpcHandler:
        """The MetadataService handler, its methods wrapped by the fake's `unary`."""
        op = operations_pb2.Operation.SerializeToString
        methods = {
            "GetMetadataStore": unary(
                "GetMetadataStore",
                self._get_store,
                v1.GetMetadataStoreRequest,
                v1.MetadataStore.serialize,
            ),
            "CreateMetadataStore": unary(
                "CreateMetadataStore", self._create_store, v1.CreateMetadataStoreRequest, op
            ),
            "GetContext": unary(
                "GetContext", self._get_context, v1.GetContextRequest, v1.Context.serialize
            ),
            "CreateContext": unary(
                "CreateContext", self._create_context, v1.CreateContextRequest, v1.Context.serialize
            ),
            "AddContextChildren": unary(
                "AddContextChildren",
                self._add_children,
                v1.AddContextChildrenRequest,
                v1.AddContextChildrenResponse.serialize,
            ),
        }
        return grpc.method_handlers_generic_handler(METADATA_SERVICE, methods)

    def _get_store(
        self, request: v1.GetMetadataStoreRequest, context: grpc.ServicerContext
    ) -> v1.MetadataStore:
        with self._lock:
            found = self._stores.get(request.name)
        if found is None:
            context.abort(grpc.StatusCode.NOT_FOUND, f"MetadataStore {request.name} not found.")
        return found

    def _create_store(
        self, request: v1.CreateMetadataStoreRequest, context: grpc.ServicerContext
    ) -> operations_pb2.Operation:
        name = f"{request.parent}/metadataStores/{request.metadata_store_id or 'default'}"
        store = v1.MetadataStore(request.metadata_store)
        store.name = name
        store.create_time = datetime.now(UTC)
        with self._lock:
            if name in self._stores:
                context.abort(grpc.StatusCode.ALREADY_EXISTS, f"{name} already exists.")
            self._stores[name] = store
        return done_operation(name, v1.MetadataStore(store))

    def _get_context(
        self, request: v1.GetContextRequest, context: grpc.ServicerContext
    ) -> v1.Context:
        found = self.context(request.name)
        if found is None:
            context.abort(grpc.StatusCode.NOT_FOUND, f"Context {request.name} not found.")
        return found

    def _create_context(
        self, request: v1.CreateContextRequest, context: grpc.ServicerContext
    ) -> v1.Context:
        created = v1.Context(request.context)
        created.name = f"{request.parent}/contexts/{request.context_id}"
        created.create_time = created.update_time = datetime.now(UTC)
        with self._lock:
            if request.parent not in self._stores:
                context.abort(grpc.StatusCode.NOT_FOUND, f"{request.parent} not found.")
            if created.name in self._contexts:
                context.abort(grpc.StatusCode.ALREADY_EXISTS, f"{created.name} already exists.")
            self._contexts[created.name] = created
        return v1.Context(created)

    def _add_children(
        self, request: v1.AddContextChildrenRequest, context: grpc.ServicerContext
    ) -> v1.AddContextChildrenResponse:
        with self._lock:
            missing = [
                n for n in (request.context, *request.child_contexts) if n not in self._contexts
            ]
            if missing:
                context.abort(grpc.StatusCode.NOT_FOUND, f"Contexts not found: {missing}")
            found = self._children.setdefault(request.context, [])
            found += [c for c in request.child_contexts if c not in found]
        return v1.AddContextChildrenResponse()
