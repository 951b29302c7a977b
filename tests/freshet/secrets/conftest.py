"""Fixtures of the secret tests: the Secret Manager fake shares the Vertex fakes' certificate."""

from tests.fakes.secret_manager_server import (  # noqa: F401  (fixtures)
    secret_manager,
    secret_manager_service,
)
from tests.fakes.vertex_fixtures import (  # noqa: F401  (fixtures)
    pipeline_bucket,
    vertex,
    vertex_services,
)
