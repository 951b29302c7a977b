"""A local fake of an Artifact Registry Kubeflow Pipelines repository, over real HTTP.

It answers what `kfp.registry.RegistryClient` sends to a repository host: a multipart upload
to the host URL (answered `<package>/sha256:<digest>`, tags moved to the new version) and
downloads of `<host>/<package>/<tag or version>`. It also serves an OAuth token endpoint
(`/token`) so a service-account key can get an access token, and it refuses requests that
carry no bearer token, as the real registry does.
"""

from __future__ import annotations

import hashlib
import json
import threading
from dataclasses import dataclass, field
from email.parser import BytesParser
from email.policy import HTTP
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import yaml

ACCESS_TOKEN = "fake-access-token"


@dataclass
class Package:
    """One pipeline package: its versions (digest -> content) and tags (tag -> digest)."""

    versions: dict[str, bytes] = field(default_factory=dict)
    tags: dict[str, str] = field(default_factory=dict)


class FakeRegistry:
    """The in-process fake: start it, use `repo_url` as the template repository."""

    def __init__(self, project: str = "fake-project", repo: str = "pipelines") -> None:
        self.path = f"/{project}/{repo}"
        self.packages: dict[str, Package] = {}
        self.uploads: list[dict[str, Any]] = []
        self.token_requests = 0
        self._lock = threading.Lock()
        self._server: ThreadingHTTPServer | None = None

    @property
    def base_url(self) -> str:
        """`http://127.0.0.1:PORT`."""
        assert self._server is not None
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    @property
    def repo_url(self) -> str:
        """The repository host URL (what `https://REGION-kfp.pkg.dev/PROJECT/REPO` is)."""
        return self.base_url + self.path

    @property
    def token_uri(self) -> str:
        """The OAuth token endpoint."""
        return self.base_url + "/token"

    def start(self) -> None:
        """Serves on a free loopback port in a daemon thread."""
        fake = self

        class Handler(_Handler):
            registry = fake

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self._server.serve_forever, daemon=True).start()

    def stop(self) -> None:
        """Stops serving."""
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def reset(self) -> None:
        """Forgets every package and upload."""
        with self._lock:
            self.packages.clear()
            self.uploads.clear()

    def upload(self, content: bytes, tags: list[str]) -> str:
        """Stores a template as its pipeline's package; returns `<package>/sha256:<digest>`."""
        name = yaml.safe_load(content)["pipelineInfo"]["name"]
        version = "sha256:" + hashlib.sha256(content).hexdigest()
        with self._lock:
            package = self.packages.setdefault(name, Package())
            package.versions[version] = content
            for tag in tags:
                package.tags[tag] = version
            self.uploads.append({"package": name, "version": version, "tags": tags})
        return f"{name}/{version}"

    def download(self, package: str, ref: str) -> bytes | None:
        """The content of a package version or tag, or None."""
        with self._lock:
            found = self.packages.get(package)
            if found is None:
                return None
            version = ref if ref.startswith("sha256:") else found.tags.get(ref, "")
            return found.versions.get(version)


class _Handler(BaseHTTPRequestHandler):
    registry: FakeRegistry

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet: tests read the registry's state instead."""

    def _send(self, code: int, body: bytes, content_type: str = "text/plain") -> None:
        self.send_response(code)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def _authorized(self) -> bool:
        if self.headers.get("Authorization") == f"Bearer {ACCESS_TOKEN}":
            return True
        self._send(401, b"missing or wrong bearer token")
        return False

    def _body(self) -> bytes:
        return self.rfile.read(int(self.headers.get("Content-Length", "0")))

    def do_POST(self) -> None:
        """Token requests and template uploads."""
        if self.path == "/token":
            self._body()
            self.registry.token_requests += 1
            token = {"access_token": ACCESS_TOKEN, "expires_in": 3600, "token_type": "Bearer"}
            self._send(200, json.dumps(token).encode(), "application/json")
            return
        if self.path.rstrip("/") != self.registry.path:
            self._send(404, b"no such repository")
            return
        if not self._authorized():
            return
        header = f"Content-Type: {self.headers['Content-Type']}\r\n\r\n".encode()
        message = BytesParser(policy=HTTP).parsebytes(header + self._body())
        fields = {
            part.get_param("name", header="content-disposition"): part.get_payload(decode=True)
            for part in message.iter_parts()
        }
        if "content" not in fields:
            self._send(400, b"no file in field 'content'")
            return
        tags = [t for t in (fields.get("tags") or b"").decode().split(",") if t]
        self._send(200, self.registry.upload(fields["content"], tags).encode())

    def do_GET(self) -> None:
        """Downloads of `<repo>/<package>/<tag or version>`."""
        prefix = self.registry.path + "/"
        if not self.path.startswith(prefix):
            self._send(404, b"no such repository")
            return
        if not self._authorized():
            return
        package, _, ref = self.path[len(prefix) :].partition("/")
        content = self.registry.download(package, ref)
        if content is None:
            self._send(404, f"package {package} has no version or tag {ref!r}".encode())
            return
        self._send(200, content, "application/x-yaml")
