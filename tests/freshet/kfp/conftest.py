"""Fixtures of the KFP tests (see tests/fakes/kfp_fixtures.py)."""

from tests.fakes.kfp_fixtures import kfp_env, kfp_fake, kfp_templates  # noqa: F401  (fixtures)
