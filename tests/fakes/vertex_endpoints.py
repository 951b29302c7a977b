"""EndpointService of the Vertex fake: endpoints, and deployed models that really serve.

DeployModel does what Vertex does with a custom container, with this environment as the
image: it downloads the model's `artifact_uri` from Cloud Storage (the storage emulator named
by STORAGE_EMULATOR_HOST), starts the container's command (`freshet serve` when the model
names none) with the bundle's local path appended (standing in for the image reading
AIP_STORAGE_URI) and the `AIP_*` variables Vertex sets, and waits for the health route. A
server that exits or never becomes healthy fails the deployment (the operation carries the
error, as Vertex's does), and the endpoint stays, empty. Predictions
(tests/fakes/vertex_predict.py) are forwarded to the server of the endpoint's deployed model.

Behaviour kept from the real service: an endpoint with a deployed model cannot be deleted
(FAILED_PRECONDITION); a deployment needs dedicated resources with a machine type; list
filters on labels; every change is a long-running operation (returned done).
"""

from __future__ import annotations

import os
import shutil
import tempfile
import threading
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import urlparse

import grpc
import httpx
from google.cloud import aiplatform_v1 as v1
from google.longrunning import operations_pb2
from google.rpc import status_pb2

from freshet.components.verify.server import ServerProcess, default_command, free_port
from tests.fakes.vertex_models import FakeModels, Unary, done_operation, label_filter

ENDPOINT_SERVICE = "google.cloud.aiplatform.v1.EndpointService"
STARTUP_TIMEOUT_S = 60.0


@dataclass
class Deployed:
    """A deployed model's server, and where its bundle was downloaded."""

    deployed: v1.DeployedModel
    server: ServerProcess
    scratch: Path
    health_route: str
    predict_route: str

    @property
    def predict_url(self) -> str:
        """The container's predict URL."""
        return self.server.base_url + self.predict_route

    def stop(self) -> None:
        """Stops the server's process group and removes the download."""
        self.server.stop()
        shutil.rmtree(self.scratch, ignore_errors=True)


