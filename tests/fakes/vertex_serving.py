"""Pytest fixtures for tests that deploy to the Vertex fake and call its endpoints."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.fakes.vertex_fixtures import VertexServices
from tests.fakes.vertex_predict import RestFrontDoor, rest_front_door


@pytest.fixture(scope="session")
def vertex_front_door(
    vertex_services: VertexServices, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[RestFrontDoor]:
    """The REST host of Vertex (for raw_predict), once per session."""
    trusted = Path(os.environ["GRPC_DEFAULT_SSL_ROOTS_FILE_PATH"]).read_bytes()
    directory = tmp_path_factory.mktemp("vertex-rest")
    with rest_front_door(vertex_services.vertex.endpoints, trusted, directory) as door:
        yield door


@pytest.fixture
def vertex_serving(
    vertex: VertexServices,
    vertex_front_door: RestFrontDoor,
    monkeypatch: pytest.MonkeyPatch,
) -> Iterator[VertexServices]:
    """The clean fake with the SDK initialised for it and raw_predict routed to it; every
    endpoint server still running at the end is stopped."""
    from freshet.config import load_settings
    from freshet.gcp.session import open_session

    for name, value in vertex_front_door.environment().items():
        monkeypatch.setenv(name, value)
    open_session(load_settings())
    yield vertex
    vertex.vertex.endpoints.reset()
