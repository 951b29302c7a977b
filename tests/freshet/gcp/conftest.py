"""Fixtures of the Vertex tests: the fakes start once per session (see tests/fakes)."""

from tests.fakes.vertex_fixtures import (  # noqa: F401  (fixtures)
    pipeline_bucket,
    vertex,
    vertex_services,
)