class FakeEndpoints:
    """Stored endpoints and the servers of their deployed models."""

    def __init__(self, models: FakeModels) -> None:
        self.models = models
        self._lock = threading.Lock()
        self._endpoints: dict[str, v1.Endpoint] = {}
        self._servers: dict[str, Deployed] = {}  # by deployed model id
        self._count = 1000

    def reset(self) -> None:
        """Stops every server and forgets every endpoint."""
        with self._lock:
            servers = list(self._servers.values())
            self._servers.clear()
            self._endpoints.clear()
        for deployed in servers:
            deployed.stop()

    def endpoints(self) -> list[v1.Endpoint]:
        """The stored endpoints."""
        with self._lock:
            return [v1.Endpoint(e) for e in self._endpoints.values()]

    def servers(self) -> list[Deployed]:
        """The running deployed-model servers."""
        with self._lock:
            return list(self._servers.values())

    def serving(self, endpoint: str) -> Deployed | None:
        """The server that takes an endpoint's traffic, or None."""
        with self._lock:
            found = self._endpoints.get(endpoint)
            if found is None or not found.deployed_models:
                return None
            return self._servers.get(found.deployed_models[0].id)

    def handler(self, unary: Unary) -> grpc.GenericRpcHandler:
        """The EndpointService handler, its methods wrapped by the fake's `unary`."""
        op = operations_pb2.Operation.SerializeToString
        methods = {
            "CreateEndpoint": unary("CreateEndpoint", self._create, v1.CreateEndpointRequest, op),
            "GetEndpoint": unary(
                "GetEndpoint", self._get, v1.GetEndpointRequest, v1.Endpoint.serialize
            ),
            "ListEndpoints": unary(
                "ListEndpoints",
                self._list,
                v1.ListEndpointsRequest,
                v1.ListEndpointsResponse.serialize,
            ),
            "DeleteEndpoint": unary("DeleteEndpoint", self._delete, v1.DeleteEndpointRequest, op),
            "DeployModel": unary("DeployModel", self._deploy, v1.DeployModelRequest, op),
            "UndeployModel": unary("UndeployModel", self._undeploy, v1.UndeployModelRequest, op),
        }
        return grpc.method_handlers_generic_handler(ENDPOINT_SERVICE, methods)

    # Methods ------------------------------------------------------------------------------

    def _existing(self, name: str, context: grpc.ServicerContext) -> v1.Endpoint:
        found = self._endpoints.get(name)
        if found is None:
            context.abort(grpc.StatusCode.NOT_FOUND, f"Endpoint {name} not found.")
        return found

    def _create(
        self, request: v1.CreateEndpointRequest, context: grpc.ServicerContext
    ) -> operations_pb2.Operation:
        endpoint = v1.Endpoint(request.endpoint)
        if not endpoint.display_name:
            context.abort(grpc.StatusCode.INVALID_ARGUMENT, "display_name is required.")
        with self._lock:
            self._count += 1
            endpoint.name = f"{request.parent}/endpoints/{request.endpoint_id or self._count}"
            if endpoint.name in self._endpoints:
                context.abort(grpc.StatusCode.ALREADY_EXISTS, f"{endpoint.name} already exists.")
            endpoint.create_time = endpoint.update_time = datetime.now(UTC)
            self._endpoints[endpoint.name] = endpoint
            return done_operation(endpoint.name, v1.Endpoint(endpoint))

    def _get(self, request: v1.GetEndpointRequest, context: grpc.ServicerContext) -> v1.Endpoint:
        with self._lock:
            return v1.Endpoint(self._existing(request.name, context))

    def _list(
        self, request: v1.ListEndpointsRequest, context: grpc.ServicerContext
    ) -> v1.ListEndpointsResponse:
        try:
            keep = label_filter(request.filter)
        except ValueError as exc:
            context.abort(grpc.StatusCode.INVALID_ARGUMENT, str(exc))
        with self._lock:
            found = [
                v1.Endpoint(e)
                for n, e in self._endpoints.items()
                if n.startswith(request.parent + "/") and keep(e)
            ]
        return v1.ListEndpointsResponse(endpoints=found)

    def _delete(
        self, request: v1.DeleteEndpointRequest, context: grpc.ServicerContext
    ) -> operations_pb2.Operation:
        with self._lock:
            endpoint = self._existing(request.name, context)
            if endpoint.deployed_models:
                context.abort(
                    grpc.StatusCode.FAILED_PRECONDITION,
                    f"Endpoint {request.name} has deployed models; undeploy them first.",
                )
            del self._endpoints[request.name]
        return done_operation(request.name)

    def _deploy(
        self, request: v1.DeployModelRequest, context: grpc.ServicerContext
    ) -> operations_pb2.Operation:
        deployed = v1.DeployedModel(request.deployed_model)
        if not deployed.dedicated_resources.machine_spec.machine_type:
            context.abort(grpc.StatusCode.INVALID_ARGUMENT, "a machine type is required.")
        model = self.models.resolve(deployed.model)
        if model is None:
            context.abort(grpc.StatusCode.NOT_FOUND, f"Model {deployed.model} not found.")
        with self._lock:
            self._existing(request.endpoint, context)
            self._count += 1
            deployed.id = str(self._count)
        deployed.model_version_id = model.version_id
        deployed.create_time = datetime.now(UTC)
        try:
            running = _start_container(model, deployed, request.endpoint)
        except (OSError, RuntimeError) as exc:
            error = status_pb2.Status(code=grpc.StatusCode.FAILED_PRECONDITION.value[0])
            error.message = f"Model server never became ready: {exc}"
            return operations_pb2.Operation(
                name=f"{request.endpoint}/operations/deploy", done=True, error=error
            )
        with self._lock:
            endpoint = self._endpoints.get(request.endpoint)
            if endpoint is None:  # deleted while deploying
                running.stop()
                context.abort(grpc.StatusCode.NOT_FOUND, f"Endpoint {request.endpoint} gone.")
            endpoint.deployed_models.append(deployed)
            endpoint.traffic_split = {deployed.id: 100}
            self._servers[deployed.id] = running
        return done_operation(request.endpoint, v1.DeployModelResponse(deployed_model=deployed))

    def _undeploy(
        self, request: v1.UndeployModelRequest, context: grpc.ServicerContext
    ) -> operations_pb2.Operation:
        with self._lock:
            endpoint = self._existing(request.endpoint, context)
            kept = [d for d in endpoint.deployed_models if d.id != request.deployed_model_id]
            if len(kept) == len(endpoint.deployed_models):
                context.abort(
                    grpc.StatusCode.NOT_FOUND,
                    f"No deployed model {request.deployed_model_id} on {request.endpoint}.",
                )
            endpoint.deployed_models = kept
            endpoint.traffic_split = {d.id: 100 for d in kept[:1]}
            running = self._servers.pop(request.deployed_model_id, None)
        if running is not None:
            running.stop()
        return done_operation(request.endpoint, v1.UndeployModelResponse())


