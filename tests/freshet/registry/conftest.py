"""Fixtures of the registry tests: the Vertex fake and the SDK pointed at it."""

from __future__ import annotations

from typing import Any

import pytest

from tests.fakes.vertex_fixtures import (  # noqa: F401  (fixtures)
    PROJECT,
    REGION,
    VertexServices,
    pipeline_bucket,
    vertex,
    vertex_services,
)


@pytest.fixture
def vertex_sdk(vertex: VertexServices, gcs_client: Any) -> VertexServices:  # noqa: F811
    """The fake, clean, with `aiplatform.init` pointed at it (as `open_session` does)."""
    from freshet.config import load_settings
    from freshet.gcp.session import open_session

    open_session(load_settings())
    return vertex
