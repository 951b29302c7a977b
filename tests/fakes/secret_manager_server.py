"""A local fake of Secret Manager: a real gRPC server over TLS serving AccessSecretVersion.

It serves `google.cloud.secretmanager.v1.SecretManagerService/AccessSecretVersion` with a
generic handler, (de)serialising with the proto-plus classes google-cloud-secret-manager ships,
so the unmodified client talks to it as to `secretmanager.googleapis.com`. As the service does:
`versions/latest` is the newest enabled version; an unknown secret or version is NOT_FOUND; a
secret the caller may not access is PERMISSION_DENIED; a call without credentials is
UNAUTHENTICATED. Tests add secrets (`add`), deny access (`deny`) and read `requests`.

The fixture `secret_manager` shares the TLS certificate of the Vertex fakes (a process trusts
one roots file, read at its first TLS channel) and points `FRESHET_OPS__SECRET_MANAGER_ENDPOINT`
at the fake, for this process and the steps it starts.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Iterator
from concurrent import futures
from dataclasses import dataclass
from typing import Any

import grpc
import pytest
from google.cloud import secretmanager_v1 as sm

from tests.fakes.tls import SelfSigned
from tests.fakes.vertex_fixtures import VertexServices

SERVICE = "google.cloud.secretmanager.v1.SecretManagerService"
_VERSION = re.compile(r"^(projects/[^/]+/secrets/[^/]+)/versions/(latest|[1-9][0-9]*)$")


@dataclass
class Access:
    """One AccessSecretVersion call."""

    name: str
    authorized: bool


class FakeSecretManager:
    """Secrets by resource name (`projects/P/secrets/S`), each a list of versions."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._secrets: dict[str, list[bytes]] = {}
        self._denied: set[str] = set()
        self.requests: list[Access] = []
        self._server: grpc.Server | None = None
        self.port = 0

    @property
    def endpoint(self) -> str:
        """`host:port` for the client's `api_endpoint`."""
        return f"localhost:{self.port}"

    def start(self, tls: SelfSigned) -> None:
        """Serves on a free loopback port over TLS with `tls`."""
        server = grpc.server(futures.ThreadPoolExecutor(max_workers=4))
        handler = grpc.unary_unary_rpc_method_handler(
            self._access,
            request_deserializer=sm.AccessSecretVersionRequest.deserialize,
            response_serializer=sm.AccessSecretVersionResponse.serialize,
        )
        server.add_generic_rpc_handlers(
            [grpc.method_handlers_generic_handler(SERVICE, {"AccessSecretVersion": handler})]
        )
        self.port = server.add_secure_port(
            "localhost:0", grpc.ssl_server_credentials([(tls.key_pem, tls.cert_pem)])
        )
        server.start()
        self._server = server

    def stop(self) -> None:
        """Stops serving."""
        if self._server is not None:
            self._server.stop(grace=None)
            self._server = None

    def reset(self) -> None:
        """Forgets every secret, denial and request."""
        with self._lock:
            self._secrets.clear()
            self._denied.clear()
            self.requests.clear()

    def add(self, project: str, secret: str, value: str) -> str:
        """Adds a version to a secret (creating it); returns its `sm://` reference."""
        name = f"projects/{project}/secrets/{secret}"
        with self._lock:
            self._secrets.setdefault(name, []).append(value.encode())
        return f"sm://{name}"

    def deny(self, project: str, secret: str) -> None:
        """The caller lacks roles/secretmanager.secretAccessor on this secret."""
        with self._lock:
            self._denied.add(f"projects/{project}/secrets/{secret}")

    def _access(
        self, request: sm.AccessSecretVersionRequest, context: grpc.ServicerContext
    ) -> sm.AccessSecretVersionResponse:
        metadata = {k: str(v) for k, v in context.invocation_metadata()}
        authorized = "authorization" in metadata
        with self._lock:
            self.requests.append(Access(request.name, authorized))
            if not authorized:
                context.abort(grpc.StatusCode.UNAUTHENTICATED, "no credentials sent")
            match = _VERSION.match(request.name)
            if match is None:
                context.abort(grpc.StatusCode.INVALID_ARGUMENT, f"bad name {request.name}")
            secret, version = match.groups()
            if secret in self._denied:
                context.abort(
                    grpc.StatusCode.PERMISSION_DENIED,
                    f"Permission 'secretmanager.versions.access' denied for resource "
                    f"'{request.name}' (or it may not exist).",
                )
            versions = self._secrets.get(secret, [])
            number = len(versions) if version == "latest" else int(version)
            if not 1 <= number <= len(versions):
                context.abort(
                    grpc.StatusCode.NOT_FOUND,
                    f"Secret Version [{request.name}] not found or has no versions.",
                )
            data = versions[number - 1]
        return sm.AccessSecretVersionResponse(
            name=f"{secret}/versions/{number}", payload=sm.SecretPayload(data=data)
        )


_fake: FakeSecretManager | None = None


@pytest.fixture(scope="session")
def secret_manager_service(vertex_services: VertexServices) -> Iterator[FakeSecretManager]:
    """The fake, started once per session with the Vertex fakes' certificate."""
    global _fake
    if _fake is None:
        assert vertex_services.tls is not None
        _fake = FakeSecretManager()
        _fake.start(vertex_services.tls)
    yield _fake


@pytest.fixture
def secret_manager(
    secret_manager_service: FakeSecretManager, vertex: VertexServices, monkeypatch: Any
) -> FakeSecretManager:
    """A clean fake, the Vertex settings and credentials, and the endpoint variable set."""
    secret_manager_service.reset()
    monkeypatch.setenv("FRESHET_OPS__SECRET_MANAGER_ENDPOINT", secret_manager_service.endpoint)
    return secret_manager_service


__all__ = ["Access", "FakeSecretManager", "secret_manager", "secret_manager_service"]
