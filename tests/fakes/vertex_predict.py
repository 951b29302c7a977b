"""PredictionService of the Vertex fake, over gRPC and over REST at Vertex's own host name.

gRPC Predict and RawPredict forward to the server of the endpoint's deployed model
(tests/fakes/vertex_endpoints.py). `Endpoint.raw_predict` of the SDK ignores `api_endpoint`
and posts to `https://{region}-aiplatform.googleapis.com`, so `RestFrontDoor` answers there:
an HTTPS server with a certificate for that host (signed by a key of the test, trusted through
REQUESTS_CA_BUNDLE) behind a CONNECT proxy (HTTPS_PROXY) that tunnels only
`*-aiplatform.googleapis.com:443` to it. TLS runs end to end between the SDK and the fake,
as it does with Vertex; nothing in the SDK is changed.

Container answers keep their meaning: a 4xx from the container is INVALID_ARGUMENT over gRPC
and the same status over REST; a 5xx is INTERNAL, or the same status over REST.
"""

from __future__ import annotations

import contextlib
import json
import re
import select
import socket
import ssl
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from socketserver import StreamRequestHandler, ThreadingTCPServer
from typing import Any

import grpc
import httpx
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from google.api import httpbody_pb2
from google.cloud import aiplatform_v1 as v1

from tests.fakes.tls import self_signed
from tests.fakes.vertex_endpoints import FakeEndpoints
from tests.fakes.vertex_models import Unary

PREDICTION_SERVICE = "google.cloud.aiplatform.v1.PredictionService"
_RAW_PATH = re.compile(r"^/v1/(projects/[^/]+/locations/[^/]+/endpoints/[^/:]+):rawPredict$")
_TUNNELLED = re.compile(r"^[a-z0-9-]+-aiplatform\.googleapis\.com:443$")


def forward(endpoints: FakeEndpoints, endpoint: str, body: bytes) -> tuple[int, bytes, str]:
    """Posts a body to the container behind an endpoint: (status, body, deployed model id).

    Status 0 means there is no endpoint or no deployed model.
    """
    deployed = endpoints.serving(endpoint)
    if deployed is None:
        return 0, b"", ""
    response = httpx.post(
        deployed.predict_url,
        content=body,
        headers={"content-type": "application/json"},
        timeout=30.0,
    )
    return response.status_code, response.content, deployed.deployed.id


def _grpc_status(status: int) -> grpc.StatusCode:
    return grpc.StatusCode.INVALID_ARGUMENT if 400 <= status < 500 else grpc.StatusCode.INTERNAL


class FakePredictions:
    """The gRPC PredictionService of the fake."""

    def __init__(self, endpoints: FakeEndpoints) -> None:
        self.endpoints = endpoints

    def handler(self, unary: Unary) -> grpc.GenericRpcHandler:
        """The PredictionService handler, its methods wrapped by the fake's `unary`."""
        methods = {
            "Predict": unary(
                "Predict", self._predict, v1.PredictRequest, v1.PredictResponse.serialize
            ),
            "RawPredict": unary(
                "RawPredict",
                self._raw_predict,
                v1.RawPredictRequest,
                httpbody_pb2.HttpBody.SerializeToString,
            ),
        }
        return grpc.method_handlers_generic_handler(PREDICTION_SERVICE, methods)

    def _predict(
        self, request: v1.PredictRequest, context: grpc.ServicerContext
    ) -> v1.PredictResponse:
        from google.protobuf import json_format, struct_pb2

        instances = [json_format.MessageToDict(v) for v in v1.PredictRequest.pb(request).instances]
        body = json.dumps({"instances": instances}).encode()
        status, answer, deployed_id = forward(self.endpoints, request.endpoint, body)
        if status == 0:
            context.abort(grpc.StatusCode.FAILED_PRECONDITION, "No deployed model to serve.")
        if status != 200:
            context.abort(
                _grpc_status(status), f"{status}: {answer[:500].decode(errors='replace')}"
            )
        try:
            predictions = json.loads(answer)["predictions"]
        except (ValueError, KeyError, TypeError):
            context.abort(grpc.StatusCode.INTERNAL, "The container's answer has no predictions.")
        deployed = self.endpoints.serving(request.endpoint)
        model = deployed.deployed if deployed is not None else v1.DeployedModel()
        response = v1.PredictResponse(
            deployed_model_id=deployed_id,
            model=model.model.partition("@")[0],
            model_version_id=model.model_version_id,
        )
        values = v1.PredictResponse.pb(response).predictions
        for prediction in predictions:
            values.add().CopyFrom(json_format.ParseDict(prediction, struct_pb2.Value()))
        return response

    def _raw_predict(
        self, request: v1.RawPredictRequest, context: grpc.ServicerContext
    ) -> httpbody_pb2.HttpBody:
        status, answer, _ = forward(self.endpoints, request.endpoint, request.http_body.data)
        if status == 0:
            context.abort(grpc.StatusCode.FAILED_PRECONDITION, "No deployed model to serve.")
        if status != 200:
            context.abort(
                _grpc_status(status), f"{status}: {answer[:500].decode(errors='replace')}"
            )
        return httpbody_pb2.HttpBody(content_type="application/json", data=answer)


