"""Fixtures of the verify tests that deploy to the Vertex fake."""

from tests.fakes.vertex_fixtures import (  # noqa: F401  (fixtures)
    pipeline_bucket,
    vertex,
    vertex_services,
)
from tests.fakes.vertex_serving import vertex_front_door, vertex_serving  # noqa: F401