def _download(artifact_uri: str, target: Path) -> None:
    from tests.fakes.gcs import storage_client

    where = urlparse(artifact_uri)
    if where.scheme != "gs":
        raise RuntimeError(f"artifact_uri {artifact_uri} is not in Cloud Storage")
    client = storage_client(os.environ["STORAGE_EMULATOR_HOST"])
    prefix = where.path.strip("/") + "/"
    blobs = list(client.list_blobs(where.netloc, prefix=prefix))
    if not blobs:
        raise RuntimeError(f"nothing is stored at {artifact_uri}")
    for blob in blobs:
        path = target / blob.name[len(prefix) :]
        path.parent.mkdir(parents=True, exist_ok=True)
        blob.download_to_filename(str(path))


def _start_container(model: v1.Model, deployed: v1.DeployedModel, endpoint: str) -> Deployed:
    """Starts the model's container on its downloaded bundle; RuntimeError if it never serves."""
    spec = model.container_spec
    scratch = Path(tempfile.mkdtemp(prefix="fake-vertex-deploy-"))
    bundle = scratch / "model"
    bundle.mkdir()
    _download(model.artifact_uri, bundle)
    health = spec.health_route or "/health"
    predict = spec.predict_route or "/predict"
    command = [*(list(spec.command) or default_command(bundle)), *spec.args, str(bundle)]
    server = ServerProcess(command, free_port(), scratch / "server.log")
    env = {
        **os.environ,
        **{e.name: e.value for e in spec.env},
        "PYTHONUNBUFFERED": "1",
        "AIP_HTTP_PORT": str(server.port),
        "AIP_HEALTH_ROUTE": health,
        "AIP_PREDICT_ROUTE": predict,
        "AIP_STORAGE_URI": model.artifact_uri,
        "AIP_MODEL_DIR": model.artifact_uri,
        "AIP_DEPLOYED_MODEL_ID": deployed.id,
        "AIP_ENDPOINT_ID": endpoint.rsplit("/", 1)[-1],
        "AIP_MACHINE_TYPE": deployed.dedicated_resources.machine_spec.machine_type,
    }
    running = Deployed(deployed, server, scratch, health, predict)
    server.start(env)
    deadline = time.monotonic() + STARTUP_TIMEOUT_S
    while time.monotonic() < deadline:
        code = server.poll()
        if code is not None:
            tail = " | ".join(server.log_tail(3))
            running.stop()
            raise RuntimeError(f"the container exited with code {code}: {tail}")
        try:
            if httpx.get(server.base_url + health, timeout=1.0).status_code == 200:
                return running
        except httpx.TransportError:
            pass
        time.sleep(0.05)
    running.stop()
    raise RuntimeError(f"the container was not healthy on {health} after {STARTUP_TIMEOUT_S} s")