@dataclass
class RestFrontDoor:
    """The REST host of Vertex, for raw_predict: set `environment` in the client process."""

    proxy_url: str
    ca_bundle: Path
    stop: Any

    def environment(self) -> dict[str, str]:
        """HTTPS_PROXY to the tunnel, REQUESTS_CA_BUNDLE with the fake's certificates, and
        NO_PROXY so loopback servers are reached directly."""
        return {
            "HTTPS_PROXY": self.proxy_url,
            "https_proxy": self.proxy_url,
            "NO_PROXY": "localhost,127.0.0.1",
            "no_proxy": "localhost,127.0.0.1",
            "REQUESTS_CA_BUNDLE": str(self.ca_bundle),
        }


def _rest_handler(endpoints: FakeEndpoints) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_POST(self) -> None:  # noqa: N802  (http.server's naming)
            length = int(self.headers.get("content-length") or 0)
            body = self.rfile.read(length)
            match = _RAW_PATH.match(self.path)
            if "authorization" not in {k.lower() for k in self.headers}:
                return self._answer(401, b'{"error": {"code": 401, "status": "UNAUTHENTICATED"}}')
            if match is None:
                return self._answer(404, b'{"error": {"code": 404, "status": "NOT_FOUND"}}')
            status, answer, _ = forward(endpoints, match.group(1), body)
            if status == 0:
                return self._answer(400, b'{"error": {"code": 400, "message": "not deployed"}}')
            return self._answer(status, answer)

        def _answer(self, code: int, body: bytes) -> None:
            self.send_response(code)
            self.send_header("content-type", "application/json")
            self.send_header("content-length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
            pass

    return Handler


def _pipe(a: socket.socket, b: socket.socket) -> None:
    sockets = [a, b]
    while True:
        readable, _, _ = select.select(sockets, [], [], 30.0)
        if not readable:
            return
        for sock in readable:
            data = sock.recv(65536)
            if not data:
                return
            (b if sock is a else a).sendall(data)


def _proxy_handler(rest_port: int) -> type[StreamRequestHandler]:
    class Tunnel(StreamRequestHandler):
        def handle(self) -> None:
            line = self.rfile.readline(65537).decode("latin-1").split()
            while self.rfile.readline(65537) not in (b"\r\n", b"\n", b""):
                pass
            if len(line) < 2 or line[0] != "CONNECT" or not _TUNNELLED.match(line[1]):
                self.wfile.write(b"HTTP/1.1 403 Forbidden\r\ncontent-length: 0\r\n\r\n")
                return
            with socket.create_connection(("127.0.0.1", rest_port)) as upstream:
                self.wfile.write(b"HTTP/1.1 200 Connection established\r\n\r\n")
                self.wfile.flush()
                # A client that goes away (a killed worker) ends the tunnel, nothing more.
                with contextlib.suppress(OSError):
                    _pipe(self.connection, upstream)

    return Tunnel


class _Proxy(ThreadingTCPServer):
    daemon_threads = True


class _Rest(ThreadingHTTPServer):
    def handle_error(self, request: Any, client_address: Any) -> None:
        """A client that hung up mid-request (a killed worker) is not an error of the fake."""
        import sys

        if not isinstance(sys.exc_info()[1], OSError):
            super().handle_error(request, client_address)


@contextmanager
def rest_front_door(
    endpoints: FakeEndpoints, trusted_pem: bytes, directory: Path
) -> Iterator[RestFrontDoor]:
    """Serves rawPredict at `*-aiplatform.googleapis.com` through a CONNECT proxy.

    `trusted_pem`: certificates the clients must keep trusting (the other fakes').
    """
    key, cert = self_signed(
        "aiplatform.googleapis.com",
        [x509.DNSName("*.googleapis.com"), x509.DNSName("googleapis.com")],
        ca=True,
    )
    directory.mkdir(parents=True, exist_ok=True)
    cert_path, key_path = directory / "googleapis.pem", directory / "googleapis.key"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.TraditionalOpenSSL,
            serialization.NoEncryption(),
        )
    )
    bundle = directory / "ca-bundle.pem"
    bundle.write_bytes(trusted_pem + cert_path.read_bytes())
    rest = _Rest(("127.0.0.1", 0), _rest_handler(endpoints))
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert_path, key_path)
    rest.socket = context.wrap_socket(rest.socket, server_side=True)
    proxy = _Proxy(("127.0.0.1", 0), _proxy_handler(rest.server_address[1]))
    threads = [
        threading.Thread(target=server.serve_forever, daemon=True) for server in (rest, proxy)
    ]
    for thread in threads:
        thread.start()

    def stop() -> None:
        for server in (rest, proxy):
            server.shutdown()
            server.server_close()

    door = RestFrontDoor(f"http://127.0.0.1:{proxy.server_address[1]}", bundle, stop)
    try:
        yield door
    finally:
        stop()
