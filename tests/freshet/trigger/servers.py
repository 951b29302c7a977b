"""Real loopback servers for the push tests: uvicorn in a thread, and a signing-certs server."""

from __future__ import annotations

import json
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@contextmanager
def serving(app: Any) -> Iterator[str]:
    """Serves an ASGI app with uvicorn on a free loopback port; yields its base URL."""
    import uvicorn

    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan="off"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        if time.monotonic() > deadline:
            raise TimeoutError("uvicorn did not start")
        time.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=20)
        sock.close()


class SigningKey:
    """An RSA key with a self-signed certificate, as Google publishes for its ID tokens."""

    def __init__(self, kid: str) -> None:
        from cryptography.hazmat.primitives import serialization

        from tests.fakes.tls import self_signed

        key, cert = self_signed("freshet-test-signer")
        self.kid = kid
        self.private_pem = key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
        self.cert_pem = cert.public_bytes(serialization.Encoding.PEM).decode()

    def token(self, **claims: Any) -> str:
        """A signed JWT: Google-like defaults, overridden by `claims`."""
        from google.auth import crypt, jwt

        now = int(time.time())
        payload = {
            "iss": "https://accounts.google.com",
            "aud": "https://trigger.example.com/",
            "email": "pusher@proj.iam.gserviceaccount.com",
            "email_verified": True,
            "sub": "1234567890",
            "iat": now,
            "exp": now + 3600,
            **claims,
        }
        signer = crypt.RSASigner.from_string(self.private_pem, key_id=self.kid)
        return jwt.encode(signer, payload).decode()


@contextmanager
def certs_server(certs: dict[str, str]) -> Iterator[str]:
    """Serves `certs` (kid -> PEM, read on each request) as JSON; yields the URL."""

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            body = json.dumps(certs).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}/oauth2/v1/certs"
    finally:
        server.shutdown()
        server.server_close()
