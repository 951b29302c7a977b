"""Pytest fixtures for Vertex tests: the fake Vertex API, the fake registry, and settings.

Both servers start once per test session (one per process, whichever test module asks
first). The gRPC roots file must be set before the process makes its first TLS channel, so
the session fixture sets GRPC_DEFAULT_SSL_ROOTS_FILE_PATH before any client exists.
Per test, `vertex` clears the fakes and points settings (FRESHET_* variables), credentials
(GOOGLE_APPLICATION_CREDENTIALS) and Cloud Storage (the session's storage emulator, which the
SDK asks whether the pipeline-root bucket exists) at the local servers.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.fakes.credentials import write_service_account_key
from tests.fakes.registry_server import FakeRegistry
from tests.fakes.tls import SelfSigned, self_signed_localhost
from tests.fakes.vertex_server import FakeVertex

PROJECT = "fake-project"
REGION = "europe-west4"
BUCKET = "freshet-fake-root"
SERVICE_ACCOUNT = "pipelines@fake-project.iam.gserviceaccount.com"
NETWORK = "projects/123456/global/networks/ml-vpc"


@dataclass
class VertexServices:
    """The running fakes and the files clients need to reach them."""

    vertex: FakeVertex
    registry: FakeRegistry
    key_file: Path
    template: Path
    tls: SelfSigned | None = None  # the certificate every fake gRPC server of the process uses


_services: VertexServices | None = None


def _start(directory: Path) -> VertexServices:
    global _services
    if _services is None:
        tls = self_signed_localhost(directory / "tls")
        os.environ["GRPC_DEFAULT_SSL_ROOTS_FILE_PATH"] = str(tls.cert_path)
        vertex = FakeVertex()
        vertex.start(tls)
        registry = FakeRegistry(project=PROJECT)
        registry.start()
        key = write_service_account_key(directory / "key.json", registry.token_uri, PROJECT)
        from freshet.compile import compile_pipeline
        from freshet.config import load_settings

        template = compile_pipeline("training", load_settings(), directory / "build")
        _services = VertexServices(vertex, registry, key, template, tls)
    return _services


@pytest.fixture(scope="session")
def vertex_services(tmp_path_factory: pytest.TempPathFactory) -> Iterator[VertexServices]:
    """The fakes, started once per session."""
    services = _start(tmp_path_factory.mktemp("vertex-fakes"))
    # google-auth looks up a service account's "regional access boundary" at
    # iamcredentials.googleapis.com in a background thread; offline, urllib3 warns about each
    # retry, possibly after the test that caused it has ended. The lookup is not part of
    # anything tested here, so its warnings are not shown.
    logging.getLogger("urllib3.connectionpool").setLevel(logging.ERROR)
    yield services


@pytest.fixture(scope="session")
def pipeline_bucket(gcs_endpoint: str) -> str:
    """The pipeline-root bucket, created once in the storage emulator."""
    from tests.fakes.gcs import storage_client

    client = storage_client(gcs_endpoint)
    if client.lookup_bucket(BUCKET) is None:
        client.create_bucket(BUCKET)
    return BUCKET


@pytest.fixture
def vertex(
    vertex_services: VertexServices,
    pipeline_bucket: str,
    gcs_endpoint: str,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
) -> VertexServices:
    """Clean fakes, and every setting of this process pointed at them."""
    vertex_services.vertex.reset()
    vertex_services.registry.reset()
    monkeypatch.chdir(tmp_path)  # no freshet.toml of the checkout is read
    env = {
        "GOOGLE_APPLICATION_CREDENTIALS": str(vertex_services.key_file),
        "STORAGE_EMULATOR_HOST": gcs_endpoint,
        "FRESHET_ROOT": str(tmp_path / ".freshet"),
        "FRESHET_BUILD_DIR": str(vertex_services.template.parent),
        "FRESHET_GCP__PROJECT": PROJECT,
        "FRESHET_GCP__REGION": REGION,
        "FRESHET_GCP__PIPELINE_ROOT": f"gs://{pipeline_bucket}/runs",
        "FRESHET_GCP__SERVICE_ACCOUNT": SERVICE_ACCOUNT,
        "FRESHET_GCP__NETWORK": NETWORK,
        "FRESHET_GCP__TEMPLATE_REPO": vertex_services.registry.repo_url,
        "FRESHET_GCP__API_ENDPOINT": vertex_services.vertex.endpoint,
        "FRESHET_GCP__LABELS": '{"team": "ml-platform"}',
        "FRESHET_GCP__GIT_COMMIT": "0123456789ab",
        "FRESHET_GCP__POLL_SECONDS": "0.01",
        "FRESHET_GCP__RETRY_SECONDS": "1",
    }
    # Settings come only from `env`; FRESHET_LOG_* belong to the logging setup (tests/conftest).
    for name in [n for n in os.environ if n.startswith("FRESHET_")]:
        if not name.startswith("FRESHET_LOG_"):
            monkeypatch.delenv(name)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    return vertex_services
