"""Fixtures of the Vertex tests: the fakes start once per session (see tests/fakes)."""

from tests.fakes.kfp_fixtures import kfp_env, kfp_fake, kfp_templates  # noqa: F401  (fixtures)
from tests.fakes.vertex_fixtures import (  # noqa: F401  (fixtures)
    pipeline_bucket,
    vertex,
    vertex_services,
)
